/**
 * @module
 * Two-sample Kolmogorov-Smirnov test, two-sided, as `scipy.stats.ks_2samp(method='auto')`
 * in SciPy 1.10: the exact lattice-path distribution when both samples have at most 10 000
 * values, else `kstwo.sf(D, round(n m / (n + m)))`.
 */
import { kolmogorovSmirnovSf } from '../distributions/kolmogorov.js';
import { gcd, smirnovTwoSampleSf } from '../distributions/smirnov2.js';
import type { NumericSample } from '../sample.js';
import { defineDetector, type SampleDetector } from './common.js';

/** Largest sample size for which `ks_2samp(method='auto')` tries the exact distribution. */
export const KS_MAX_EXACT_N = 10_000;

/** The KS statistic, its p-value and which path computed the p-value. */
export interface KsResult {
  statistic: number;
  pValue: number;
  path: 'exact' | 'asymp';
}

/**
 * Kolmogorov-Smirnov on two sorted samples, SciPy's `ks_2samp(x, y)` two-sided.
 *
 * @example
 * ```ts
 * ksTwoSample(Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6)); // { statistic: 1, pValue: 0.09999999999999999, path: 'exact' }
 * ```
 */
export function ksTwoSample(x: Float64Array, y: Float64Array): KsResult {
  const n1 = x.length;
  const n2 = y.length;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const v =
      j >= n2 || (i < n1 && (x[i] as number) <= (y[j] as number))
        ? (x[i] as number)
        : (y[j] as number);
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minMag = Math.min(Math.max(-minS, 0), 1);
  let d = Math.max(minMag, maxS);
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    const p = smirnovTwoSampleSf(n1, n2, h);
    if (p !== undefined) return { statistic: d, pValue: p, path: 'exact' };
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const p = kolmogorovSmirnovSf(d, roundHalfEven(en));
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), path: 'asymp' };
}

/** `ks`: two-sample Kolmogorov-Smirnov D with SciPy's p-value; drift when p < 0.05. */
export const ks: SampleDetector = defineDetector({
  name: 'ks',
  supports: 'numerical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  compute(reference, current) {
    const r = ksTwoSample((reference as NumericSample).sorted, (current as NumericSample).sorted);
    return { statistic: r.statistic, pValue: r.pValue };
  },
});

/** `numpy.round`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * @module
 * The two-sample Cramér-von Mises test (`scipy.stats.cramervonmises_2samp`, SciPy 1.10):
 * Anderson's T statistic with midranks, the exact null distribution when both samples have at
 * most 20 values (Xiao, Gordon & Yakovlev, J. Stat. Softw. 17(8), 2006), else the normalised
 * statistic against the limiting distribution (Csörgő & Faraway, JRSS B 58(1), 1996).
 */
import { ValidationError } from '../../core/errors.js';
import { besselK } from '../distributions/bessel.js';
import { logGamma } from '../distributions/gamma.js';
import { gcd } from '../distributions/smirnov2.js';
import { pairwiseSum } from '../distributions/summation.js';
import type { NumericSample } from '../sample.js';
import { defineDetector, type SampleDetector } from './common.js';

/**
 * CDF of the limiting one-sample Cramér-von Mises statistic (SciPy `_cdf_cvm_inf`): the
 * Bessel-function series of Csörgő & Faraway eq. 1.3, summed until a term is below 1e-7.
 *
 * @example
 * ```ts
 * cramerVonMisesLimitCdf(0.461); // 0.9498928727982415
 * ```
 */
export function cramerVonMisesLimitCdf(x: number): number {
  let total = 0;
  for (let k = 0; ; k++) {
    const u = Math.exp(logGamma(k + 0.5) - logGamma(k + 1)) / (PI_POW_1_5 * Math.sqrt(x));
    const y = 4 * k + 1;
    const q = (y * y) / (16 * x);
    const b = besselK(0.25, q);
    const z = u * Math.sqrt(y) * Math.exp(-q) * b;
    total += z;
    if (!(Math.abs(z) >= 1e-7)) return total;
  }
}

/**
 * Two-sample Cramér-von Mises on sorted samples, as `scipy.stats.cramervonmises_2samp(x, y)`;
 * a single value overall gives statistic 0 and p-value 1.
 *
 * @example
 * ```ts
 * cramerVonMises2(Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6)); // { statistic: 0.5277777777777778, pValue: 0.1 }
 * ```
 */
export function cramerVonMises2(
  x: Float64Array,
  y: Float64Array,
): { statistic: number; pValue: number } {
  const nx = x.length;
  const ny = y.length;
  if (nx < 2 || ny < 2) {
    throw new ValidationError(
      `[keel] cannot run the cramervonmises drift test: each sample needs at least two values (got ${nx} and ${ny}); ` +
        'use ks or wasserstein for tiny samples',
    );
  }
  // One value overall: identical empirical CDFs (SciPy's midrank formula is not 0 here).
  if (x[0] === x[nx - 1] && y[0] === y[ny - 1] && x[0] === y[0]) return { statistic: 0, pValue: 1 };
  const [rx, ry] = midranks(x, y);
  const sx = new Float64Array(nx);
  for (let i = 0; i < nx; i++) sx[i] = ((rx[i] as number) - (i + 1)) ** 2;
  const sy = new Float64Array(ny);
  for (let i = 0; i < ny; i++) sy[i] = ((ry[i] as number) - (i + 1)) ** 2;
  let u = nx * pairwiseSum(sx);
  u += ny * pairwiseSum(sy);
  const k = nx * ny;
  const N = nx + ny;
  const t = u / (k * N) - (4 * k - 1) / (6 * N);
  if (Math.max(nx, ny) <= 20) return { statistic: t, pValue: exactPValue(u, nx, ny) };
  const et = (1 + 1 / N) / 6;
  let vt = (N + 1) * (4 * k * N - 3 * (nx ** 2 + ny ** 2) - 2 * k);
  vt = vt / (45 * N ** 2 * 4 * k);
  const tn = 1 / 6 + (t - et) / Math.sqrt(45 * vt);
  const p = tn < 0.003 ? 1 : Math.max(0, 1 - cramerVonMisesLimitCdf(tn));
  return { statistic: t, pValue: p };
}

/** `cramervonmises`: two-sample Cramér-von Mises T; drift when p < 0.05. */
export const cramervonmises: SampleDetector = defineDetector({
  name: 'cramervonmises',
  supports: 'numerical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  compute(reference, current) {
    return cramerVonMises2((reference as NumericSample).sorted, (current as NumericSample).sorted);
  },
});

/** pi^1.5 correctly rounded, as glibc's pow gives it (V8's `Math.PI ** 1.5` is one ulp low). */
const PI_POW_1_5 = 5.568327996831708;

/** Midranks of each sorted sample within the pooled sample. */
function midranks(x: Float64Array, y: Float64Array): [Float64Array, Float64Array] {
  const rx = new Float64Array(x.length);
  const ry = new Float64Array(y.length);
  let i = 0;
  let j = 0;
  let before = 0;
  while (i < x.length || j < y.length) {
    const v =
      j >= y.length || (i < x.length && (x[i] as number) <= (y[j] as number))
        ? (x[i] as number)
        : (y[j] as number);
    const i0 = i;
    const j0 = j;
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    const t = i - i0 + (j - j0);
    const rank = before + (t + 1) / 2;
    rx.fill(rank, i0, i);
    ry.fill(rank, j0, j);
    before += t;
  }
  return [rx, ry];
}

/**
 * SciPy `_pval_cvm_2samp_exact`: the frequency table of Anderson's U built column by column
 * (Xiao et al., Algorithm 1), then P(U >= u).
 */
function exactPValue(s: number, m: number, n: number): number {
  const l = (m / gcd(m, n)) * n;
  const a = l / m;
  const b = l / n;
  const mn = m * n;
  const zeta = Math.floor((l ** 2 * (m + n) * (6 * s - mn * (4 * mn - 1))) / (6 * mn ** 2));
  let gs: Map<number, number>[] = [new Map([[0, 1]])];
  for (let v = 0; v < m; v++) gs.push(new Map());
  for (let u = 0; u <= n; u++) {
    const next: Map<number, number>[] = [];
    let tmp = new Map<number, number>();
    for (let v = 0; v < gs.length; v++) {
      const g = gs[v] as Map<number, number>;
      const merged = new Map(tmp);
      for (const [value, freq] of g) merged.set(value, (merged.get(value) ?? 0) + freq);
      const shift = (a * v - b * u) ** 2;
      tmp = new Map();
      for (const [value, freq] of merged) tmp.set(value + shift, freq);
      next.push(tmp);
    }
    gs = next;
  }
  let count = 0;
  for (const [value, freq] of gs[m] as Map<number, number>) if (value >= zeta) count += freq;
  return count / binomial(m + n, m);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

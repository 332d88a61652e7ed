/**
 * @module
 * Distances between the empirical CDFs of two samples, as SciPy's `_cdf_distance`
 * (`scipy.stats.wasserstein_distance`, `scipy.stats.energy_distance`): the integral of
 * |F - G|^p over the pooled sorted values, summed in NumPy's order. Samples with values beyond
 * about 1e144 (or all below 1e-120) are rescaled by a power of two first, so that gaps such as
 * 1e308 - -1e308 and squares such as 1e200^2 cannot overflow.
 */
import { ldexp, maxAbsSorted, rescaleExponent, scaleValues } from '../distributions/scaling.js';
import { pairwiseSum } from '../distributions/summation.js';
import type { NumericSample } from '../sample.js';
import { defineDetector, type SampleDetector } from './common.js';

/**
 * SciPy's `_cdf_distance(p, x, y)` for sorted samples without weights, p = 1 or 2.
 *
 * @example
 * ```ts
 * cdfDistance(1, Float64Array.of(0, 1), Float64Array.of(1, 2)); // 1 (the Wasserstein distance)
 * ```
 */
export function cdfDistance(p: 1 | 2, x: Float64Array, y: Float64Array): number {
  const n1 = x.length;
  const n2 = y.length;
  const total = n1 + n2;
  const terms = new Float64Array(total - 1);
  let i = 0;
  let j = 0;
  let k = 0;
  // Walk the pooled sorted values; within a run of equal values the deltas are 0, at its
  // end the CDFs count every value <= the run's value (searchsorted 'right').
  while (k < total - 1) {
    const v =
      j >= n2 || (i < n1 && (x[i] as number) <= (y[j] as number))
        ? (x[i] as number)
        : (y[j] as number);
    let run = 0;
    while (i < n1 && x[i] === v) {
      i++;
      run++;
    }
    while (j < n2 && y[j] === v) {
      j++;
      run++;
    }
    const diff = i / n1 - j / n2;
    const weight = p === 1 ? Math.abs(diff) : diff * diff;
    // Positions k .. k+run-2 have delta 0; the last one has delta next - v (if any).
    for (let r = 0; r < run - 1 && k < total - 1; r++) terms[k++] = weight * 0;
    if (k < total - 1) {
      const next =
        j >= n2 || (i < n1 && (x[i] as number) <= (y[j] as number))
          ? (x[i] as number)
          : (y[j] as number);
      terms[k++] = weight * (next - v);
    }
  }
  const s = pairwiseSum(terms);
  return p === 1 ? s : Math.sqrt(s);
}

/** Population standard deviation with NumPy's summation (`numpy.std(x)`). */
export function populationStd(sorted: Float64Array): number {
  const n = sorted.length;
  const mu = pairwiseSum(sorted) / n;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = (sorted[i] as number) - mu;
    sq[i] = d * d;
  }
  return Math.sqrt(pairwiseSum(sq) / n);
}

/**
 * `wasserstein`: `wasserstein_distance(ref, cur) / max(std(ref), 0.001)` (Evidently's
 * normed Wasserstein); drift when >= 0.1.
 */
export const wasserstein: SampleDetector = defineDetector({
  name: 'wasserstein',
  supports: 'numerical',
  kind: 'distance',
  defaultThreshold: 0.1,
  compute(reference, current) {
    const x = (reference as NumericSample).sorted;
    const y = (current as NumericSample).sorted;
    const k = rescaleExponent(Math.max(maxAbsSorted(x), maxAbsSorted(y)));
    if (k === 0) return { statistic: cdfDistance(1, x, y) / Math.max(populationStd(x), 0.001) };
    // Extreme values: the distance and the standard deviation scale with the values, their
    // ratio does not; only the 0.001 floor needs the true scale.
    const xs = scaleValues(x, k);
    const distance = cdfDistance(1, xs, scaleValues(y, k));
    const std = populationStd(xs);
    const statistic = ldexp(std, -k) > 0.001 ? distance / std : ldexp(distance, -k) / 0.001;
    return { statistic };
  },
});

/** `energy`: `scipy.stats.energy_distance(ref, cur)` = sqrt(2) * L2 distance of the CDFs; drift when >= 0.1. */
export const energy: SampleDetector = defineDetector({
  name: 'energy',
  supports: 'numerical',
  kind: 'distance',
  defaultThreshold: 0.1,
  compute(reference, current) {
    const x = (reference as NumericSample).sorted;
    const y = (current as NumericSample).sorted;
    const k = rescaleExponent(Math.max(maxAbsSorted(x), maxAbsSorted(y)));
    if (k === 0) return { statistic: Math.SQRT2 * cdfDistance(2, x, y) };
    // The squared CDF distance scales with the values (k is even, so its root scales by 2^(k/2)).
    const distance = cdfDistance(2, scaleValues(x, k), scaleValues(y, k));
    return { statistic: Math.SQRT2 * ldexp(distance, -k / 2) };
  },
});

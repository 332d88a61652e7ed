/**
 * @module
 * Welch's two-sample t-test (`scipy.stats.ttest_ind(ref, cur, equal_var=False)`), two-sided.
 */
import { ValidationError } from '../../core/errors.js';
import { studentTSf } from '../distributions/beta.js';
import { normalizingExponent, scaleValues } from '../distributions/scaling.js';
import { pairwiseSum } from '../distributions/summation.js';
import type { NumericSample } from '../sample.js';
import { defineDetector, type SampleDetector } from './common.js';

/**
 * Welch's t statistic and two-sided p-value, as SciPy 1.10: df from Welch-Satterthwaite
 * (1 when undefined), p = 2 stdtr(df, -|t|). Zero variance in both samples gives t = 0 and
 * p = 1 for equal means, t = +/-Infinity and p = 0 otherwise.
 *
 * @example
 * ```ts
 * welchTTest(Float64Array.of(1, 2, 3, 4), Float64Array.of(2, 3, 4, 5, 6)).statistic; // -1.5666989036012806
 * ```
 */
export function welchTTest(
  x: Float64Array,
  y: Float64Array,
): { statistic: number; pValue: number } {
  // t and df are scale-invariant, and df squares variances (fourth powers of the values), which
  // overflow from about 1e77 and underflow for values below about 1e-50: beyond 1e30 or below
  // 1e-30, the values are rescaled by a power of two into [1, 4), which changes no bit of the
  // result where nothing overflowed or underflowed.
  const m = Math.max(maxAbs(x), maxAbs(y));
  const k = m >= 2 ** -100 && m <= 2 ** 100 ? 0 : normalizingExponent(m);
  const xs = scaleValues(x, k);
  const ys = scaleValues(y, k);
  const n1 = xs.length;
  const n2 = ys.length;
  const m1 = pairwiseSum(xs) / n1;
  const m2 = pairwiseSum(ys) / n2;
  const v1 = sampleVariance(xs, m1);
  const v2 = sampleVariance(ys, m2);
  return welchFromMoments(n1, m1, v1, n2, m2, v2);
}

/**
 * Welch's t statistic and two-sided p-value from each sample's size, mean and unbiased variance
 * (`scipy.stats.ttest_ind(..., equal_var=False)`); what a profile without raw values can test.
 */
export function welchFromMoments(
  n1: number,
  m1: number,
  v1: number,
  n2: number,
  m2: number,
  v2: number,
): { statistic: number; pValue: number } {
  const vn1 = v1 / n1;
  const vn2 = v2 / n2;
  let df = (vn1 + vn2) ** 2 / (vn1 ** 2 / (n1 - 1) + vn2 ** 2 / (n2 - 1));
  if (Number.isNaN(df)) df = 1;
  const denom = Math.sqrt(vn1 + vn2);
  const d = m1 - m2;
  if (!(denom > 0)) {
    // Constant samples (or single values): no spread to compare against.
    if (d === 0) return { statistic: 0, pValue: 1 };
    return { statistic: d > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY, pValue: 0 };
  }
  const t = d / denom;
  const p = studentTSf(Math.abs(t), df) * 2;
  return { statistic: t, pValue: Math.min(Math.max(p, 0), 1) };
}

/** `ttest`: Welch's t-test; drift when p < 0.05. */
export const ttest: SampleDetector = defineDetector({
  name: 'ttest',
  supports: 'numerical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  infiniteStatistic: true,
  compute(reference, current) {
    const x = (reference as NumericSample).sorted;
    const y = (current as NumericSample).sorted;
    if (x.length < 2 && y.length < 2 && x[0] !== y[0]) {
      // No spread to compare the difference with: SciPy returns NaN, not a verdict.
      throw new ValidationError(
        '[keel] cannot run the ttest drift test on one value per sample: it needs a spread; ' +
          'pass at least two values in one of the samples, or use ks',
        { details: { method: 'ttest', reference: x.length, current: y.length } },
      );
    }
    return welchTTest(x, y);
  },
});

/** Largest |value| of an array in any order. */
function maxAbs(x: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] as number));
  return m;
}

/** `numpy.var(x, ddof=1)`, and 0 for a single value. */
function sampleVariance(x: Float64Array, mean: number): number {
  const n = x.length;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - mean;
    sq[i] = d * d;
  }
  // A single value has no spread of its own; NumPy would return NaN.
  return n > 1 ? pairwiseSum(sq) / (n - 1) : 0;
}

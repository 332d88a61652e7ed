/**
 * @module
 * The Mann-Whitney U test, two-sided, with SciPy 1.10's semantics (`scipy.stats.mannwhitneyu`,
 * `method='auto'`, `use_continuity=True`): exact null distribution when one sample has at
 * most 8 values and there are no ties, else the normal approximation with tie correction.
 */
import { ValidationError } from '../../core/errors.js';
import { assertArrayLike, describeValue } from '../../core/validate.js';
import { normalSf } from '../distributions/normal.js';
import type { NumericSample } from '../sample.js';
import { defineDetector, type SampleDetector } from './common.js';

/** The statistic (U of the first sample) and the two-sided p-value. */
export interface MannWhitneyResult {
  /** U1 = R1 - n1 (n1 + 1) / 2, where R1 is the rank sum of the first sample (midranks on ties). */
  statistic: number;
  /** Two-sided p-value in [0, 1]. */
  pValue: number;
}

/**
 * Two-sided Mann-Whitney U test of `a` against `b`, as
 * `scipy.stats.mannwhitneyu(a, b, alternative='two-sided')` in SciPy 1.10.
 *
 * @throws {ValidationError} on an empty sample or a NaN value.
 *
 * @example
 * ```ts
 * mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]); // { statistic: 17, pValue: 0.1111111111111111 }
 * ```
 */
export function mannWhitneyU(a: ArrayLike<number>, b: ArrayLike<number>): MannWhitneyResult {
  return mannWhitneySorted(sortedCopy(a, 'first sample'), sortedCopy(b, 'second sample'));
}

/**
 * Mann-Whitney U on samples already sorted ascending (shared preparation in `detectDrift`).
 * @internal
 */
export function mannWhitneySorted(x: Float64Array, y: Float64Array): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  const n = n1 + n2;
  // One merge pass gives the rank sum of x (midranks), the tie term and whether ties exist.
  let i = 0;
  let j = 0;
  let r1 = 0;
  let tieTerm = 0;
  let before = 0;
  while (i < n1 || j < n2) {
    const v =
      j >= n2 || (i < n1 && (x[i] as number) <= (y[j] as number))
        ? (x[i] as number)
        : (y[j] as number);
    let tx = 0;
    while (i < n1 && x[i] === v) {
      i++;
      tx++;
    }
    let t = tx;
    while (j < n2 && y[j] === v) {
      j++;
      t++;
    }
    r1 += tx * (before + (t + 1) / 2);
    tieTerm += t * t * t - t;
    before += t;
  }
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const u = Math.max(u1, u2);
  let p: number;
  if (!(n1 > 8 && n2 > 8) && tieTerm === 0) {
    p = exactSf(u, n1, n2);
  } else {
    const mu = (n1 * n2) / 2;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    // s = 0 only when every value is the same: no evidence of any difference.
    if (!(s > 0)) return { statistic: u1, pValue: 1 };
    const z = (u - mu - 0.5) / s;
    p = normalSf(z);
  }
  p *= 2;
  return { statistic: u1, pValue: Math.min(Math.max(p, 0), 1) };
}

/**
 * P(U >= u) under the null, as SciPy's `_MWU.sf`: the CDF at m n - u. The counts f(m, n, k)
 * are the coefficients of the Gaussian binomial [m+n choose m]_q = prod (1 - q^(n+i)) / (1 - q^i)
 * (Di Bucchianico, J. Stat. Plan. Inference 79, 1999): partitions into parts <= min(m, n),
 * then the numerator factors, truncated at degree m n - u.
 */
function exactSf(u: number, m: number, n: number): number {
  const k = Math.round(m * n - u);
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const counts = new Float64Array(k + 1);
  counts[0] = 1;
  for (let part = 1; part <= small; part++) {
    for (let s = part; s <= k; s++)
      counts[s] = (counts[s] as number) + (counts[s - part] as number);
  }
  for (let i = 1; i <= small; i++) {
    const shift = large + i;
    for (let s = k; s >= shift; s--)
      counts[s] = (counts[s] as number) - (counts[s - shift] as number);
  }
  const total = binomSmall(m + n, small);
  let cdf = 0;
  for (let s = 0; s <= k; s++) cdf += (counts[s] as number) / total;
  return cdf;
}

/** `scipy.special.binom(n, k)` for integer k < 20 (its multiplication formula). */
function binomSmall(n: number, k: number): number {
  let num = 1;
  let den = 1;
  for (let i = 1; i <= k; i++) {
    num *= i + n - k;
    den *= i;
    if (Math.abs(num) > 1e50) {
      num /= den;
      den = 1;
    }
  }
  return num / den;
}

function sortedCopy(values: ArrayLike<number>, what: string): Float64Array {
  assertArrayLike(values, `${what} for mannWhitneyU`);
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') {
      throw new ValidationError(
        `[keel] invalid ${what} for mannWhitneyU: value at index ${i} is ${describeValue(values[i])}, not a number; pass numbers`,
      );
    }
  }
  const out = Float64Array.from(values as ArrayLike<number>);
  if (out.length === 0) {
    throw new ValidationError(
      `[keel] invalid ${what} for mannWhitneyU: it is empty; pass at least one value`,
    );
  }
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i])) {
      throw new ValidationError(
        `[keel] invalid ${what} for mannWhitneyU: value at index ${i} is NaN; remove missing values first`,
      );
    }
  }
  return out.sort();
}

/** `mannwhitney`: Mann-Whitney U of the reference, two-sided; drift when p < 0.05. */
export const mannwhitney: SampleDetector = defineDetector({
  name: 'mannwhitney',
  supports: 'numerical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  compute(reference, current) {
    return mannWhitneySorted(
      (reference as NumericSample).sorted,
      (current as NumericSample).sorted,
    );
  },
});

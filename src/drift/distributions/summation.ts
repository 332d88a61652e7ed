/**
 * @module
 * Floating-point sums in NumPy's exact order (pairwise summation), so that means, variances
 * and sums of terms agree with SciPy to the last bits rather than to a few ulps.
 */

/**
 * Sums `values[start..end)` exactly as `numpy.sum` does on a contiguous float64 array:
 * plain loop below 8 values, eight interleaved accumulators up to 128, halving above
 * (numpy/core/src/umath/loops_utils.h.src, `pairwise_sum`).
 *
 * @example
 * ```ts
 * pairwiseSum(new Float64Array([0.1, 0.2, 0.3])); // 0.6000000000000001, as numpy
 * ```
 */
export function pairwiseSum(
  values: ArrayLike<number>,
  start = 0,
  end: number = values.length,
): number {
  const n = end - start;
  if (n < 8) {
    let res = 0;
    for (let i = start; i < end; i++) res += values[i] as number;
    return res;
  }
  if (n <= 128) {
    let r0 = values[start] as number;
    let r1 = values[start + 1] as number;
    let r2 = values[start + 2] as number;
    let r3 = values[start + 3] as number;
    let r4 = values[start + 4] as number;
    let r5 = values[start + 5] as number;
    let r6 = values[start + 6] as number;
    let r7 = values[start + 7] as number;
    const stop = start + (n - (n % 8));
    let i = start + 8;
    for (; i < stop; i += 8) {
      r0 += values[i] as number;
      r1 += values[i + 1] as number;
      r2 += values[i + 2] as number;
      r3 += values[i + 3] as number;
      r4 += values[i + 4] as number;
      r5 += values[i + 5] as number;
      r6 += values[i + 6] as number;
      r7 += values[i + 7] as number;
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < end; i++) res += values[i] as number;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, start, start + n2) + pairwiseSum(values, start + n2, end);
}

/** `numpy.mean`: pairwise sum divided by the count. */
export function mean(values: ArrayLike<number>): number {
  return pairwiseSum(values) / values.length;
}

/**
 * `numpy.var(values, ddof)`: mean of squared deviations from the NumPy mean, summed pairwise,
 * divided by `n - ddof`.
 */
export function variance(
  values: ArrayLike<number>,
  ddof = 0,
  center: number = mean(values),
): number {
  const n = values.length;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - center;
    sq[i] = d * d;
  }
  return pairwiseSum(sq) / (n - ddof);
}

/**
 * @module
 * Exact rescaling by powers of two, so that statistics of extreme but finite samples (values
 * near 1e308, or near 1e-308) are computed without overflow or underflow. Multiplying by 2^k
 * commutes with IEEE-754 rounding (sums, differences, products, quotients and square roots of
 * values scaled by 2^k, 4^k for square roots, are the scaled results, bit for bit) as long as
 * nothing overflows or turns subnormal, so a scale-invariant statistic computed on rescaled
 * values is the one an unbounded exponent range would give, and equals the unscaled one
 * whenever that one did not overflow.
 */

/** Largest magnitude below which sums of squares of n <= 2^53 values cannot overflow. */
const SAFE_MAX = 2 ** 480;
/** Smallest magnitude above which squares of the values' deviations cannot underflow. */
const SAFE_MIN = 2 ** -400;

/**
 * The even exponent k such that `maxAbs * 2^k` lies in [1, 4), or 0 when `maxAbs` is 0 or
 * already in the range where squares and sums of squares stay normal ([2^-400, 2^480]).
 *
 * @example
 * ```ts
 * rescaleExponent(1e308); // -1022
 * rescaleExponent(100); // 0
 * ```
 */
export function rescaleExponent(maxAbs: number): number {
  if (maxAbs >= SAFE_MIN && maxAbs <= SAFE_MAX) return 0;
  return normalizingExponent(maxAbs);
}

/**
 * The even exponent k such that `maxAbs * 2^k` lies in [1, 4) (0 when `maxAbs` is 0).
 *
 * @example
 * ```ts
 * normalizingExponent(100); // -6
 * ```
 */
export function normalizingExponent(maxAbs: number): number {
  if (maxAbs === 0) return 0;
  let k = -2 * Math.floor(Math.floor(Math.log2(maxAbs)) / 2);
  // Math.log2 may round across a power of two: settle the exponent exactly.
  while (ldexp(maxAbs, k) < 1) k += 2;
  while (ldexp(maxAbs, k) >= 4) k -= 2;
  return k;
}

/**
 * `x * 2^k` for any k a double can carry (|k| <= 2098), in at most two exact steps.
 *
 * @example
 * ```ts
 * ldexp(3, -2); // 0.75
 * ldexp(5e-324, 1074); // 1
 * ```
 */
export function ldexp(x: number, k: number): number {
  if (k >= -1022 && k <= 1023) return x * 2 ** k;
  const half = Math.trunc(k / 2);
  return x * 2 ** half * 2 ** (k - half);
}

/** A copy of `values` multiplied by 2^k (the array itself when k is 0). */
export function scaleValues(values: Float64Array, k: number): Float64Array {
  if (k === 0) return values;
  const out = new Float64Array(values.length);
  if (k >= -1022 && k <= 1023) {
    const f = 2 ** k;
    for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) * f;
  } else {
    for (let i = 0; i < values.length; i++) out[i] = ldexp(values[i] as number, k);
  }
  return out;
}

/** Largest |value| of a sorted array (its first or last element). */
export function maxAbsSorted(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  return n === 0 ? 0 : Math.max(Math.abs(sorted[0] as number), Math.abs(sorted[n - 1] as number));
}

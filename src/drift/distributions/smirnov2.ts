/**
 * @module
 * The exact null distribution of the two-sample Kolmogorov-Smirnov statistic, two-sided, as
 * `scipy.stats.ks_2samp(method='exact')` computes it in SciPy 1.10: lattice paths after
 * Hodges, "The Significance Probability of the Smirnov Two-Sample Test", Arkiv for Matematik
 * 3(43), 1958, with Viehmann's recursion for 1 - p (arXiv:2102.08037).
 */

/**
 * P(D_{m,n} >= h / lcm(m, n)), two-sided, or `undefined` when SciPy's exact computation would
 * give up (then `ks_2samp` falls back to the asymptotic path).
 * Ports `_attempt_exact_2kssamp` with `_compute_prob_outside_square` (m = n) and
 * `_compute_outer_prob_inside_method` (m != n).
 *
 * @example
 * ```ts
 * smirnovTwoSampleSf(8, 8, 5); // 0.08702408702408701 (D = 5/8)
 * ```
 */
export function smirnovTwoSampleSf(m: number, n: number, h: number): number | undefined {
  if (h === 0) return 1;
  const g = gcd(m, n);
  const prob = m === n ? probOutsideSquare(m, h) : outerProbInside(m, n, g, h);
  if (!(prob >= 0 && prob <= 1)) return undefined;
  return prob;
}

/** Greatest common divisor of two non-negative integers. */
export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/**
 * 2 (A0 (1 - A1 (1 - A2 (...)))) where Ak = binom(2n, n - (k+1) h) / binom(2n, n - k h):
 * the alternating reflection sum without cancellation (SciPy `_compute_prob_outside_square`).
 */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths from (0, 0) to (m, n) that leave the band |x/m - y/n| < h / lcm,
 * by a column recursion on 1 - p that stays in [0, 1] (SciPy `_compute_outer_prob_inside_method`).
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    minj = Math.min(minj, n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] as number;
}

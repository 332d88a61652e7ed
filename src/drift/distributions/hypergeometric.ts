/**
 * @module
 * The hypergeometric distribution and Fisher's exact test on a 2 x 2 table, two-sided, as
 * `scipy.stats.fisher_exact` (SciPy 1.10): the p-value sums the probabilities of all tables
 * no more likely than the observed one, with SciPy's relative tolerance of 1e-14.
 */
import { logGamma } from './gamma.js';

/**
 * P(X = k) for X ~ Hypergeometric(total, good, draws): `scipy.stats.hypergeom.pmf(k, total, good, draws)`.
 *
 * @example
 * ```ts
 * hypergeometricPmf(1, 10, 4, 3); // 0.5 (to 1 ulp)
 * ```
 */
export function hypergeometricPmf(k: number, total: number, good: number, draws: number): number {
  const lo = Math.max(0, draws - (total - good));
  const hi = Math.min(good, draws);
  if (k < lo || k > hi) return 0;
  return Math.exp(
    logChoose(good, k) + logChoose(total - good, draws - k) - logChoose(total, draws),
  );
}

/**
 * Two-sided Fisher's exact test of a 2 x 2 table [[a, b], [c, d]]: the sample odds ratio
 * a d / (b c) (Infinity when b c = 0) and SciPy's two-sided p-value.
 *
 * @example
 * ```ts
 * fisherExact([[8, 2], [1, 5]]); // { oddsRatio: 20, pValue: 0.034965034965034... }
 * ```
 */
export function fisherExact(
  table: readonly [readonly [number, number], readonly [number, number]],
): {
  oddsRatio: number;
  pValue: number;
} {
  const [[c00, c01], [c10, c11]] = table;
  if (c00 + c10 === 0 || c01 + c11 === 0 || c00 + c01 === 0 || c10 + c11 === 0) {
    return { oddsRatio: Number.NaN, pValue: 1 };
  }
  const oddsRatio = c10 > 0 && c01 > 0 ? (c00 * c11) / (c10 * c01) : Number.POSITIVE_INFINITY;
  const n1 = c00 + c01;
  const n2 = c10 + c11;
  const n = c00 + c10;
  const M = n1 + n2;
  const pmf = (x: number): number => hypergeometricPmf(x, M, n1, n);
  const mode = Math.trunc(((n + 1) * (n1 + 1)) / (n1 + n2 + 2));
  const pexact = pmf(c00);
  const pmode = pmf(mode);
  const epsilon = 1e-14;
  const gamma = 1 + epsilon;
  let pValue: number;
  if (Math.abs(pexact - pmode) / Math.max(pexact, pmode) <= epsilon)
    return { oddsRatio, pValue: 1 };
  if (c00 < mode) {
    const plower = sumPmf(M, n1, n, 0, c00);
    if (pmf(n) > pexact * gamma) return { oddsRatio, pValue: plower };
    const guess = binarySearch((x) => -pmf(x), -pexact * gamma, mode, n);
    pValue = plower + sumPmf(M, n1, n, guess + 1, n);
  } else {
    const pupper = sumPmf(M, n1, n, c00, n);
    if (pmf(0) > pexact * gamma) return { oddsRatio, pValue: pupper };
    const guess = binarySearch(pmf, pexact * gamma, 0, mode);
    pValue = pupper + sumPmf(M, n1, n, 0, guess);
  }
  return { oddsRatio, pValue: Math.min(pValue, 1) };
}

/** Sum of the pmf over [from, to] (support-clipped). */
function sumPmf(total: number, good: number, draws: number, from: number, to: number): number {
  const lo = Math.max(from, 0, draws - (total - good));
  const hi = Math.min(to, good, draws);
  let s = 0;
  for (let k = lo; k <= hi; k++) s += hypergeometricPmf(k, total, good, draws);
  return s;
}

/** SciPy `_binary_search_for_binom_tst`: i in [lo, hi] with a(i) <= d < a(i + 1). */
function binarySearch(a: (x: number) => number, d: number, lo0: number, hi0: number): number {
  let lo = lo0;
  let hi = hi0;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const midval = a(mid);
    if (midval < d) lo = mid + 1;
    else if (midval > d) hi = mid - 1;
    else return mid;
  }
  return a(lo) <= d ? lo : lo - 1;
}

function logChoose(n: number, k: number): number {
  if (k === 0 || k === n) return 0;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

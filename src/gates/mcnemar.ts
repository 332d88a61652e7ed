/**
 * @module
 * McNemar's test on paired binary outcomes, as statsmodels runs it: exact binomial for few
 * discordant pairs, chi-square with continuity correction otherwise.
 */
import { chi2Sf } from '../drift/distributions/gamma.js';

/** The result of {@link mcnemar}. */
export interface McNemarResult {
  /** `min(b, c)` for the exact test, the corrected chi-square otherwise. */
  statistic: number;
  pValue: number;
  method: 'exact' | 'chi2';
}

/** Below this many discordant pairs McNemar uses the exact binomial test. */
export const MCNEMAR_EXACT_BELOW = 25;

/**
 * McNemar's test on the discordant counts `b` and `c`, as statsmodels'
 * `mcnemar(table, exact=..., correction=True)`: exact (two-sided binomial, p =
 * min(1, 2 * P[Binom(b + c, 1/2) <= min(b, c)])) when b + c < 25, otherwise
 * chi-square with continuity correction ((|b - c| - 1)^2 / (b + c), one degree of freedom).
 */
export function mcnemar(b: number, c: number): McNemarResult {
  const n = b + c;
  if (n < MCNEMAR_EXACT_BELOW) {
    const k = Math.min(b, c);
    return { statistic: k, pValue: Math.min(1, 2 * binomialCdfHalf(k, n)), method: 'exact' };
  }
  const statistic = (Math.abs(b - c) - 1) ** 2 / n;
  return { statistic, pValue: chi2Sf(statistic, 1), method: 'chi2' };
}

/** P[X <= k] for X ~ Binomial(n, 1/2), summed exactly in floating point (n is small here). */
function binomialCdfHalf(k: number, n: number): number {
  let term = 0.5 ** n; // C(n, 0) / 2^n
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term = (term * (n - i + 1)) / i;
    sum += term;
  }
  return sum;
}

/**
 * @module
 * Null distributions of binned two-sample statistics. When the bins are cut at order
 * statistics of a reference sample, the counts of `m` new values from the same continuous
 * distribution follow a Dirichlet-multinomial law exactly (the bins' probabilities are
 * Dirichlet spacings): these helpers give the exact moments of a linear score statistic under
 * that law, the exact beta-binomial tails of one bin's count, and skewness-aware tail
 * probabilities (Pearson type III) for the score statistics.
 */
import { logGamma, regularizedGammaQ } from './gamma.js';
import { normalCdf, normalSf } from './normal.js';

/** Score sums of a Dirichlet-multinomial linear statistic, precomputed once per bin layout. */
export interface ScoreSums {
  /** Sum of the Dirichlet parameters. */
  total: number;
  /** The score's mean under the bin proportions a / total. */
  mean: number;
  /** Sums of a_b (g_b - mean)^k for k = 2, 3, 4. */
  g2: number;
  g3: number;
  g4: number;
}

/** Central moments of a linear statistic S = sum_b g_b w_b. */
export interface LinearMoments {
  mean: number;
  variance: number;
  /** Third central moment over variance^1.5 (0 for symmetric scores). */
  skewness: number;
  /** Fourth central moment over variance^2, minus 3. */
  excessKurtosis: number;
}

/**
 * The sums {@link linearMoments} needs, for Dirichlet parameters `a` (all > 0) and scores `g`
 * of the same length.
 *
 * @example
 * ```ts
 * scoreSums([1, 1], [0, 1]); // { total: 2, mean: 0.5, g2: 0.5, g3: 0, g4: 0.125 }
 * ```
 */
export function scoreSums(a: ArrayLike<number>, g: ArrayLike<number>): ScoreSums {
  let total = 0;
  let sum = 0;
  for (let b = 0; b < a.length; b++) {
    total += a[b]!;
    sum += a[b]! * g[b]!;
  }
  const mean = sum / total;
  let g2 = 0;
  let g3 = 0;
  let g4 = 0;
  for (let b = 0; b < a.length; b++) {
    const h = g[b]! - mean;
    const h2 = h * h;
    g2 += a[b]! * h2;
    g3 += a[b]! * h2 * h;
    g4 += a[b]! * h2 * h2;
  }
  return { total, mean, g2, g3, g4 };
}

/**
 * Exact mean, variance, skewness and excess kurtosis of S = sum_b g_b w_b when the counts w
 * of `m` draws follow Dirichlet-multinomial(m; a) (draw proportions p ~ Dirichlet(a), then m
 * draws from p). With `total` going to infinity this is the multinomial (iid) case; the
 * finite `total` adds the reference's own sampling noise, as a two-sample test must.
 *
 * @example
 * ```ts
 * linearMoments(scoreSums([1, 1], [0, 1]), 1); // mean 0.5, variance 0.25 (one fair coin)
 * ```
 */
export function linearMoments(sums: ScoreSums, m: number): LinearMoments {
  const A = sums.total;
  const { g2, g3, g4 } = sums;
  if (m <= 0 || g2 <= 0) {
    return { mean: m * sums.mean, variance: 0, skewness: 0, excessKurtosis: 0 };
  }
  // Falling factorials of m and rising factorials of A: draws t1..tk of the Polya urn that
  // coincide contribute sums over set partitions of the draws (see docs/drift.md).
  const m2 = m * (m - 1);
  const m3 = m2 * (m - 2);
  const m4 = m3 * (m - 3);
  const A1 = A;
  const A2 = A * (A + 1);
  const A3 = A2 * (A + 2);
  const A4 = A3 * (A + 3);
  const mu2 = (m * g2) / A1 + (m2 * g2) / A2;
  const mu3 = g3 * (m / A1 + (3 * m2) / A2 + (2 * m3) / A3);
  const mu4 =
    (m * g4) / A1 +
    (4 * m2 * g4) / A2 +
    (3 * m2 * (g2 * g2 + g4)) / A2 +
    (6 * m3 * (g2 * g2 + 2 * g4)) / A3 +
    (m4 * (3 * g2 * g2 + 6 * g4)) / A4;
  return {
    mean: m * sums.mean,
    variance: mu2,
    skewness: mu3 / mu2 ** 1.5,
    excessKurtosis: mu4 / (mu2 * mu2) - 3,
  };
}

/**
 * P(Z >= z) for a standardized variable Z with the given skewness, by the Pearson type III
 * (shifted gamma) law with the same mean, variance and skewness; the normal law when the
 * skewness is negligible. Exact for gamma-distributed sums, and conservative for sums of
 * bounded scores whose tails are lighter than the gamma's.
 *
 * @example
 * ```ts
 * pearson3Sf(1.6448536269514722, 0); // 0.05
 * ```
 */
export function pearson3Sf(z: number, skewness: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (Math.abs(skewness) < 1e-8) return normalSf(z);
  // Negative skew: the upper tail of Z is the lower tail of -Z, which has positive skew.
  if (skewness < 0) return pearson3Cdf(-z, -skewness);
  const shape = 4 / (skewness * skewness);
  const scale = skewness / 2;
  // Z = scale * (G - shape) with G ~ Gamma(shape, 1): mean 0, variance 1, skewness as given.
  const x = shape + z / scale;
  if (x <= 0) return 1;
  if (shape > 1e5) return wilsonHilferty(x, shape, true);
  return regularizedGammaQ(shape, x);
}

/**
 * P(Z <= z) for the same law as {@link pearson3Sf}.
 *
 * @example
 * ```ts
 * pearson3Cdf(-1.6448536269514722, 0); // 0.05
 * ```
 */
export function pearson3Cdf(z: number, skewness: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (Math.abs(skewness) < 1e-8) return normalCdf(z);
  if (skewness < 0) return pearson3Sf(-z, -skewness);
  const shape = 4 / (skewness * skewness);
  const x = shape + z / (skewness / 2);
  if (x <= 0) return 0;
  if (shape > 1e5) return wilsonHilferty(x, shape, false);
  return 1 - regularizedGammaQ(shape, x);
}

/**
 * Two-sided p-value of a standardized statistic with the given skewness and excess kurtosis:
 * 2 min(P(Z >= z), P(Z <= z)) under the Pearson type III law on the long side (the side of
 * the skew), and under the normal law on the short side, at most 1. (The gamma's short tail
 * ends at -2 / skewness; a Dirichlet-multinomial statistic's does not, and using it there
 * made p-values far too small for small references. The normal's is heavier than both.) Tails above
 * `exactBelow` (at least 1e-3) may come from Wilson-Hilferty's approximation (within a few
 * percent); smaller ones are exact. When the kurtosis
 * exceeds the gamma's own (1.5 skewness^2), the tail is widened by the Edgeworth kurtosis
 * term, so that a heavier tail never makes the p-value too small; a lighter one is left as is
 * (the p-value is then conservative).
 *
 * @example
 * ```ts
 * pearson3TwoSided(1.959963984540054, 0); // 0.05
 * ```
 */
export function pearson3TwoSided(
  z: number,
  skewness: number,
  excessKurtosis: number = 1.5 * skewness * skewness,
  exactBelow = 1e-3,
): number {
  const a = Math.abs(z);
  let tail: number;
  let normalTail = Number.NaN;
  if (Math.abs(skewness) < 1e-3 || z * skewness < 0) {
    // Below 1e-3 the gamma and the normal tails differ by less than 1% out to z = 6.
    normalTail = normalSf(a);
    tail = normalTail;
  } else {
    const shape = 4 / (skewness * skewness);
    // Wilson-Hilferty's cube root costs a fifth of the incomplete gamma and, where the tail
    // is above 1e-3, is within 3% of it (|skewness| <= 0.5; 16% at 2): it answers for
    // p-values that decide nothing; the exact incomplete gamma decides the rest.
    const approx = z >= 0 ? wilsonHilfertyTail(z, skewness) : wilsonHilfertyTail(-z, -skewness);
    tail =
      approx > Math.max(exactBelow, 1e-3) || shape > 1e5
        ? approx
        : z >= 0
          ? pearson3Sf(z, skewness)
          : pearson3Cdf(z, skewness);
  }
  const extra = excessKurtosis - 1.5 * skewness * skewness;
  let factor = 1;
  if (extra > 0 && a > Math.sqrt(3)) {
    const sf = Number.isNaN(normalTail) ? normalSf(a) : normalTail;
    if (sf > 0) {
      const millsInverse = Math.exp(-(a * a) / 2) / (SQRT_2PI * sf);
      factor = 1 + (extra / 24) * (a * a * a - 3 * a) * millsInverse;
    }
  }
  return Math.min(1, 2 * tail * factor);
}

/** P(Z >= z) of the Pearson III law by Wilson-Hilferty's cube-root normal approximation. */
function wilsonHilfertyTail(z: number, skewness: number): number {
  if (skewness > 0) {
    const shape = 4 / (skewness * skewness);
    const x = shape + z / (skewness / 2);
    return x <= 0 ? 1 : wilsonHilferty(x, shape, true);
  }
  const shape = 4 / (skewness * skewness);
  const x = shape - z / (-skewness / 2);
  return x <= 0 ? 0 : wilsonHilferty(x, shape, false);
}

/**
 * log P(W = k) for W ~ beta-binomial(m; alpha, beta): the count of one bin among m draws
 * when that bin's probability is Beta(alpha, beta).
 *
 * @example
 * ```ts
 * Math.exp(betaBinomialLogPmf(1, 2, 1, 1)); // 1/3 (uniform on 0, 1, 2)
 * ```
 */
export function betaBinomialLogPmf(k: number, m: number, alpha: number, beta: number): number {
  if (k < 0 || k > m) return Number.NEGATIVE_INFINITY;
  return (
    logGamma(m + 1) -
    logGamma(k + 1) -
    logGamma(m - k + 1) +
    logGamma(k + alpha) +
    logGamma(m - k + beta) -
    logGamma(m + alpha + beta) +
    logGamma(alpha + beta) -
    logGamma(alpha) -
    logGamma(beta)
  );
}

/**
 * P(W >= k) for W ~ beta-binomial(m; alpha, beta), summed exactly from k upwards (the terms
 * fall geometrically past the mode). Accurate relative to its value in the upper tail.
 *
 * @example
 * ```ts
 * betaBinomialSf(2, 2, 1, 1); // 1/3
 * ```
 */
export function betaBinomialSf(k: number, m: number, alpha: number, beta: number): number {
  if (k <= 0) return 1;
  if (k > m) return 0;
  const mode = (m * alpha) / (alpha + beta);
  if (k < mode) return 1 - betaBinomialCdf(k - 1, m, alpha, beta);
  let term = Math.exp(betaBinomialLogPmf(k, m, alpha, beta));
  let sum = term;
  for (let j = k; j < m && term > sum * 1e-17; j++) {
    term *= ((m - j) / (j + 1)) * ((j + alpha) / (m - j - 1 + beta));
    sum += term;
  }
  return Math.min(1, sum);
}

/**
 * P(W <= k) for W ~ beta-binomial(m; alpha, beta), summed exactly from k downwards.
 * Accurate relative to its value in the lower tail.
 *
 * @example
 * ```ts
 * betaBinomialCdf(0, 2, 1, 1); // 1/3
 * ```
 */
export function betaBinomialCdf(k: number, m: number, alpha: number, beta: number): number {
  if (k < 0) return 0;
  if (k >= m) return 1;
  const mode = (m * alpha) / (alpha + beta);
  if (k > mode) return 1 - betaBinomialSf(k + 1, m, alpha, beta);
  let term = Math.exp(betaBinomialLogPmf(k, m, alpha, beta));
  let sum = term;
  for (let j = k; j > 0 && term > sum * 1e-17; j--) {
    // P(j - 1) / P(j)
    term *= (j / (m - j + 1)) * ((m - j + beta) / (j - 1 + alpha));
    sum += term;
  }
  return Math.min(1, sum);
}

/**
 * Two-sided beta-binomial p-value of a count k: 2 min(P(W >= k), P(W <= k)), at most 1.
 *
 * @example
 * ```ts
 * betaBinomialTwoSided(0, 10, 50, 50); // about 0.002
 * ```
 */
export function betaBinomialTwoSided(k: number, m: number, alpha: number, beta: number): number {
  return Math.min(
    1,
    2 * Math.min(betaBinomialSf(k, m, alpha, beta), betaBinomialCdf(k, m, alpha, beta)),
  );
}

const SQRT_2PI = 2.5066282746310002;

function wilsonHilferty(x: number, shape: number, upper: boolean): number {
  const c = 1 / (9 * shape);
  const z = (Math.cbrt(x / shape) - (1 - c)) / Math.sqrt(c);
  return upper ? normalSf(z) : normalCdf(z);
}

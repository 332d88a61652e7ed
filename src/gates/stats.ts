/**
 * @module
 * The statistics behind gate rules, as pure functions: NumPy's linear percentile and the
 * seeded paired bootstrap of a mean difference.
 */
import { createRandom, type Seed } from '../core/random.js';
import { mean } from '../drift/distributions/summation.js';

/**
 * The `p`-th percentile (0 <= p <= 100) of ascending `sorted` values with linear
 * interpolation between closest ranks, exactly as `numpy.percentile(method='linear')`:
 * index h = (p / 100)(n - 1), then NumPy's two-sided lerp between the neighbours.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (p / 100) * (n - 1);
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  if (lo >= n - 1) return sorted[n - 1]!;
  const t = h - lo;
  if (t === 0) return a;
  const b = sorted[lo + 1]!;
  const diff = b - a;
  // NumPy's _lerp: interpolate from the nearer end so the result stays within [a, b].
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Ascending copy of `values` as a Float64Array. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values);
  out.sort();
  return out;
}

/** The result of {@link pairedBootstrap}. */
export interface BootstrapResult {
  /** Mean of `candidate[i] - champion[i]`. */
  meanDifference: number;
  /** Percentile confidence interval of the mean difference, at level 1 - alpha. */
  lower: number;
  upper: number;
}

/**
 * Paired percentile bootstrap of the mean difference `candidate - champion`: `resamples`
 * times, draw n example indices with replacement (the same indices for both models), take
 * the mean difference; the CI bounds are the alpha/2 and 1 - alpha/2 percentiles of those
 * means (linear interpolation). Deterministic for a given seed.
 */
export function pairedBootstrap(
  candidate: ArrayLike<number>,
  champion: ArrayLike<number>,
  opts: { resamples: number; alpha: number; seed: Seed },
): BootstrapResult {
  const n = candidate.length;
  const diffs = new Float64Array(n);
  for (let i = 0; i < n; i++) diffs[i] = candidate[i]! - champion[i]!;
  const rng = createRandom(opts.seed);
  const means = new Float64Array(opts.resamples);
  for (let r = 0; r < opts.resamples; r++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += diffs[rng.int(n)]!;
    means[r] = sum / n;
  }
  means.sort();
  return {
    meanDifference: mean(diffs),
    lower: percentileSorted(means, (opts.alpha / 2) * 100),
    upper: percentileSorted(means, (1 - opts.alpha / 2) * 100),
  };
}

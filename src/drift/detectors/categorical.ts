/**
 * @module
 * Categorical tests on the 2 x K table [reference counts; current counts] over the union of
 * categories: `chisquare` (`scipy.stats.chi2_contingency`, Yates' correction when dof = 1),
 * the two-proportion `z` test and `fisher` (`scipy.stats.fisher_exact`), both for exactly two
 * categories.
 */
import { ValidationError } from '../../core/errors.js';
import { categoryBins } from '../binning.js';
import { chi2Sf } from '../distributions/gamma.js';
import { fisherExact } from '../distributions/hypergeometric.js';
import { normalCdf } from '../distributions/normal.js';
import { pairwiseSum } from '../distributions/summation.js';
import type { CategoricalSample } from '../sample.js';
import { assertFewLevels, defineDetector, type SampleDetector } from './common.js';

/**
 * Pearson's chi-square test of homogeneity on a 2 x K table, as `chi2_contingency(table)`:
 * expected = row sum x column sum / total, Yates' correction when dof = 1, p from chi2(dof).
 * One category (dof = 0) gives statistic 0 and p-value 1.
 *
 * @example
 * ```ts
 * chiSquareHomogeneity([10, 20, 30], [15, 15, 30]); // { statistic: 1.7142857142857144, pValue: 0.42437284567695, dof: 2 }
 * ```
 */
export function chiSquareHomogeneity(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
): { statistic: number; pValue: number; dof: number } {
  const K = reference.length;
  const dof = K - 1;
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  const observed = new Float64Array(2 * K);
  for (let c = 0; c < K; c++) {
    observed[c] = reference[c] as number;
    observed[K + c] = current[c] as number;
  }
  const rowSums = [pairwiseSum(observed, 0, K), pairwiseSum(observed, K, 2 * K)];
  const colSums = new Float64Array(K);
  for (let c = 0; c < K; c++) colSums[c] = (observed[c] as number) + (observed[K + c] as number);
  const total = pairwiseSum(observed);
  const terms = new Float64Array(2 * K);
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < K; c++) {
      const expected = ((rowSums[r] as number) * (colSums[c] as number)) / total;
      let obs = observed[r * K + c] as number;
      if (dof === 1) {
        const diff = expected - obs;
        obs = obs + Math.min(0.5, Math.abs(diff)) * Math.sign(diff);
      }
      terms[r * K + c] = (obs - expected) ** 2 / expected;
    }
  }
  const statistic = pairwiseSum(terms);
  return { statistic, pValue: chi2Sf(statistic, dof), dof };
}

/** `chisquare`: chi-square test of homogeneity over the union of categories; drift when p < 0.05. */
export const chisquare: SampleDetector = defineDetector({
  name: 'chisquare',
  supports: 'categorical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  compute(reference, current) {
    const { ref, cur } = table(
      'chisquare',
      reference as CategoricalSample,
      current as CategoricalSample,
    );
    const r = chiSquareHomogeneity(ref, cur);
    return { statistic: r.statistic, pValue: r.pValue };
  },
});

/**
 * `z`: two-proportion z-test on the share of the second category (categories sorted as
 * strings), p = 2 (1 - Phi(|z|)); drift when p < 0.05. Exactly two categories.
 */
export const z: SampleDetector = defineDetector({
  name: 'z',
  supports: 'categorical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  compute(reference, current) {
    const t = twoByTwo('z', reference as CategoricalSample, current as CategoricalSample);
    if (!t) return { statistic: 0, pValue: 1 };
    const { ref, cur } = t;
    const n1 = (ref[0] as number) + (ref[1] as number);
    const n2 = (cur[0] as number) + (cur[1] as number);
    const p1 = (ref[1] as number) / n1;
    const p2 = (cur[1] as number) / n2;
    const P = (p1 * n1 + p2 * n2) / (n1 + n2);
    const statistic = (p1 - p2) / Math.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2));
    return { statistic, pValue: 2 * (1 - normalCdf(Math.abs(statistic))) };
  },
});

/**
 * `fisher`: Fisher's exact test on the 2 x 2 table [reference; current], two-sided; the
 * statistic is the odds ratio (Infinity when an off-diagonal cell is 0); drift when p < 0.05.
 */
export const fisher: SampleDetector = defineDetector({
  name: 'fisher',
  supports: 'categorical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  infiniteStatistic: true,
  compute(reference, current) {
    const t = twoByTwo('fisher', reference as CategoricalSample, current as CategoricalSample);
    if (!t) return { statistic: 0, pValue: 1 };
    const { ref, cur } = t;
    const r = fisherExact([
      [ref[0] as number, ref[1] as number],
      [cur[0] as number, cur[1] as number],
    ]);
    return { statistic: r.oddsRatio, pValue: r.pValue };
  },
});

function table(
  name: string,
  reference: CategoricalSample,
  current: CategoricalSample,
): { ref: Float64Array; cur: Float64Array; labels: string[] } {
  const bins = categoryBins(reference.counts, current.counts);
  assertFewLevels(name, bins.labels.length, reference.size + current.size);
  return { ref: bins.reference, cur: bins.current, labels: bins.labels };
}

/** The 2 x 2 table, undefined when there is a single category overall (nothing to compare). */
function twoByTwo(
  name: string,
  reference: CategoricalSample,
  current: CategoricalSample,
): { ref: Float64Array; cur: Float64Array } | undefined {
  const t = table(name, reference, current);
  if (t.labels.length === 1) return undefined;
  if (t.labels.length !== 2) {
    throw new ValidationError(
      `[keel] cannot run the ${name} drift test: it needs exactly two categories, the column has ` +
        `${t.labels.length}; use chisquare for more categories`,
      { details: { method: name, categories: t.labels.length } },
    );
  }
  return t;
}

/**
 * @module
 * The `significance` rule: is the candidate's difference from the champion real? A seeded
 * paired bootstrap of the mean difference, McNemar's test on paired 0/1 correctness, or a
 * Kayenta-style Mann-Whitney U test (by default: latencies not significantly worse).
 */
import { mannWhitneyU } from '../../drift/detectors/mannwhitney.js';
import type { Evidence, ModelEvidence } from '../evidence.js';
import { mcnemar } from '../mcnemar.js';
import {
  assertAligned,
  assertBinary,
  firstNonFinite,
  fmt,
  missing,
  outcome,
  type RuleOutcome,
} from '../rule.js';
import type { SignificanceRule } from '../schema.js';
import { pairedBootstrap, percentileSorted, sortedCopy } from '../stats.js';

/** Defaults of a significance rule. */
export const SIGNIFICANCE_DEFAULTS: {
  readonly alpha: number;
  readonly resamples: number;
  readonly seed: string;
} = { alpha: 0.05, resamples: 2000, seed: 'keel' };

/**
 * Judges a {@link SignificanceRule}. Values come from `samples[metric]` of both models
 * (`latenciesMs` when `metric` is `latenciesMs`). "Better" follows `higherIsBetter`.
 *
 * - `bootstrap` (paired, equal lengths): CI = [alpha/2, 1 - alpha/2] percentiles of
 *   `resamples` bootstrap means of `candidate[i] - champion[i]`. `better`: the CI lies
 *   strictly on the better side of 0; `not_worse`: it does not lie strictly on the worse side.
 * - `mcnemar` (paired 0/1, 1 = correct when higher is better): b = pairs only the
 *   candidate got right, c = pairs only the champion got right; p from {@link mcnemar}.
 *   `better`: p < alpha and b > c; `not_worse`: not (p < alpha and c > b).
 * - `mann_whitney` (unpaired): two-sided p and U of the candidate; the candidate is larger
 *   when U > n1 n2 / 2. `better`: p < alpha in the better direction; `not_worse` (default):
 *   not (p < alpha in the worse direction).
 */
export function evaluateSignificanceRule(rule: SignificanceRule, evidence: Evidence): RuleOutcome {
  const latency = rule.metric === 'latenciesMs';
  const higherIsBetter = rule.higherIsBetter ?? !latency;
  const require = rule.require ?? (rule.test === 'mann_whitney' ? 'not_worse' : 'better');
  const alpha = rule.alpha ?? SIGNIFICANCE_DEFAULTS.alpha;
  const resamples = rule.resamples ?? SIGNIFICANCE_DEFAULTS.resamples;
  const seed = rule.seed ?? SIGNIFICANCE_DEFAULTS.seed;
  const expected: Record<string, unknown> = { test: rule.test, alpha, higherIsBetter, require };
  if (rule.test === 'bootstrap') Object.assign(expected, { resamples, seed });

  const field = latency ? ['latenciesMs'] : ['samples', rule.metric];
  const name = field.join('.');
  const read = (m: ModelEvidence): ArrayLike<number> | undefined =>
    latency ? m.latenciesMs : m.samples?.[rule.metric];
  if (evidence.champion === undefined) {
    return missing(expected, `no champion evidence (evidence.champion) for the ${rule.test} test`);
  }
  const candidate = read(evidence.candidate);
  const champion = read(evidence.champion);
  if (candidate === undefined) return missing(expected, `candidate.${name} is missing`);
  if (champion === undefined) return missing(expected, `champion.${name} is missing`);
  const paired = rule.test !== 'mann_whitney';
  if (paired) {
    assertAligned([
      { path: ['candidate', ...field], values: candidate },
      { path: ['champion', ...field], values: champion },
    ]);
  }
  if (rule.test === 'mcnemar') {
    assertBinary(['candidate', ...field], candidate);
    assertBinary(['champion', ...field], champion);
  }
  if (candidate.length === 0) return missing(expected, `candidate.${name} is empty`);
  if (champion.length === 0) return missing(expected, `champion.${name} is empty`);
  for (const [who, values] of [
    ['candidate', candidate],
    ['champion', champion],
  ] as const) {
    const bad = firstNonFinite(values);
    if (bad >= 0) return missing(expected, `${who}.${name}[${bad}] is ${values[bad]}`);
  }

  const level = `${fmt((1 - alpha) * 100)}%`;
  const verdict = (better: boolean, worse: boolean): { ok: boolean; words: string } => ({
    ok: require === 'better' ? better : !worse,
    words: better
      ? 'significantly better'
      : worse
        ? 'significantly worse'
        : 'no significant difference',
  });

  if (rule.test === 'bootstrap') {
    const r = pairedBootstrap(candidate, champion, { resamples, alpha, seed });
    const better = higherIsBetter ? r.lower > 0 : r.upper < 0;
    const worse = higherIsBetter ? r.upper < 0 : r.lower > 0;
    const { ok, words } = verdict(better, worse);
    return outcome(
      ok,
      { meanDifference: r.meanDifference, lower: r.lower, upper: r.upper, n: candidate.length },
      expected,
      `${rule.metric}: mean difference (candidate - champion) ${fmt(r.meanDifference)}, ${level} CI [${fmt(r.lower)}, ${fmt(r.upper)}]: ${words}`,
    );
  }

  if (rule.test === 'mcnemar') {
    const good = higherIsBetter ? 1 : 0;
    let candidateBetter = 0;
    let championBetter = 0;
    for (let i = 0; i < candidate.length; i++) {
      if (candidate[i] === champion[i]) continue;
      if (candidate[i] === good) candidateBetter++;
      else championBetter++;
    }
    const r = mcnemar(candidateBetter, championBetter);
    const significant = r.pValue < alpha;
    const { ok, words } = verdict(
      significant && candidateBetter > championBetter,
      significant && championBetter > candidateBetter,
    );
    return outcome(
      ok,
      {
        candidateBetter,
        championBetter,
        statistic: r.statistic,
        pValue: r.pValue,
        method: r.method,
        n: candidate.length,
      },
      expected,
      `${rule.metric}: candidate alone right on ${candidateBetter}, champion alone on ${championBetter}, McNemar (${r.method}) p = ${fmt(r.pValue)}: ${words}`,
    );
  }

  const r = mannWhitneyU(candidate, champion);
  const center = (candidate.length * champion.length) / 2;
  const larger = r.statistic > center;
  const smaller = r.statistic < center;
  const significant = r.pValue < alpha;
  const { ok, words } = verdict(
    significant && (higherIsBetter ? larger : smaller),
    significant && (higherIsBetter ? smaller : larger),
  );
  const candidateMedian = percentileSorted(sortedCopy(candidate), 50);
  const championMedian = percentileSorted(sortedCopy(champion), 50);
  return outcome(
    ok,
    {
      statistic: r.statistic,
      pValue: r.pValue,
      candidateMedian,
      championMedian,
      n: { candidate: candidate.length, champion: champion.length },
    },
    expected,
    `${rule.metric}: median ${fmt(candidateMedian)} vs champion ${fmt(championMedian)}, Mann-Whitney U = ${fmt(r.statistic)}, p = ${fmt(r.pValue)}: ${words}`,
  );
}

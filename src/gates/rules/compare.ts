/**
 * @module
 * The `compare` rule: the candidate against the champion on one metric, with MLflow's
 * MetricThreshold semantics except that relative changes are divided by |champion|.
 */
import type { Evidence } from '../evidence.js';
import { fmt, jsonNumber, missing, outcome, type RuleOutcome } from '../rule.js';
import type { CompareRule } from '../schema.js';

/** With a zero champion value, a relative improvement check requires at least this much. */
export const ZERO_BASELINE_MIN_IMPROVEMENT = 1e-10;

/**
 * Judges a {@link CompareRule}. With `change = candidate - champion` (negated when lower is
 * better, so a positive change is an improvement) and `relative = change / |champion|`:
 * `minAbsoluteChange`: change >= t; `minRelativeChange`: relative >= t (zero champion:
 * change >= 1e-10); `maxAbsoluteRegression`: change >= -t; `maxRelativeRegression`:
 * relative >= -t (zero champion: change >= 0). No threshold at all: change >= 0.
 */
export function evaluateCompareRule(rule: CompareRule, evidence: Evidence): RuleOutcome {
  const higherIsBetter = rule.higherIsBetter ?? true;
  const expected = expectedOf(rule, higherIsBetter);
  const m = rule.metric;
  if (evidence.champion === undefined) {
    return missing(expected, `no champion evidence (evidence.champion) to compare ${m} against`);
  }
  const candidate = evidence.candidate.metrics?.[m];
  const champion = evidence.champion.metrics?.[m];
  if (candidate === undefined)
    return missing(expected, `metric "${m}" is missing from candidate.metrics`);
  if (champion === undefined)
    return missing(expected, `metric "${m}" is missing from champion.metrics`);
  if (!Number.isFinite(candidate) || !Number.isFinite(champion)) {
    const which = Number.isFinite(candidate)
      ? `champion ${m} is ${champion}`
      : `candidate ${m} is ${candidate}`;
    return missing(expected, which, {
      candidate: jsonNumber(candidate),
      champion: jsonNumber(champion),
    });
  }

  const change = higherIsBetter ? candidate - champion : champion - candidate;
  const zero = champion === 0;
  const relative = zero ? null : change / Math.abs(champion);
  // Float rounding of `candidate - champion` must not fail a change that is exactly the threshold.
  const absTol = TOLERANCE * Math.max(1, Math.abs(candidate), Math.abs(champion));
  const relTol = zero ? 0 : absTol / Math.abs(champion);

  const failures: string[] = [];
  const check = (ok: boolean, text: string): void => {
    if (!ok) failures.push(text);
  };
  const rel = (): string => (relative === null ? 'undefined (champion is 0)' : fmt(relative));
  if (rule.minAbsoluteChange !== undefined) {
    check(
      change >= rule.minAbsoluteChange - absTol,
      `improvement ${fmt(change)} < ${fmt(rule.minAbsoluteChange)}`,
    );
  }
  if (rule.minRelativeChange !== undefined) {
    check(
      relative === null
        ? change >= ZERO_BASELINE_MIN_IMPROVEMENT
        : relative >= rule.minRelativeChange - relTol,
      relative === null
        ? `champion is 0 and the improvement ${fmt(change)} is below 1e-10`
        : `relative improvement ${rel()} < ${fmt(rule.minRelativeChange)}`,
    );
  }
  if (rule.maxAbsoluteRegression !== undefined) {
    check(
      change >= -rule.maxAbsoluteRegression - absTol,
      `regression ${fmt(-change)} > ${fmt(rule.maxAbsoluteRegression)}`,
    );
  }
  if (rule.maxRelativeRegression !== undefined) {
    check(
      relative === null ? change >= 0 : relative >= -rule.maxRelativeRegression - relTol,
      relative === null
        ? `champion is 0 and the candidate regressed by ${fmt(-change)}`
        : `relative regression ${fmt(-relative)} > ${fmt(rule.maxRelativeRegression)}`,
    );
  }
  if (!hasThreshold(rule)) check(change >= 0, `worse than the champion by ${fmt(-change)}`);

  const observed = { candidate, champion, change, relativeChange: relative };
  const head = `${m}: candidate ${fmt(candidate)} vs champion ${fmt(champion)} (${higherIsBetter ? 'higher' : 'lower'} is better, change ${fmt(change)}, relative ${rel()})`;
  return outcome(
    failures.length === 0,
    observed,
    expected,
    failures.length ? `${head}: ${failures.join('; ')}` : head,
  );
}

const TOLERANCE = 1e-12;

function hasThreshold(rule: CompareRule): boolean {
  return (
    rule.minAbsoluteChange !== undefined ||
    rule.minRelativeChange !== undefined ||
    rule.maxAbsoluteRegression !== undefined ||
    rule.maxRelativeRegression !== undefined
  );
}

function expectedOf(rule: CompareRule, higherIsBetter: boolean): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = { higherIsBetter };
  if (rule.minAbsoluteChange !== undefined) out.minAbsoluteChange = rule.minAbsoluteChange;
  if (rule.minRelativeChange !== undefined) out.minRelativeChange = rule.minRelativeChange;
  if (rule.maxAbsoluteRegression !== undefined)
    out.maxAbsoluteRegression = rule.maxAbsoluteRegression;
  if (rule.maxRelativeRegression !== undefined)
    out.maxRelativeRegression = rule.maxRelativeRegression;
  // No threshold means "not worse than the champion", said explicitly in the report.
  if (!hasThreshold(rule)) out.maxAbsoluteRegression = 0;
  return out;
}

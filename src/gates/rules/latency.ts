/**
 * @module
 * The `latency` rule: a percentile of the candidate's latencies (NumPy's linear
 * interpolation) at most `maxMs`.
 */
import type { Evidence } from '../evidence.js';
import {
  evidenceError,
  firstNaN,
  fmt,
  jsonNumber,
  missing,
  outcome,
  type RuleOutcome,
} from '../rule.js';
import type { LatencyRule } from '../schema.js';
import { percentileSorted, sortedCopy } from '../stats.js';

/** Judges a {@link LatencyRule}: `percentile(latenciesMs, p) <= maxMs`. */
export function evaluateLatencyRule(rule: LatencyRule, evidence: Evidence): RuleOutcome {
  const expected = { percentile: rule.percentile, maxMs: rule.maxMs };
  const values = evidence.candidate.latenciesMs;
  if (values === undefined) return missing(expected, 'candidate.latenciesMs is missing');
  if (values.length === 0) return missing(expected, 'candidate.latenciesMs is empty');
  const nan = firstNaN(values);
  if (nan >= 0) return missing(expected, `candidate.latenciesMs[${nan}] is NaN`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v === Number.POSITIVE_INFINITY) {
      throw evidenceError(
        ['candidate', 'latenciesMs', i],
        `is ${v}, not a duration`,
        'pass finite, non-negative durations in milliseconds',
      );
    }
  }
  const value = percentileSorted(sortedCopy(values), rule.percentile);
  const ok = value <= rule.maxMs;
  return outcome(
    ok,
    jsonNumber(value),
    expected,
    `p${fmt(rule.percentile)} latency = ${fmt(value)} ms ${ok ? '<=' : '>'} ${fmt(rule.maxMs)} ms over ${values.length} requests`,
  );
}

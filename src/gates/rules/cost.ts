/**
 * @module
 * The `cost` rule: a ceiling (inclusive) on one named candidate cost.
 */
import type { Evidence } from '../evidence.js';
import { fmt, jsonNumber, missing, outcome, type RuleOutcome } from '../rule.js';
import type { CostRule } from '../schema.js';

/** Judges a {@link CostRule}: `candidate.costs[metric] <= max`. */
export function evaluateCostRule(rule: CostRule, evidence: Evidence): RuleOutcome {
  const expected = { max: rule.max };
  const value = evidence.candidate.costs?.[rule.metric];
  if (value === undefined) {
    return missing(expected, `cost "${rule.metric}" is missing from candidate.costs`);
  }
  if (!Number.isFinite(value)) {
    return missing(expected, `cost "${rule.metric}" is ${value}`, jsonNumber(value));
  }
  const ok = value <= rule.max;
  return outcome(
    ok,
    jsonNumber(value),
    expected,
    `${rule.metric} = ${fmt(value)} ${ok ? '<=' : '>'} max ${fmt(rule.max)}`,
  );
}

/**
 * @module
 * The `metric` rule: a floor and/or ceiling (inclusive) on one candidate metric.
 */
import type { Evidence } from '../evidence.js';
import { fmt, jsonNumber, missing, outcome, type RuleOutcome } from '../rule.js';
import type { MetricRule } from '../schema.js';

/** Judges a {@link MetricRule}: `min <= candidate.metrics[metric] <= max`. */
export function evaluateMetricRule(rule: MetricRule, evidence: Evidence): RuleOutcome {
  const expected = bounds(rule.min, rule.max);
  const value = evidence.candidate.metrics?.[rule.metric];
  if (value === undefined) {
    return missing(expected, `metric "${rule.metric}" is missing from candidate.metrics`);
  }
  if (!Number.isFinite(value)) {
    return missing(expected, `metric "${rule.metric}" is ${value}`, jsonNumber(value));
  }
  const tooLow = rule.min !== undefined && value < rule.min;
  const tooHigh = rule.max !== undefined && value > rule.max;
  const because = tooLow
    ? `< min ${fmt(rule.min!)}`
    : tooHigh
      ? `> max ${fmt(rule.max!)}`
      : `within ${describeBounds(rule.min, rule.max)}`;
  return outcome(!tooLow && !tooHigh, value, expected, `${rule.metric} = ${fmt(value)} ${because}`);
}

/** `{ min?, max? }` without undefined fields. */
export function bounds(min: number | undefined, max: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  return out;
}

/** `[min, max]` in words, e.g. `[0.8, inf)`. */
export function describeBounds(min: number | undefined, max: number | undefined): string {
  return `${min === undefined ? '(-inf' : `[${fmt(min)}`}, ${max === undefined ? 'inf)' : `${fmt(max)}]`}`;
}

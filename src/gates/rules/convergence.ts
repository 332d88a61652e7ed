/**
 * @module
 * The `convergence` rule (training sanity): a metric history, e.g. the loss per epoch, has
 * no NaN or infinity and decreased by at least a given fraction of its starting value.
 */

import { pairwiseSum } from '../../drift/distributions/summation.js';
import type { Evidence } from '../evidence.js';
import { firstNonFinite, fmt, missing, outcome, type RuleOutcome } from '../rule.js';
import type { ConvergenceRule } from '../schema.js';

/**
 * Judges a {@link ConvergenceRule} on `candidate.history[metric]`: with `start` and `end`
 * the means of its first and last `window` values (default 1), `(start - end) / |start| >=
 * minDecrease`. Needs at least `2 * window` values and a non-zero start.
 */
export function evaluateConvergenceRule(rule: ConvergenceRule, evidence: Evidence): RuleOutcome {
  const window = rule.window ?? 1;
  const expected = { minDecrease: rule.minDecrease, window };
  const history = evidence.candidate.history?.[rule.metric];
  const where = `candidate.history.${rule.metric}`;
  if (history === undefined) return missing(expected, `${where} is missing`);
  const bad = firstNonFinite(history);
  if (bad >= 0) {
    return missing(expected, `${where}[${bad}] is ${history[bad]}: training diverged`, {
      length: history.length,
      firstNonFinite: bad,
    });
  }
  if (history.length < 2 * window) {
    return missing(
      expected,
      `${where} has ${history.length} values; at least ${2 * window} are needed for window ${window}`,
      { length: history.length },
    );
  }
  const start = pairwiseSum(history, 0, window) / window;
  const end = pairwiseSum(history, history.length - window) / window;
  if (start === 0) {
    return missing(expected, `${where} starts at 0, so a relative decrease is undefined`, {
      start,
      end,
      length: history.length,
    });
  }
  const decrease = (start - end) / Math.abs(start);
  const ok = decrease >= rule.minDecrease - TOLERANCE;
  return outcome(
    ok,
    { start, end, decrease, length: history.length },
    expected,
    `${rule.metric} went from ${fmt(start)} to ${fmt(end)}: decrease ${fmt(decrease)} ${ok ? '>=' : '<'} ${fmt(rule.minDecrease)}`,
  );
}

// Float rounding must not fail a decrease that is exactly the threshold (0.5 of 1 -> 0.5).
const TOLERANCE = 1e-12;

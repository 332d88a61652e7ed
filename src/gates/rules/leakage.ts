/**
 * @module
 * The `leakage` rule (training sanity): no digest of a held-out row appears among the
 * digests of the training rows.
 */
import type { Evidence } from '../evidence.js';
import { missing, outcome, type RuleOutcome } from '../rule.js';
import type { LeakageRule } from '../schema.js';

/** How many overlapping digests a report lists as examples. */
export const LEAKAGE_EXAMPLES = 3;

/**
 * Judges a {@link LeakageRule} on `candidate.rowDigests`: the number of `test` rows whose
 * digest is also a `train` digest must be at most `maxOverlap` (default 0). Both splits must
 * be present and non-empty.
 */
export function evaluateLeakageRule(rule: LeakageRule, evidence: Evidence): RuleOutcome {
  const maxOverlap = rule.maxOverlap ?? 0;
  const expected = { maxOverlap };
  const digests = evidence.candidate.rowDigests;
  const train = digests?.[rule.train];
  const test = digests?.[rule.test];
  if (train === undefined)
    return missing(expected, `candidate.rowDigests.${rule.train} is missing`);
  if (test === undefined) return missing(expected, `candidate.rowDigests.${rule.test} is missing`);
  if (train.length === 0) return missing(expected, `candidate.rowDigests.${rule.train} is empty`);
  if (test.length === 0) return missing(expected, `candidate.rowDigests.${rule.test} is empty`);

  const seen = new Set<string>();
  for (let i = 0; i < train.length; i++) seen.add(train[i]!);
  let overlap = 0;
  const shared = new Set<string>();
  for (let i = 0; i < test.length; i++) {
    const digest = test[i]!;
    if (seen.has(digest)) {
      overlap++;
      shared.add(digest);
    }
  }
  const examples = [...shared].sort().slice(0, LEAKAGE_EXAMPLES);
  const ok = overlap <= maxOverlap;
  return outcome(
    ok,
    { overlap, distinct: shared.size, train: train.length, test: test.length, examples },
    expected,
    `${overlap} of ${test.length} ${rule.test} rows also appear in ${rule.train} (${ok ? '<=' : '>'} ${maxOverlap} allowed)`,
  );
}

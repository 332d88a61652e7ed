/**
 * @module
 * The contract of one gate rule (`RuleEvaluator`: rule + evidence -> outcome) and the small
 * helpers the built-in rules share to phrase outcomes and refuse malformed evidence.
 */
import { ValidationError } from '../core/errors.js';
import type { Evidence } from './evidence.js';
import type { CustomRule } from './schema.js';
import type { GateDecision } from './types.js';

/** What a rule concluded, before severity is applied. */
export interface RuleOutcome {
  /** `fail` on a `severity: 'warn'` rule is reported as `warn`. */
  decision: GateDecision;
  /** What the evidence showed: plain JSON (NaN and infinities are written as strings). */
  observed: unknown;
  /** What the rule required: plain JSON. */
  expected: unknown;
  /** One line for humans. */
  message: string;
}

/**
 * A code-defined rule: a pure function of the rule (as written in the policy) and the
 * evidence. Throwing `ValidationError` reports malformed evidence; the evaluator adds the
 * rule index to it.
 *
 * @example
 * ```ts
 * const rows: RuleEvaluator = (rule, evidence) => {
 *   const n = evidence.candidate.metrics?.rows;
 *   const ok = n !== undefined && n >= Number(rule.min);
 *   return { decision: ok ? 'pass' : 'fail', observed: n ?? null, expected: { min: rule.min },
 *            message: `rows = ${n}` };
 * };
 * ```
 */
export type RuleEvaluator = (
  rule: CustomRule,
  evidence: Evidence,
) => RuleOutcome | Promise<RuleOutcome>;

/** A passing or failing outcome. */
export function outcome(
  ok: boolean,
  observed: unknown,
  expected: unknown,
  message: string,
): RuleOutcome {
  return { decision: ok ? 'pass' : 'fail', observed, expected, message };
}

/** A failure for missing or unusable evidence: nothing observed. */
export function missing(expected: unknown, message: string, observed: unknown = null): RuleOutcome {
  return { decision: 'fail', observed, expected, message };
}

/** A number for a report: finite as is, NaN and infinities as strings (JSON has no NaN). */
export function jsonNumber(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

/** A number for a message: at most 6 significant digits. */
export function fmt(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
}

/** Index of the first NaN or infinity in `values`, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

/** Index of the first NaN in `values`, or -1. */
export function firstNaN(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) return i;
  return -1;
}

/** Malformed evidence at `path` (relative to the evidence). */
export function evidenceError(
  path: readonly PropertyKey[],
  problem: string,
  fix: string,
): ValidationError {
  return new ValidationError(
    `[keel] invalid gate evidence at ${path.map(String).join('.')}: ${problem}; ${fix}`,
    {
      issues: [{ path, message: problem }],
    },
  );
}

/** Throws unless every array has the same length as the first. */
export function assertAligned(
  arrays: readonly { path: readonly PropertyKey[]; values: ArrayLike<unknown> }[],
): void {
  const first = arrays[0];
  if (!first) return;
  for (const other of arrays.slice(1)) {
    if (other.values.length !== first.values.length) {
      throw evidenceError(
        other.path,
        `has ${other.values.length} values but ${first.path.map(String).join('.')} has ${first.values.length}`,
        'pass arrays aligned example by example',
      );
    }
  }
}

/**
 * Throws unless every value is 0 or 1; NaN is left for the rule to fail on.
 */
export function assertBinary(path: readonly PropertyKey[], values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v !== 1 && !Number.isNaN(v)) {
      throw evidenceError(
        [...path, i],
        `is ${v}, not 0 or 1`,
        'pass 0/1 labels (threshold scores first)',
      );
    }
  }
}

/**
 * @module
 * The gate report: the persisted, content-addressed verdict of a gate policy on a
 * body of evidence. The registry re-reads it by digest to govern promotions.
 */
import type { Digest } from '../core/digest.js';

/** A rule's or a report's verdict. */
export type GateDecision = 'pass' | 'warn' | 'fail';

/** One rule's outcome. */
export interface RuleResult {
  /** The rule as given in the policy (plain JSON). */
  rule: {
    /** The rule's kind: a built-in one (`metric`, `compare`, …) or a code-defined one. */
    kind: string;
    [field: string]: unknown;
  };
  /** This rule's verdict; a failing rule with `severity: 'warn'` reports `warn`. */
  decision: GateDecision;
  /** What the evidence showed (a number, or a record of numbers per group, or null when missing). */
  observed: unknown;
  /** What the rule required, in words or numbers. */
  expected: unknown;
  /** One line for humans. */
  message: string;
}

/** The model version a report judges. */
export interface GateSubject {
  /** The registered model's name. */
  model: string;
  /** The version number (from 1). */
  version: number;
}

/** A gate policy's verdict, stored as canonical JSON; `digest` is its address. */
export interface GateReport {
  /** The evaluated policy's name. */
  policy: string;
  /** The overall verdict: `fail` if any rule failed, else `warn` if any warned, else `pass`. */
  decision: GateDecision;
  /** `decision !== 'fail'`: a report that only warns still passes. */
  passed: boolean;
  /** The model version judged, when `evaluate` was given one (promotions require a match). */
  subject?: GateSubject;
  /** Every rule's outcome, in the policy's order. */
  results: RuleResult[];
  /** ISO-8601 time of the evaluation, from the evaluator's clock. */
  evaluatedAt: string;
  /** Digest of the canonical JSON of the policy evaluated (stored beside the report). */
  policyDigest?: Digest;
  /**
   * Digest of the evidence it was evaluated on, as `encodeEvidence` stores it; absent when the
   * evidence holds something JSON cannot carry (then the registry cannot judge it again).
   */
  evidenceDigest?: Digest;
  /**
   * The report's address: the sha256 of its canonical JSON (without this field). Pass the
   * report (or this digest) as evidence to `setAlias`.
   */
  digest: Digest;
}

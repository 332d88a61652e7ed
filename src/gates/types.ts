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
  rule: { kind: string; [field: string]: unknown };
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
  model: string;
  version: number;
}

/** A gate policy's verdict, stored as canonical JSON; `digest` is its address. */
export interface GateReport {
  policy: string;
  decision: GateDecision;
  passed: boolean;
  subject?: GateSubject;
  results: RuleResult[];
  evaluatedAt: string;
  /** Digest of the canonical JSON of the policy evaluated (stored beside the report). */
  policyDigest?: Digest;
  /**
   * Digest of the evidence it was evaluated on, as `encodeEvidence` stores it; absent when the
   * evidence holds something JSON cannot carry (then the registry cannot judge it again).
   */
  evidenceDigest?: Digest;
  digest: Digest;
}

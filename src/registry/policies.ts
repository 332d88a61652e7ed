/**
 * @module
 * Alias policies: which policy governs an alias, whether an actor holds a required role,
 * and the evidence check (re-read the gate report by its digest and refuse a report that is
 * missing, corrupt, forged, failed, or about another model or version).
 */
import { canonicalJson } from '../core/canonical-json.js';
import type { Digest } from '../core/digest.js';
import { isKeelError, PolicyError } from '../core/errors.js';
import type { Actor } from '../core/schemas.js';
import type { GateReport } from '../gates/types.js';
import type { AliasPolicy, Approval } from './types.js';

/** The policy of `alias` for `model`: a model-specific policy wins over a general one. */
export function findPolicy(
  policies: readonly AliasPolicy[],
  model: string,
  alias: string,
): AliasPolicy | undefined {
  return (
    policies.find((p) => p.alias === alias && p.model === model) ??
    policies.find((p) => p.alias === alias && p.model === undefined)
  );
}

/** True when the actor holds at least one of `roles`. */
export function hasRole(actor: Actor, roles: readonly string[]): boolean {
  return (actor.roles ?? []).some((role) => roles.includes(role));
}

/** The distinct actors who approved, in approval order. */
export function distinctApprovers(approvals: readonly Approval[]): string[] {
  return [...new Set(approvals.map((a) => a.actor.id))];
}

/** Reads a stored gate report by digest (the gates service's `readGateReport`, by default). */
export type GateReportReader = (digest: Digest) => Promise<GateReport>;

/**
 * Checks that `evidence` is a genuine gate report about `model` version `version` that
 * passed: the report stored at its digest (re-read and checked by `read`) must have exactly
 * the canonical JSON of the object passed, minus `digest`. Returns the digest; throws
 * `PolicyError` otherwise.
 */
export async function checkEvidence(
  read: GateReportReader,
  evidence: Record<string, unknown>,
  model: string,
  version: number,
): Promise<Digest> {
  const digest = evidence.digest as Digest;
  let report: GateReport;
  try {
    report = await read(digest);
  } catch (error) {
    if (isKeelError(error, 'KEEL_NOT_FOUND')) {
      throw refuse(`the gate report ${digest} is not in the artifact store`, 'missing', error);
    }
    if (isKeelError(error, 'KEEL_INTEGRITY')) {
      throw refuse(`the stored gate report ${digest} is corrupt`, 'corrupt', error);
    }
    if (isKeelError(error, 'KEEL_VALIDATION')) {
      throw refuse(`the artifact ${digest} is not a valid gate report`, 'invalid', error);
    }
    throw error;
  }
  const { digest: _claimedDigest, ...claimed } = evidence;
  const { digest: _storedDigest, ...stored } = report;
  if (canonicalJson(stored) !== canonicalJson(claimed)) {
    throw refuse(
      `the evidence passed differs from the stored gate report ${digest} (a forged or edited report)`,
      'forged',
    );
  }
  if (report.passed !== true || report.decision === 'fail') {
    throw refuse(`the gate report ${digest} did not pass (decision: ${report.decision})`, 'failed');
  }
  if (report.subject?.model !== model || report.subject?.version !== version) {
    const about =
      report.subject === undefined
        ? 'no model version'
        : `${report.subject.model} version ${report.subject.version}`;
    throw refuse(
      `the gate report ${digest} is about ${about}, not ${model} version ${version}`,
      'wrong-subject',
    );
  }
  return digest;
}

function refuse(problem: string, kind: string, cause?: unknown): PolicyError {
  return new PolicyError(
    `[keel] [registry] promotion refused: ${problem}; evaluate the gate policy for this version with keel.gates.evaluate(policy, evidence, { subject }) and pass the report it returns`,
    { details: { evidence: kind }, ...(cause === undefined ? {} : { cause }) },
  );
}

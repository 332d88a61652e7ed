/**
 * @module
 * Gate reports at rest: their media type, the schema a stored report must satisfy, the
 * overall decision rule, and `readGateReport`, which re-reads and checks a stored report.
 */
import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/types.js';
import { canonicalJson } from '../core/canonical-json.js';
import { assertDigest, type Digest, sha256 } from '../core/digest.js';
import { ValidationError } from '../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../core/json.js';
import { digestSchema } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import type { GatePolicy } from './schema.js';
import type { GateDecision, GateReport } from './types.js';

/** The media type gate reports are stored under. */
export const GATE_REPORT_MEDIA_TYPE = 'application/vnd.keel.gate-report+json';
/** The media type of an evaluated policy, stored beside its reports. */
export const GATE_POLICY_MEDIA_TYPE = 'application/vnd.keel.gate-policy+json';
/** The media type of the evidence a report was evaluated on. */
export const GATE_EVIDENCE_MEDIA_TYPE = 'application/vnd.keel.gate-evidence+json';

/**
 * The digest that identifies a gate policy: sha256 of its canonical JSON.
 *
 * @throws {ValidationError} when `policy` holds what JSON cannot carry exactly (NaN,
 *   infinities, bigint, functions, cycles, …; see {@link canonicalJson}).
 */
export function gatePolicyDigest(policy: GatePolicy): Digest {
  return sha256(canonicalJson(policy));
}

/** A report as stored: everything but its own address. */
export type StoredGateReport = Omit<GateReport, 'digest'>;

/**
 * The overall decision: `fail` if any result is `fail` (a blocking rule failed), `warn` if
 * any is `warn` (only warning rules failed), else `pass`.
 *
 * @throws {ValidationError} when `decisions` is not an array of `pass`, `warn` and `fail`.
 */
export function overallDecision(decisions: readonly GateDecision[]): GateDecision {
  if (!Array.isArray(decisions) || !decisions.every((d) => DECISIONS.has(d))) {
    throw new ValidationError(
      "[keel] invalid decisions for overallDecision: pass an array of 'pass', 'warn' and 'fail'",
    );
  }
  if (decisions.includes('fail')) return 'fail';
  if (decisions.includes('warn')) return 'warn';
  return 'pass';
}

const decisionSchema = z.enum(['pass', 'warn', 'fail']);
const DECISIONS: ReadonlySet<unknown> = new Set(['pass', 'warn', 'fail']);

/**
 * Checks that `report` is a gate report (a stored one with its `digest`), before anything reads it.
 *
 * @throws {ValidationError} naming `what` when it is not.
 */
export function checkGateReport(report: unknown, what: string): GateReport {
  const { digest } = parseWith(z.looseObject({ digest: digestSchema }), report, what);
  const { digest: _digest, ...stored } = report as GateReport;
  return { ...parseWith(storedGateReportSchema, stored, what), digest } as GateReport;
}

/**
 * Validates a stored report (without `digest`), including its consistency: `decision` is the
 * overall decision of its results and `passed` is `decision !== 'fail'`.
 */
export const storedGateReportSchema: z.ZodType<StoredGateReport> = z
  .strictObject({
    policy: z.string().min(1),
    decision: decisionSchema,
    passed: z.boolean(),
    subject: z.strictObject({ model: z.string().min(1), version: z.int().min(1) }).optional(),
    results: z.array(
      z.strictObject({
        rule: z.looseObject({ kind: z.string().min(1) }),
        decision: decisionSchema,
        observed: z.unknown(),
        expected: z.unknown(),
        message: z.string(),
      }),
    ),
    evaluatedAt: z.iso.datetime(),
    policyDigest: digestSchema.optional(),
    evidenceDigest: digestSchema.optional(),
  })
  .refine((r) => r.decision === overallDecision(r.results.map((result) => result.decision)), {
    message: 'decision does not follow from the results',
    path: ['decision'],
  })
  .refine((r) => r.passed === (r.decision !== 'fail'), {
    message: 'passed must be decision !== "fail"',
    path: ['passed'],
  }) as unknown as z.ZodType<StoredGateReport>;

/**
 * Re-reads the gate report stored at `digest` and checks it: the bytes match the digest
 * (the store verifies), they are the canonical JSON of a consistent report. The registry
 * uses this to check the evidence of a promotion.
 *
 * @throws {NotFoundError} when nothing is stored at `digest`.
 * @throws {IntegrityError} when the stored bytes do not match the digest.
 * @throws {ValidationError} when `digest` is malformed, or the bytes are not the canonical JSON
 *   of a consistent gate report.
 *
 * @example
 * ```ts
 * const report = await readGateReport(keel.artifacts, evidenceDigest);
 * if (!report.passed) throw new Error('gate failed');
 * ```
 */
export async function readGateReport(
  artifacts: ArtifactStore,
  digest: Digest,
): Promise<GateReport> {
  assertDigest(digest, 'gate report digest');
  const bytes = await artifacts.get(digest);
  let text: string;
  let value: JsonValue;
  try {
    text = decoder.decode(bytes);
    value = parseJsonSafe(text);
  } catch (error) {
    throw new ValidationError(
      `[keel] artifact ${digest} is not a gate report: it is not JSON; pass the digest of a stored gate report`,
      { cause: error, issues: [{ path: [], message: 'not JSON' }] },
    );
  }
  const report = parseWith(storedGateReportSchema, value, `gate report ${digest}`);
  if (canonicalJson(value) !== text) {
    throw new ValidationError(
      `[keel] artifact ${digest} is not a canonical gate report: its bytes are not canonical JSON; store reports through the gate evaluator`,
      { issues: [{ path: [], message: 'not canonical JSON' }] },
    );
  }
  return { ...report, digest };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

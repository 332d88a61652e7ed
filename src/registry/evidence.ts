/**
 * @module
 * Gate evidence for a promotion: the report must be the one stored at its digest, about this
 * model version, and, under `requireGate`, bound to a policy, to the evidence it was judged
 * on and to time. The registry re-reads the policy and the evidence by digest and judges them
 * again, so a hand-made report cannot pass; the candidate metrics must be the version's
 * registered ones; and only the newest report for the version and policy counts.
 */
import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/types.js';
import { canonicalJson } from '../core/canonical-json.js';
import type { Digest } from '../core/digest.js';
import { isKeelError, PolicyError } from '../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../core/json.js';
import { functionOption, metadataStoreOption } from '../core/option-schemas.js';
import { parseWith } from '../core/validate.js';
import type { GateEvaluator } from '../gates/evaluator.js';
import { decodeEvidence, type Evidence } from '../gates/evidence.js';
import { checkGateReport, gatePolicyDigest } from '../gates/report.js';
import type { GatePolicy } from '../gates/schema.js';
import type { GateReport } from '../gates/types.js';
import type { MetadataStore } from '../metadata/types.js';
import { type GateReportIndexDoc, gateReportKey } from './records.js';
import type { AliasPolicy, ModelVersion } from './types.js';

/** Reads a stored gate report by digest (the gates service's `readGateReport`, by default). */
export type GateReportReader = (digest: Digest) => Promise<GateReport>;

/** Judges a policy on evidence again (a gate evaluator's `judge`). */
export type GateJudge = GateEvaluator['judge'];

/** What an alias policy's `requireGate` asks of a report, resolved. */
export interface GateRequirement {
  /** The digest of the policy that counts; any policy when absent. */
  policyDigest?: Digest;
  /** Its name, for messages. */
  policyName?: string;
  /** Whether the candidate metrics must be the version's registered ones. */
  metrics: 'registered' | 'asserted';
  /** Whether a `warn` decision satisfies it. */
  acceptWarn: boolean;
}

/** What checking evidence reads. */
export interface EvidenceSources {
  /** Reads a stored report by digest. */
  readReport: GateReportReader;
  /** Where the policy and the evidence a report names are stored. */
  artifacts: ArtifactStore;
  /** Where the newest report of each version and policy is recorded. */
  metadata: MetadataStore;
  /** Judges a policy on evidence again. */
  judge: GateJudge;
}

/**
 * The requirement of an alias policy, or `undefined` when it requires no gate. `named` holds
 * the registry's `gatePolicies` by name (every name was checked when the registry was made).
 */
export function gateRequirement(
  policy: AliasPolicy | undefined,
  named: ReadonlyMap<string, GatePolicy>,
): GateRequirement | undefined {
  const require = policy?.requireGate;
  if (require === undefined || require === false) return undefined;
  if (require === true) return { metrics: 'registered', acceptWarn: false };
  const gate = typeof require.policy === 'string' ? named.get(require.policy) : require.policy;
  return {
    ...(gate === undefined ? {} : { policyDigest: gatePolicyDigest(gate), policyName: gate.name }),
    metrics: require.metrics ?? 'registered',
    acceptWarn: require.acceptWarn ?? false,
  };
}

/** The names of alias policies' `requireGate.policy` that no gate policy carries. */
export function unknownPolicyNames(
  policies: readonly AliasPolicy[],
  named: ReadonlyMap<string, GatePolicy>,
): string[] {
  const out: string[] = [];
  for (const p of policies) {
    const require = p.requireGate;
    if (typeof require === 'object' && typeof require.policy === 'string') {
      if (!named.has(require.policy)) out.push(require.policy);
    }
  }
  return out;
}

/**
 * Checks that `evidence` is a genuine gate report about `version` that satisfies
 * `requirement` (or, without one, that it passed), and returns its digest. Throws
 * `PolicyError` naming what is wrong otherwise.
 */
export async function checkEvidence(
  sources: EvidenceSources,
  evidence: Record<string, unknown>,
  version: ModelVersion,
  requirement: GateRequirement | undefined,
): Promise<Digest> {
  const { model, version: number } = version;
  const digest = evidence.digest as Digest;
  let report: GateReport;
  try {
    report = await sources.readReport(digest);
  } catch (error) {
    throw unreadable(error, `the gate report ${digest}`, 'a valid gate report');
  }
  const { digest: _claimedDigest, ...claimed } = evidence;
  const { digest: _storedDigest, ...stored } = report;
  if (canonicalJson(stored) !== canonicalJson(claimed)) {
    throw refuse(
      `the evidence passed differs from the stored gate report ${digest} (a forged or edited report)`,
      'forged',
    );
  }
  if (report.subject?.model !== model || report.subject?.version !== number) {
    const about =
      report.subject === undefined
        ? 'no model version'
        : `${report.subject.model} version ${report.subject.version}`;
    throw refuse(
      `the gate report ${digest} is about ${about}, not ${model} version ${number}`,
      'wrong-subject',
    );
  }
  if (report.decision === 'fail' || report.passed !== true) {
    throw refuse(`the gate report ${digest} did not pass (decision: ${report.decision})`, 'failed');
  }
  if (requirement === undefined) return digest;
  if (report.decision === 'warn' && !requirement.acceptWarn) {
    throw refuse(
      `the gate report ${digest} only warns (decision: warn), and this alias needs a pass (an alias policy with requireGate: { acceptWarn: true } accepts warnings)`,
      'warn',
    );
  }
  const { policyDigest, evidenceDigest } = report;
  if (policyDigest === undefined || evidenceDigest === undefined) {
    throw refuse(
      `the gate report ${digest} does not name the ${policyDigest === undefined ? 'policy' : 'evidence'} it was evaluated on by digest (made by hand, by an older keel, or on evidence that is not plain JSON), so it cannot be judged again`,
      'unbound',
    );
  }
  if (requirement.policyDigest !== undefined && policyDigest !== requirement.policyDigest) {
    throw refuse(
      `the gate report ${digest} evaluated policy "${report.policy}" (${policyDigest}), not the policy this alias requires, "${requirement.policyName}" (${requirement.policyDigest})`,
      'wrong-policy',
    );
  }
  const newest = await sources.metadata.get(gateReportKey(model, number, policyDigest));
  if (newest !== undefined) {
    const doc = newest.value as unknown as GateReportIndexDoc;
    if (doc.digest !== digest) {
      throw refuse(
        `a newer gate report of the same policy about ${model} version ${number} exists (${doc.digest}, decision ${doc.decision}, evaluated ${doc.evaluatedAt}); only the newest counts`,
        'superseded',
      );
    }
  }
  const policy = await readJson(sources.artifacts, policyDigest, 'gate policy');
  const facts = decodeEvidence(await readJson(sources.artifacts, evidenceDigest, 'gate evidence'));
  if (requirement.metrics === 'registered') {
    const metrics = (facts as Partial<Evidence>).candidate?.metrics ?? {};
    if (!sameJson(metrics, version.metrics)) {
      throw refuse(
        `the gate report ${digest} was evaluated on candidate metrics ${describeJson(metrics)}, not on the metrics ${model} version ${number} was registered with (${describeJson(version.metrics)})`,
        'metrics',
      );
    }
  }
  let judged: Awaited<ReturnType<GateJudge>>;
  try {
    judged = await sources.judge(policy as unknown as GatePolicy, facts);
  } catch (error) {
    throw refuse(
      `the policy and evidence of the gate report ${digest} cannot be judged again (${messageOf(error)})`,
      'not-reproducible',
      error,
    );
  }
  if (
    judged.policy !== report.policy ||
    judged.decision !== report.decision ||
    canonicalJson(judged.results) !== canonicalJson(report.results)
  ) {
    throw refuse(
      `the gate report ${digest} does not follow from its policy and evidence: judged again they give ${judged.decision}, the report says ${report.decision} (a forged report, or a rule that is not deterministic)`,
      'not-reproduced',
    );
  }
  return digest;
}

/**
 * Records `report` as the newest for its subject and policy (reports without either are skipped).
 *
 * @throws {ValidationError} (as a rejection) when `metadata` is not a MetadataStore or `input` is
 *   not
 *   a gate report.
 * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
 */
export async function recordGateReport(metadata: MetadataStore, input: GateReport): Promise<void> {
  parseWith(metadataStoreOption, metadata, 'recordGateReport store');
  const report = checkGateReport(input, 'gate report');
  if (report.subject === undefined || report.policyDigest === undefined) return;
  const doc: GateReportIndexDoc = {
    digest: report.digest,
    decision: report.decision,
    evaluatedAt: report.evaluatedAt,
  };
  await metadata.put(
    gateReportKey(report.subject.model, report.subject.version, report.policyDigest),
    doc as unknown as JsonValue,
  );
}

/**
 * A gate evaluator whose reports are recorded as the newest for their subject and policy.
 *
 * @throws {ValidationError} when `gates` is not a GateEvaluator or `metadata` is not a
 *   MetadataStore.
 * The returned `evaluate` also throws what `gates.evaluate` throws, and the store's errors.
 */
export function withReportIndex(gates: GateEvaluator, metadata: MetadataStore): GateEvaluator {
  parseWith(
    z.looseObject({ evaluate: functionOption, judge: functionOption, kinds: z.unknown() }),
    gates,
    'withReportIndex gate evaluator',
  );
  parseWith(metadataStoreOption, metadata, 'withReportIndex store');
  return {
    kinds: gates.kinds,
    judge: (policy, evidence) => gates.judge(policy, evidence),
    async evaluate(policy, evidence, opts) {
      const report = await gates.evaluate(policy, evidence, opts);
      await recordGateReport(metadata, report);
      return report;
    },
  };
}

/** Reads a canonical JSON document stored by the gate evaluator. */
async function readJson(
  artifacts: ArtifactStore,
  digest: Digest,
  what: string,
): Promise<JsonValue> {
  let text: string;
  try {
    text = decoder.decode(await artifacts.get(digest));
  } catch (error) {
    throw unreadable(error, `the ${what} ${digest}`, `a stored ${what}`);
  }
  let value: JsonValue;
  try {
    value = parseJsonSafe(text);
  } catch (error) {
    throw refuse(`the ${what} ${digest} is not JSON`, 'invalid', error);
  }
  if (canonicalJson(value) !== text) {
    throw refuse(`the ${what} ${digest} is not canonical JSON`, 'invalid');
  }
  return value;
}

function unreadable(error: unknown, what: string, expected: string): unknown {
  if (isKeelError(error, 'KEEL_NOT_FOUND'))
    return refuse(`${what} is not in the artifact store`, 'missing', error);
  if (isKeelError(error, 'KEEL_INTEGRITY')) return refuse(`${what} is corrupt`, 'corrupt', error);
  if (isKeelError(error, 'KEEL_VALIDATION'))
    return refuse(`${what} is not ${expected}`, 'invalid', error);
  return error;
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

function describeJson(value: unknown): string {
  try {
    const text = canonicalJson(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return 'that are not plain numbers';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^\[keel\] /, '') : String(error);
}

function refuse(problem: string, kind: string, cause?: unknown): PolicyError {
  return new PolicyError(
    `[keel] [registry] promotion refused: ${problem}; evaluate the gate policy for this version with keel.gates.evaluate(policy, evidence, { subject }) and pass the report it returns`,
    { details: { evidence: kind }, ...(cause === undefined ? {} : { cause }) },
  );
}

const decoder = new TextDecoder('utf-8', { fatal: true });

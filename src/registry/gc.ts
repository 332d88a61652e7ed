/**
 * @module
 * Retention: which blobs nothing references (no version, no gate report cited in an alias
 * history nor the policy and evidence it names, no reference the caller declares), as a
 * plan; deletion only when asked and only of blobs old enough.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { Clock } from '../core/clock.js';
import { assertDigest, type Digest } from '../core/digest.js';
import { isKeelError, ValidationError } from '../core/errors.js';
import { parseWith } from '../core/validate.js';
import { readGateReport } from '../gates/report.js';
import type { MetadataStore } from '../metadata/types.js';
import { RegistryActions } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { guard } from './guard.js';
import { asAliasDoc, asVersion } from './records.js';
import { gcOptionsSchema } from './schemas.js';
import type { GcOptions, GcPlan, Registry } from './types.js';

/** Default minimum age of a blob before gc may remove it: one day. */
export const DEFAULT_GC_MIN_AGE_MS: number = 24 * 60 * 60 * 1000;

/** `gc`: validates the options, plans, and (authorized and audited) deletes. */
export function gcMethod(ctx: RegistryContext): Registry['gc'] {
  const { metadata, artifacts, clock } = ctx;
  return async (opts) => {
    const o = parseWith(gcOptionsSchema, opts ?? {}, 'gc options');
    const dryRun = o.dryRun ?? true;
    if (!dryRun && o.references === undefined) {
      throw new ValidationError(
        '[keel] gc with dryRun: false needs `references`: the digests that runs and pipelines still use (pass [] to state there are none)',
      );
    }
    const extra = await readReferences(o.references);
    if (dryRun) return runGc(metadata, artifacts, clock, { ...o, dryRun, extra });
    const actor = o.actor ?? ctx.defaultActor;
    await guard(ctx, actor, RegistryActions.registryGc, {});
    const plan = await runGc(metadata, artifacts, clock, { ...o, dryRun, extra });
    await ctx.audit.append({
      actor,
      action: RegistryActions.registryGc,
      resource: {},
      details: { outcome: 'ok', deleted: plan.deleted.length, bytes: plan.bytes },
    });
    return plan;
  };
}

/**
 * Builds the gc plan and, unless `dryRun`, deletes the unreferenced blobs. References are
 * collected a second time just before deleting, so a version registered while the store
 * was scanned keeps its blobs.
 */
export async function runGc(
  metadata: MetadataStore,
  artifacts: ArtifactStore,
  clock: Clock,
  opts: GcOptions & { extra: Set<Digest> },
): Promise<GcPlan> {
  const dryRun = opts.dryRun ?? true;
  const minAgeMs = opts.minAgeMs ?? DEFAULT_GC_MIN_AGE_MS;
  const releaseArchived = opts.releaseArchived ?? false;
  const referenced = await collectReferences(metadata, artifacts, releaseArchived, opts.extra);
  const plan: GcPlan = {
    dryRun,
    scanned: 0,
    referenced: 0,
    unreferenced: [],
    tooYoung: 0,
    bytes: 0,
    deleted: [],
  };
  const now = clock.now();
  for await (const meta of artifacts.list()) {
    plan.scanned++;
    if (referenced.has(meta.digest)) {
      plan.referenced++;
    } else if (now - Date.parse(meta.createdAt) < minAgeMs) {
      plan.tooYoung++;
    } else {
      plan.unreferenced.push({ digest: meta.digest, size: meta.size, createdAt: meta.createdAt });
      plan.bytes += meta.size;
    }
  }
  if (dryRun) return plan;
  const again = await collectReferences(metadata, artifacts, releaseArchived, opts.extra);
  for (const blob of plan.unreferenced) {
    if (again.has(blob.digest)) continue;
    if (await artifacts.delete(blob.digest)) plan.deleted.push(blob.digest);
  }
  return plan;
}

/** Reads declared references, validating each digest. */
export async function readReferences(
  references: Iterable<Digest> | AsyncIterable<Digest> | undefined,
): Promise<Set<Digest>> {
  const out = new Set<Digest>();
  if (references === undefined) return out;
  try {
    for await (const digest of references as AsyncIterable<Digest>) {
      assertDigest(digest, 'gc reference');
      out.add(digest);
    }
  } catch (error) {
    if (isKeelError(error)) throw error;
    throw new ValidationError(
      `[keel] gc could not read \`references\`: ${error instanceof Error ? error.message : String(error)}; pass an array or iterable of digests`,
      { cause: error },
    );
  }
  return out;
}

async function collectReferences(
  metadata: MetadataStore,
  artifacts: ArtifactStore,
  releaseArchived: boolean,
  extra: ReadonlySet<Digest>,
): Promise<Set<Digest>> {
  const referenced = new Set<Digest>(extra);
  const byVersion = new Map<string, Digest[]>();
  for await (const { key, value } of metadata.list('registry/versions/')) {
    const version = asVersion(value, key);
    const digests = [version.artifact.digest, ...version.inputs.map((input) => input.digest)];
    byVersion.set(`${version.model}\u0000${version.version}`, digests);
    if (version.status === 'ready' || !releaseArchived) for (const d of digests) referenced.add(d);
  }
  for await (const { key, value } of metadata.list('registry/aliases/')) {
    const doc = asAliasDoc(value, key);
    // An alias still serving an archived version keeps it, whatever releaseArchived says.
    if (doc.version !== null) {
      for (const d of byVersion.get(`${doc.model}\u0000${doc.version}`) ?? []) referenced.add(d);
    }
    for (const change of doc.history) {
      if (change.evidence === undefined || referenced.has(change.evidence)) continue;
      referenced.add(change.evidence);
      // A cited report keeps the policy and the evidence it names: it is judged on them.
      const report = await readGateReport(artifacts, change.evidence).catch(() => undefined);
      if (report?.policyDigest !== undefined) referenced.add(report.policyDigest);
      if (report?.evidenceDigest !== undefined) referenced.add(report.evidenceDigest);
    }
  }
  return referenced;
}

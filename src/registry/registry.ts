/**
 * @module
 * `createRegistry`: the model registry over a MetadataStore and an ArtifactStore. It builds
 * the shared context (stores, clock, policies, cache, audit log) and joins the groups of
 * methods, one concern a file: models, versions, aliases, approvals, resolve, audit,
 * lineage and retention.
 */

import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/types.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ValidationError } from '../core/errors.js';
import { type Emit, type EventMap, emitNothing } from '../core/events.js';
import { artifactStoreOption, metadataStoreOption } from '../core/option-schemas.js';
import { type Actor, actorSchema } from '../core/schemas.js';
import { createTelemetry, type Telemetry } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import { createGateEvaluator, type GateEvaluator } from '../gates/evaluator.js';
import { readGateReport } from '../gates/report.js';
import type { GatePolicy } from '../gates/schema.js';
import type { GateReport } from '../gates/types.js';
import type { MetadataStore } from '../metadata/types.js';
import { RUN_ID_PATTERN, trackingKeys } from '../tracking/records.js';
import { aliasMethods } from './aliases.js';
import { approvalMethods } from './approvals.js';
import { createAuditLog } from './audit.js';
import type { AuditKey } from './audit-key.js';
import { allowAll } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { unknownPolicyNames } from './evidence.js';
import { gcMethod } from './gc.js';
import { verifyVersionLineage } from './lineage.js';
import { modelMethods } from './models.js';
import { readVersion } from './numbering.js';
import { cacheFor, defaultResolveTtl, resolveMethod } from './resolve.js';
import {
  aliasPoliciesSchema,
  auditOptionsSchema,
  gatePoliciesSchema,
  modelNameSchema,
  versionNumberSchema,
} from './schemas.js';
import type { AliasPolicy, Authorizer, Registry, RegistryEvents } from './types.js';
import { versionMethods } from './versions.js';

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  /** Where models, versions, aliases and the audit log are stored. */
  metadata: MetadataStore;
  /** Where model artifacts and gate reports live. */
  artifacts: ArtifactStore;
  /** Source of timestamps (versions, alias changes, audit entries). */
  clock?: Clock;
  /** Spans and metrics (default: the global OpenTelemetry API). */
  telemetry?: Telemetry;
  /** Where the registry's events go (`keel.events` through `createKeel`). */
  emit?: Emit<RegistryEvents>;
  /** The actor of calls that pass none. Default `{ id: 'anonymous' }`. */
  actor?: Actor;
  /** Decides every mutation. Default: allow everything. */
  authorizer?: Authorizer;
  /** Governance per alias. */
  aliasPolicies?: AliasPolicy[];
  /**
   * Reads and checks a stored gate report by digest. Default: the gates service's
   * `readGateReport(artifacts, digest)`.
   */
  gateReports?: (digest: Digest) => Promise<GateReport>;
  /**
   * Gate policies by name, for alias policies with `requireGate: { policy: 'name' }`. What
   * counts is a policy's canonical digest: changing a policy here changes what is required.
   */
  gatePolicies?: GatePolicy[];
  /**
   * Judges a report's policy and evidence again (`requireGate`). Default: a gate evaluator with
   * the built-in rules; pass your evaluator (`keel.gates`) when policies use rules of your own.
   */
  gates?: Pick<GateEvaluator, 'judge'>;
  /**
   * Whether a run exists. When given, `registerVersion` refuses unknown run ids and
   * `verifyLineage` uses it; without it, `verifyLineage` looks for the keel Tracker's run
   * document in `metadata` and `registerVersion` does not check.
   */
  runExists?: (runId: string) => Promise<boolean>;
  /**
   * How long `resolve` trusts its cache (ms). On a store shared across processes: 250 by
   * default, or 10 000 when the store notifies changes (`capabilities.watch`: the cache is then
   * invalidated as soon as another process moves an alias, and the bound only caps a lost
   * notification). Otherwise until this process writes (every registry over the same store
   * object sees the others' writes at once).
   */
  resolveCacheMs?: number;
  /**
   * Stores without `capabilities.atomicBatch` only: how long a process may hold the audit
   * head while it commits a change (ms, default 10 000).
   */
  auditLeaseMs?: number;
  /**
   * Secret for HMAC-SHA256 over the audit chain (a string or bytes, at least 16): entries and
   * the audit head carry a MAC, and `verifyAudit` checks it, so someone who can rewrite the
   * log and its head but lacks the key cannot produce a log that verifies. Every registry
   * writing to the store needs the same key. See docs/governance.md.
   */
  auditKey?: AuditKey;
}

/**
 * Creates the model registry. `createKeel` makes one over its backend (and lets it check run
 * ids against its tracker); call this directly for a registry on its own.
 *
 * @throws {ValidationError} when an alias policy or gate policy is invalid, an alias policy
 *   names a gate policy `gatePolicies` does not hold, the actor is invalid, or `auditKey` is
 *   shorter than 16 bytes.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ metadata, artifacts, aliasPolicies: [{ alias: 'production', requireGate: true }] });
 * const v = await registry.registerVersion('churn', { artifact: meta.digest, metrics: { auc: 0.91 } });
 * await registry.setAlias('churn', 'staging', v.version, { reason: 'first model' });
 * const serving = await registry.resolve('churn', 'staging');
 * ```
 */
export function createRegistry(options: RegistryOptions): Registry {
  parseWith(
    z.looseObject({ metadata: metadataStoreOption, artifacts: artifactStoreOption }),
    options,
    'createRegistry options',
  );
  const ctx = createContext(options);
  const resolve = resolveMethod(ctx);
  return {
    ...modelMethods(ctx),
    ...versionMethods(ctx, resolve),
    resolve,
    ...aliasMethods(ctx),
    ...approvalMethods(ctx),

    audit(opts) {
      const { from = 0 } = parseWith(auditOptionsSchema, opts ?? {}, 'audit options');
      return ctx.audit.entries(from);
    },

    verifyAudit() {
      return ctx.audit.verify();
    },

    async verifyLineage(name, version) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const { record: checked } = await readVersion(ctx.metadata, model, target);
      return verifyVersionLineage(ctx.artifacts, checked, ctx.lookupRun);
    },

    gc: gcMethod(ctx),
  };
}

function createContext(options: RegistryOptions): RegistryContext {
  const { metadata, artifacts } = options;
  const clock = options.clock ?? systemClock;
  const runExists = options.runExists;
  const policies = parseWith(aliasPoliciesSchema, options.aliasPolicies ?? [], 'alias policies');
  const gatePolicies = new Map(
    parseWith(gatePoliciesSchema, options.gatePolicies ?? [], 'gate policies').map((p) => [
      p.name,
      p,
    ]),
  );
  const unknown = unknownPolicyNames(policies, gatePolicies);
  if (unknown.length > 0) {
    throw new ValidationError(
      `[keel] [registry] alias policies require the gate policies ${unknown.map((n) => `"${n}"`).join(', ')}, which gatePolicies does not hold: pass them in gatePolicies, or give the policy object itself`,
    );
  }
  const judge = options.gates ?? createGateEvaluator();
  return {
    metadata,
    artifacts,
    clock,
    telemetry: options.telemetry ?? createTelemetry(),
    emit: options.emit ?? (emitNothing as Emit<EventMap> as Emit<RegistryEvents>),
    defaultActor: parseWith(actorSchema, options.actor ?? { id: 'anonymous' }, 'registry actor'),
    authorizer: options.authorizer ?? allowAll,
    policies,
    runExists,
    // Without an injected lookup, lineage checks the tracker's run document on the same store.
    lookupRun:
      runExists ??
      (async (runId: string) =>
        RUN_ID_PATTERN.test(runId) && (await metadata.get(trackingKeys.run(runId))) !== undefined),
    gatePolicies,
    evidence: {
      readReport: options.gateReports ?? ((digest: Digest) => readGateReport(artifacts, digest)),
      artifacts,
      metadata,
      judge: (policy, evidence) => judge.judge(policy, evidence),
    },
    cache: cacheFor(metadata),
    ttl: options.resolveCacheMs ?? defaultResolveTtl(metadata),
    audit: createAuditLog({
      metadata,
      clock,
      ...(options.auditLeaseMs === undefined ? {} : { leaseMs: options.auditLeaseMs }),
      ...(options.auditKey === undefined ? {} : { key: options.auditKey }),
    }),
  };
}

/**
 * @module
 * `createRegistry`: the model registry over a MetadataStore and an ArtifactStore. Every
 * mutation is validated, authorized, checked against its alias policy, written with
 * compare-and-swap, audited in the hash chain, and announced as an event.
 */
import type { ArtifactRef, ArtifactStore } from '../artifacts/types.js';
import { type Clock, isoNow, systemClock } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import {
  ConflictError,
  isKeelError,
  NotFoundError,
  PolicyError,
  UnauthorizedError,
  ValidationError,
} from '../core/errors.js';
import { type Emit, type EventMap, emitNothing } from '../core/events.js';
import type { JsonValue } from '../core/json.js';
import { type Actor, actorSchema } from '../core/schemas.js';
import { createTelemetry, inSpan, type Telemetry } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import { readGateReport } from '../gates/report.js';
import type { GateReport } from '../gates/types.js';
import type { MetadataStore } from '../metadata/types.js';
import { RUN_ID_PATTERN, trackingKeys } from '../tracking/records.js';
import { cacheFor, cacheKey, invalidateModel, rollbackTarget } from './aliases.js';
import { type AuditRecord, createAuditLog } from './audit.js';
import { allowAll, type RegistryAction, RegistryActions } from './authorizer.js';
import { readReferences, runGc } from './gc.js';
import { verifyVersionLineage } from './lineage.js';
import { checkEvidence, distinctApprovers, findPolicy, hasRole } from './policies.js';
import {
  type AliasDoc,
  type ApprovalsDoc,
  aliasesPrefix,
  aliasKey,
  approvalsKey,
  asAliasDoc,
  asApprovalsDoc,
  asModel,
  asVersion,
  freeze,
  MODELS_PREFIX,
  modelKey,
  versionKey,
  versionsPrefix,
} from './records.js';
import {
  actorReasonSchema,
  aliasPoliciesSchema,
  aliasSchema,
  approveSchema,
  createModelSchema,
  LATEST,
  modelNameSchema,
  pageSchema,
  readableAliasSchema,
  registerVersionSchema,
  setAliasSchema,
  versionNumberSchema,
} from './schemas.js';
import type {
  AliasChange,
  AliasChangeKind,
  AliasPolicy,
  Approval,
  AuditEntry,
  AuditResource,
  Authorizer,
  Model,
  ModelSignature,
  ModelVersion,
  Registry,
  RegistryEvents,
} from './types.js';
import { claimVersion, latestReady, readVersion } from './versions.js';

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  /** Source of timestamps (versions, alias changes, audit entries). */
  clock?: Clock;
  telemetry?: Telemetry;
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
   * Whether a run exists. When given, `registerVersion` refuses unknown run ids and
   * `verifyLineage` uses it; without it, `verifyLineage` looks for the keel Tracker's run
   * document in `metadata` and `registerVersion` does not check.
   */
  runExists?: (runId: string) => Promise<boolean>;
  /**
   * How long `resolve` trusts its cache (ms). Default 250 when the metadata store is shared
   * across processes, otherwise until this process writes (every registry over the same
   * store object sees the others' writes at once).
   */
  resolveCacheMs?: number;
  /** Lease of an audit append across processes (ms, default 10 000). */
  auditLeaseMs?: number;
}

/**
 * Creates the model registry.
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
  const { metadata, artifacts } = options;
  const clock = options.clock ?? systemClock;
  const telemetry = options.telemetry ?? createTelemetry();
  const emit = options.emit ?? (emitNothing as Emit<EventMap> as Emit<RegistryEvents>);
  const defaultActor = parseWith(
    actorSchema,
    options.actor ?? { id: 'anonymous' },
    'registry actor',
  );
  const authorizer = options.authorizer ?? allowAll;
  const policies = parseWith(aliasPoliciesSchema, options.aliasPolicies ?? [], 'alias policies');
  const runExists = options.runExists;
  // Without an injected lookup, lineage checks the tracker's run document on the same store.
  const lookupRun =
    runExists ??
    (async (runId: string) =>
      RUN_ID_PATTERN.test(runId) && (await metadata.get(trackingKeys.run(runId))) !== undefined);
  const readReport = options.gateReports ?? ((digest: Digest) => readGateReport(artifacts, digest));
  const ttl =
    options.resolveCacheMs ??
    (metadata.capabilities?.sharedAcrossProcesses === true ? 250 : Infinity);
  const cache = cacheFor(metadata);
  const inflight = new Map<string, Promise<ModelVersion>>();
  const audit = createAuditLog(
    options.auditLeaseMs === undefined
      ? { metadata, clock }
      : { metadata, clock, leaseMs: options.auditLeaseMs },
  );

  async function record(entry: AuditRecord): Promise<AuditEntry> {
    return audit.append(entry);
  }

  /** Asks the authorizer; a denial (or a throwing authorizer) is audited and thrown. */
  async function guard(
    actor: Actor,
    action: RegistryAction,
    resource: AuditResource,
  ): Promise<void> {
    let allowed = false;
    let failure: unknown;
    try {
      allowed =
        (await authorizer({ actor: structuredClone(actor), action, resource: { ...resource } })) ===
        true;
    } catch (error) {
      failure = error;
    }
    if (allowed) return;
    await deny(
      actor,
      action,
      resource,
      failure === undefined ? 'the authorizer refused' : 'the authorizer failed',
      failure,
    );
  }

  async function deny(
    actor: Actor,
    action: RegistryAction,
    resource: AuditResource,
    why: string,
    cause?: unknown,
  ): Promise<never> {
    await record({ actor, action, resource, details: { outcome: 'denied', reason: why } });
    throw new UnauthorizedError(
      `[keel] [registry] ${actor.id} may not ${action} on ${describeResource(resource)}: ${why}; grant the action to one of the actor's roles`,
      { details: { actor: actor.id, action, resource }, ...(cause === undefined ? {} : { cause }) },
    );
  }

  async function refuse(
    actor: Actor,
    action: RegistryAction,
    resource: AuditResource,
    error: PolicyError,
  ): Promise<never> {
    await record({
      actor,
      action,
      resource,
      details: {
        outcome: 'refused',
        reason: error.message,
        ...(error.details as { [k: string]: JsonValue }),
      },
    });
    throw error;
  }

  async function requireModel(model: string): Promise<Model> {
    const found = await metadata.get(modelKey(model));
    if (found === undefined) {
      throw new NotFoundError(
        `[keel] [registry] no model named "${model}": register a version with registerVersion("${model}", ...) or call createModel first`,
        { details: { model } },
      );
    }
    return asModel(found.value, modelKey(model));
  }

  async function readAlias(
    model: string,
    alias: string,
  ): Promise<{ doc: AliasDoc; revision: string } | undefined> {
    const key = aliasKey(model, alias);
    const found = await metadata.get(key);
    return found === undefined
      ? undefined
      : { doc: asAliasDoc(found.value, key), revision: found.revision };
  }

  async function readAliasTarget(model: string, alias: string): Promise<ModelVersion> {
    if (alias === LATEST) {
      const latest = await latestReady(metadata, model);
      if (latest === undefined) {
        await requireModel(model);
        throw new NotFoundError(
          `[keel] [registry] model "${model}" has no ready version, so "latest" resolves to nothing: register a version first`,
          { details: { model, alias } },
        );
      }
      return latest;
    }
    const found = await readAlias(model, alias);
    if (found === undefined || found.doc.version === null) {
      throw new NotFoundError(
        `[keel] [registry] model "${model}" has no alias "${alias}": set it with setAlias("${model}", "${alias}", version)`,
        { details: { model, alias } },
      );
    }
    return (await readVersion(metadata, model, found.doc.version)).record;
  }

  function resolveFresh(model: string, alias: string, key: string): Promise<ModelVersion> {
    const pending = inflight.get(key);
    if (pending !== undefined) return pending;
    const generation = cache.generation;
    const run = readAliasTarget(model, alias)
      .then((value) => {
        const frozen = freeze(value);
        // A write during the read bumped the generation: its result may be stale, so skip caching.
        if (cache.generation === generation)
          cache.entries.set(key, { value: frozen, at: performance.now() });
        return frozen;
      })
      .finally(() => inflight.delete(key));
    inflight.set(key, run);
    return run;
  }

  /** Moves an alias with compare-and-swap on its document, retrying lost races. */
  async function moveAlias(
    model: string,
    alias: string,
    actor: Actor,
    decide: (
      current: AliasDoc | undefined,
    ) => Promise<{ version: number | null; kind: AliasChangeKind }>,
    extra: { reason?: string; evidence?: Digest; expectedVersion?: number | null },
  ): Promise<AliasChange> {
    for (let attempt = 0; ; attempt++) {
      const found = await readAlias(model, alias);
      const previousVersion = found?.doc.version ?? null;
      if (extra.expectedVersion !== undefined && previousVersion !== extra.expectedVersion) {
        throw new ConflictError(
          `[keel] [registry] alias "${alias}" of "${model}" points to ${previousVersion === null ? 'nothing' : `version ${previousVersion}`}, not ${extra.expectedVersion === null ? 'nothing' : `version ${extra.expectedVersion}`}: read it again and retry`,
          { details: { model, alias, expected: extra.expectedVersion, actual: previousVersion } },
        );
      }
      const { version, kind } = await decide(found?.doc);
      const change: AliasChange = {
        model,
        alias,
        version,
        previousVersion,
        actor,
        at: isoNow(clock),
        kind,
        ...(extra.reason === undefined ? {} : { reason: extra.reason }),
        ...(extra.evidence === undefined ? {} : { evidence: extra.evidence }),
      };
      const doc: AliasDoc = {
        model,
        alias,
        version,
        history: [...(found?.doc.history ?? []), change],
      };
      try {
        await metadata.put(aliasKey(model, alias), doc as unknown as JsonValue, {
          ifRevision: found?.revision ?? null,
        });
        return change;
      } catch (error) {
        if (!isKeelError(error, 'KEEL_CONFLICT') || attempt >= 20) throw error;
      }
    }
  }

  async function afterAliasMove(change: AliasChange, action: RegistryAction): Promise<AliasChange> {
    invalidateModel(cache, change.model);
    await record({
      actor: change.actor,
      action,
      resource: {
        model: change.model,
        alias: change.alias,
        ...(change.version === null ? {} : { version: change.version }),
      },
      details: {
        outcome: 'ok',
        previousVersion: change.previousVersion,
        ...(change.reason === undefined ? {} : { reason: change.reason }),
        ...(change.evidence === undefined ? {} : { evidence: change.evidence }),
      },
    });
    emit('alias:changed', {
      model: change.model,
      alias: change.alias,
      version: change.version,
      previousVersion: change.previousVersion,
      kind: change.kind,
      actor: change.actor.id,
    });
    return freeze(change);
  }

  async function checkAliasRoles(
    actor: Actor,
    action: RegistryAction,
    resource: AuditResource,
    policy: AliasPolicy | undefined,
  ): Promise<void> {
    if (policy?.allowedRoles !== undefined && !hasRole(actor, policy.allowedRoles)) {
      await deny(
        actor,
        action,
        resource,
        `the policy of alias "${policy.alias}" allows only the roles ${policy.allowedRoles.join(', ')}`,
      );
    }
  }

  /**
   * A delete or rollback of an alias: validates, authorizes and role-checks it, then moves the
   * alias to what `decide` picks, audits the change and announces it.
   */
  async function guardedAliasMove(
    name: string,
    alias: string,
    opts: unknown,
    action: RegistryAction,
    decide: (
      current: AliasDoc | undefined,
      model: string,
      alias: string,
    ) => Promise<{ version: number | null; kind: AliasChangeKind }>,
  ): Promise<AliasChange> {
    const model = parseWith(modelNameSchema, name, 'model name');
    const checkedAlias = parseWith(aliasSchema, alias, 'alias');
    const o = parseWith(actorReasonSchema, opts ?? {}, `${action} options`);
    const actor = o.actor ?? defaultActor;
    const resource: AuditResource = { model, alias: checkedAlias };
    await guard(actor, action, resource);
    await checkAliasRoles(actor, action, resource, findPolicy(policies, model, checkedAlias));
    const change = await moveAlias(
      model,
      checkedAlias,
      actor,
      (current) => decide(current, model, checkedAlias),
      o.reason === undefined ? {} : { reason: o.reason },
    );
    return afterAliasMove(change, action);
  }

  const registry: Registry = {
    async createModel(name, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const o = parseWith(createModelSchema, opts ?? {}, 'createModel options');
      const actor = o.actor ?? defaultActor;
      await guard(actor, RegistryActions.modelCreate, { model });
      const doc = await writeModel(model, actor, o);
      if (doc === undefined) {
        throw new ConflictError(
          `[keel] [registry] model "${model}" already exists: use getModel("${model}")`,
          {
            details: { model },
          },
        );
      }
      return doc;
    },

    async getModel(name) {
      const model = parseWith(modelNameSchema, name, 'model name');
      return freeze(await requireModel(model));
    },

    async listModels(opts) {
      const { cursor, limit = 100 } = parseWith(pageSchema, opts ?? {}, 'listModels options');
      if (cursor !== undefined) parseWith(modelNameSchema, cursor, 'listModels cursor');
      const models: Model[] = [];
      const listOpts =
        cursor === undefined ? { limit: limit + 1 } : { after: modelKey(cursor), limit: limit + 1 };
      for await (const { key, value } of metadata.list(MODELS_PREFIX, listOpts)) {
        models.push(freeze(asModel(value, key)));
      }
      if (models.length <= limit) return { models };
      models.length = limit;
      return { models, nextCursor: models[limit - 1]!.name };
    },

    async registerVersion(name, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      if (opts === undefined || opts === null) {
        throw new ValidationError(
          '[keel] invalid registerVersion options: pass { artifact } at least',
        );
      }
      const o = parseWith(registerVersionSchema, opts, 'registerVersion options');
      const actor = o.actor ?? defaultActor;
      return inSpan(
        telemetry,
        'keel.registry.register_version',
        { 'keel.model.name': model },
        async (span) => {
          const exists = (await metadata.get(modelKey(model))) !== undefined;
          if (!exists) await guard(actor, RegistryActions.modelCreate, { model });
          await guard(actor, RegistryActions.versionRegister, { model });
          const artifact = await statArtifact(o.artifact);
          if (o.runId !== undefined && runExists !== undefined && !(await runExists(o.runId))) {
            throw new NotFoundError(
              `[keel] [registry] no run "${o.runId}": pass the id of a tracked run, or omit runId`,
              {
                details: { runId: o.runId },
              },
            );
          }
          if (!exists) await writeModel(model, actor, {});
          const createdAt = isoNow(clock);
          const created = await claimVersion(metadata, model, (version) => ({
            model,
            version,
            artifact,
            ...(o.runId === undefined ? {} : { runId: o.runId }),
            inputs: o.inputs ?? [],
            metrics: o.metrics ?? {},
            ...(o.signature === undefined ? {} : { signature: o.signature as ModelSignature }),
            tags: o.tags ?? {},
            ...(o.description === undefined ? {} : { description: o.description }),
            status: 'ready',
            createdAt,
            createdBy: actor.id,
          }));
          span.setAttribute('keel.model.version', created.version);
          invalidateModel(cache, model);
          await record({
            actor,
            action: RegistryActions.versionRegister,
            resource: { model, version: created.version },
            details: {
              outcome: 'ok',
              artifact: artifact.digest,
              ...(o.runId === undefined ? {} : { runId: o.runId }),
            },
          });
          emit('model:registered', {
            model,
            version: created.version,
            artifact: artifact.digest,
            actor: actor.id,
          });
          return freeze(created);
        },
      );
    },

    async getVersion(name, ref) {
      const model = parseWith(modelNameSchema, name, 'model name');
      if (typeof ref === 'string' && /^[0-9]+$/.test(ref)) ref = Number(ref);
      if (typeof ref === 'number') {
        const version = parseWith(versionNumberSchema, ref, 'version number');
        return freeze((await readVersion(metadata, model, version)).record);
      }
      return registry.resolve(
        model,
        parseWith(readableAliasSchema, ref, 'version reference (number, alias or "latest")'),
      );
    },

    async resolve(name, alias) {
      const key = cacheKey(name, alias);
      const hit = cache.entries.get(key);
      if (hit !== undefined && performance.now() - hit.at < ttl) return hit.value;
      const model = parseWith(modelNameSchema, name, 'model name');
      parseWith(readableAliasSchema, alias, 'alias');
      return resolveFresh(model, alias, key);
    },

    async listVersions(name, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const { cursor, limit = 100 } = parseWith(pageSchema, opts ?? {}, 'listVersions options');
      let after: number | undefined;
      if (cursor !== undefined)
        after = parseWith(versionNumberSchema, Number(cursor), 'listVersions cursor');
      await requireModel(model);
      const versions: ModelVersion[] = [];
      const listOpts =
        after === undefined
          ? { limit: limit + 1 }
          : { after: versionKey(model, after), limit: limit + 1 };
      for await (const { key, value } of metadata.list(versionsPrefix(model), listOpts)) {
        versions.push(freeze(asVersion(value, key)));
      }
      if (versions.length <= limit) return { versions };
      versions.length = limit;
      return { versions, nextCursor: String(versions[limit - 1]!.version) };
    },

    async setAlias(name, alias, version, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const checkedAlias = parseWith(aliasSchema, alias, 'alias');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const o = parseWith(setAliasSchema, opts ?? {}, 'setAlias options');
      const actor = o.actor ?? defaultActor;
      const attributes = {
        'keel.model.name': model,
        'keel.model.alias': checkedAlias,
        'keel.model.version': target,
      };
      return inSpan(telemetry, 'keel.registry.set_alias', attributes, async () => {
        const resource: AuditResource = { model, alias: checkedAlias, version: target };
        const action = RegistryActions.aliasSet;
        await guard(actor, action, resource);
        const policy = findPolicy(policies, model, checkedAlias);
        await checkAliasRoles(actor, action, resource, policy);
        const { record: targetVersion } = await readVersion(metadata, model, target);
        if (targetVersion.status === 'archived') throw archivedError(model, target, checkedAlias);
        let evidence: Digest | undefined;
        try {
          if (opts?.evidence !== undefined) {
            evidence = await checkEvidence(
              readReport,
              opts.evidence as unknown as Record<string, unknown>,
              model,
              target,
            );
          } else if (policy?.requireGate === true) {
            throw policyError(
              `alias "${checkedAlias}" requires gate evidence; evaluate the gate policy with keel.gates.evaluate(policy, evidence, { subject: { model: "${model}", version: ${target} } }) and pass the report as evidence`,
              { evidence: 'absent' },
            );
          }
          const required = policy?.requiredApprovals ?? 0;
          if (required > 0) {
            const approvers = distinctApprovers(await readApprovals(model, target, checkedAlias));
            if (approvers.length < required) {
              throw policyError(
                `alias "${checkedAlias}" requires ${required} distinct approvals of version ${target}, it has ${approvers.length}; ask approvers to call approve("${model}", ${target}, { alias: "${checkedAlias}" })`,
                { approvals: approvers.length, required },
              );
            }
          }
        } catch (error) {
          if (isKeelError(error, 'KEEL_POLICY'))
            await refuse(actor, action, resource, error as PolicyError);
          throw error;
        }
        const change = await moveAlias(
          model,
          checkedAlias,
          actor,
          async () => ({ version: target, kind: 'set' }),
          {
            ...(o.reason === undefined ? {} : { reason: o.reason }),
            ...(evidence === undefined ? {} : { evidence }),
            ...(o.expectedVersion === undefined ? {} : { expectedVersion: o.expectedVersion }),
          },
        );
        return afterAliasMove(change, action);
      });
    },

    async deleteAlias(name, alias, opts) {
      await guardedAliasMove(
        name,
        alias,
        opts,
        RegistryActions.aliasDelete,
        async (current, model, a) => {
          if (current === undefined || current.version === null) throw noAliasError(model, a);
          return { version: null, kind: 'delete' };
        },
      );
    },

    rollback(name, alias, opts) {
      return guardedAliasMove(
        name,
        alias,
        opts,
        RegistryActions.aliasRollback,
        async (current, model, a) => {
          if (current === undefined) throw noAliasError(model, a);
          const target = rollbackTarget(current.history);
          if (target === undefined) {
            throw new ConflictError(
              `[keel] [registry] alias "${a}" of "${model}" has no earlier version to roll back to: set it explicitly with setAlias`,
              { details: { model, alias: a } },
            );
          }
          const { record: targetVersion } = await readVersion(metadata, model, target);
          if (targetVersion.status === 'archived') throw archivedError(model, target, a);
          return { version: target, kind: 'rollback' };
        },
      );
    },

    async aliasHistory(name, alias) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const checkedAlias = parseWith(aliasSchema, alias, 'alias');
      const found = await readAlias(model, checkedAlias);
      if (found === undefined) {
        await requireModel(model);
        return [];
      }
      return freeze(found.doc.history);
    },

    async listAliases(name) {
      const model = parseWith(modelNameSchema, name, 'model name');
      await requireModel(model);
      const out: Record<string, number> = {};
      for await (const { key, value } of metadata.list(aliasesPrefix(model))) {
        const doc = asAliasDoc(value, key);
        if (doc.version !== null) out[doc.alias] = doc.version;
      }
      return out;
    },

    async approve(name, version, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      if (opts === undefined || opts === null) {
        throw new ValidationError(
          '[keel] invalid approve options: pass { alias } (the alias the approval is for)',
        );
      }
      const o = parseWith(approveSchema, opts, 'approve options');
      const actor = o.actor ?? defaultActor;
      const resource: AuditResource = { model, alias: o.alias, version: target };
      const action = RegistryActions.versionApprove;
      await guard(actor, action, resource);
      const policy = findPolicy(policies, model, o.alias);
      if (policy?.approverRoles !== undefined && !hasRole(actor, policy.approverRoles)) {
        await deny(
          actor,
          action,
          resource,
          `the policy of alias "${o.alias}" accepts approvals only from the roles ${policy.approverRoles.join(', ')}`,
        );
      }
      const { record: approved } = await readVersion(metadata, model, target);
      if (approved.status === 'archived') throw archivedError(model, target, o.alias);
      const key = approvalsKey(model, target, o.alias);
      for (let attempt = 0; ; attempt++) {
        const found = await metadata.get(key);
        const doc: ApprovalsDoc =
          found === undefined ? { approvals: [] } : asApprovalsDoc(found.value, key);
        if (doc.approvals.some((a) => a.actor.id === actor.id)) break;
        const approval: Approval = {
          model,
          version: target,
          alias: o.alias,
          actor,
          at: isoNow(clock),
          ...(o.comment === undefined ? {} : { comment: o.comment }),
        };
        try {
          await metadata.put(
            key,
            { approvals: [...doc.approvals, approval] } as unknown as JsonValue,
            {
              ifRevision: found?.revision ?? null,
            },
          );
          break;
        } catch (error) {
          if (!isKeelError(error, 'KEEL_CONFLICT') || attempt >= 20) throw error;
        }
      }
      await record({
        actor,
        action,
        resource,
        details: { outcome: 'ok', ...(o.comment === undefined ? {} : { comment: o.comment }) },
      });
      emit('version:approved', { model, version: target, alias: o.alias, actor: actor.id });
    },

    async approvals(name, version, alias) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const checkedAlias = parseWith(aliasSchema, alias, 'alias');
      return freeze(await readApprovals(model, target, checkedAlias));
    },

    async archiveVersion(name, version, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const o = parseWith(actorReasonSchema, opts ?? {}, 'archiveVersion options');
      const actor = o.actor ?? defaultActor;
      const resource: AuditResource = { model, version: target };
      const action = RegistryActions.versionArchive;
      await guard(actor, action, resource);
      for (let attempt = 0; ; attempt++) {
        const { record: current, revision } = await readVersion(metadata, model, target);
        if (current.status === 'archived') return freeze(current);
        const serving = Object.entries(await registry.listAliases(model))
          .filter(([, v]) => v === target)
          .map(([alias]) => alias);
        if (serving.length > 0) {
          throw new ConflictError(
            `[keel] [registry] version ${target} of "${model}" is served by the alias(es) ${serving.join(', ')}: move or delete them before archiving it`,
            { details: { model, version: target, aliases: serving } },
          );
        }
        const archived: ModelVersion = { ...current, status: 'archived' };
        try {
          await metadata.put(versionKey(model, target), archived as unknown as JsonValue, {
            ifRevision: revision,
          });
        } catch (error) {
          if (!isKeelError(error, 'KEEL_CONFLICT') || attempt >= 20) throw error;
          continue;
        }
        invalidateModel(cache, model);
        await record({
          actor,
          action,
          resource,
          details: { outcome: 'ok', ...(o.reason === undefined ? {} : { reason: o.reason }) },
        });
        emit('version:archived', { model, version: target, actor: actor.id });
        return freeze(archived);
      }
    },

    audit(opts) {
      const from = opts?.from ?? 0;
      if (typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
        throw new ValidationError(
          '[keel] invalid audit option "from": pass a non-negative integer offset',
        );
      }
      return audit.entries(from);
    },

    verifyAudit() {
      return audit.verify();
    },

    async verifyLineage(name, version) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const { record: checked } = await readVersion(metadata, model, target);
      return verifyVersionLineage(artifacts, checked, lookupRun);
    },

    async gc(opts) {
      const o = opts ?? {};
      const dryRun = o.dryRun ?? true;
      if (typeof dryRun !== 'boolean')
        throw new ValidationError('[keel] invalid gc option "dryRun": pass a boolean');
      if (o.minAgeMs !== undefined && (typeof o.minAgeMs !== 'number' || !(o.minAgeMs >= 0))) {
        throw new ValidationError(
          '[keel] invalid gc option "minAgeMs": pass a non-negative number of milliseconds',
        );
      }
      if (!dryRun && o.references === undefined) {
        throw new ValidationError(
          '[keel] gc with dryRun: false needs `references`: the digests that runs and pipelines still use (pass [] to state there are none)',
        );
      }
      const extra = await readReferences(o.references);
      if (dryRun) return runGc(metadata, artifacts, clock, { ...o, dryRun, extra });
      const actor =
        o.actor === undefined ? defaultActor : parseWith(actorSchema, o.actor, 'gc actor');
      await guard(actor, RegistryActions.registryGc, {});
      const plan = await runGc(metadata, artifacts, clock, { ...o, dryRun, extra });
      await record({
        actor,
        action: RegistryActions.registryGc,
        resource: {},
        details: { outcome: 'ok', deleted: plan.deleted.length, bytes: plan.bytes },
      });
      return plan;
    },
  };

  async function writeModel(
    model: string,
    actor: Actor,
    o: { description?: string | undefined; tags?: Record<string, string> | undefined },
  ): Promise<Model | undefined> {
    const doc: Model = {
      name: model,
      tags: o.tags ?? {},
      createdAt: isoNow(clock),
      createdBy: actor.id,
      ...(o.description === undefined ? {} : { description: o.description }),
    };
    try {
      await metadata.put(modelKey(model), doc as unknown as JsonValue, { ifRevision: null });
    } catch (error) {
      if (isKeelError(error, 'KEEL_CONFLICT')) return undefined;
      throw error;
    }
    await record({
      actor,
      action: RegistryActions.modelCreate,
      resource: { model },
      details: { outcome: 'ok' },
    });
    emit('model:created', { model, actor: actor.id });
    return freeze(doc);
  }

  async function statArtifact(given: Digest | ArtifactRef): Promise<ArtifactRef> {
    const digest = typeof given === 'string' ? given : given.digest;
    const meta = await artifacts.stat(digest);
    if (meta === undefined) {
      throw new NotFoundError(
        `[keel] [registry] artifact ${digest} is not in the artifact store: put it first (artifacts.put or run.logArtifact), then register it`,
        { details: { digest } },
      );
    }
    if (
      typeof given !== 'string' &&
      (given.size !== meta.size || given.mediaType !== meta.mediaType)
    ) {
      throw new ValidationError(
        `[keel] invalid artifact ref: ${digest} is stored with size ${meta.size} and media type ${meta.mediaType}, not ${given.size} and ${given.mediaType}; pass the ref the store returned, or just the digest`,
      );
    }
    return { digest: meta.digest, size: meta.size, mediaType: meta.mediaType };
  }

  async function readApprovals(model: string, version: number, alias: string): Promise<Approval[]> {
    const key = approvalsKey(model, version, alias);
    const found = await metadata.get(key);
    return found === undefined ? [] : asApprovalsDoc(found.value, key).approvals;
  }

  return registry;
}

function describeResource(resource: AuditResource): string {
  if (resource.model === undefined) return 'the registry';
  let out = `"${resource.model}"`;
  if (resource.version !== undefined) out += ` version ${resource.version}`;
  if (resource.alias !== undefined) out += ` (alias "${resource.alias}")`;
  return out;
}

function policyError(problem: string, details: Record<string, unknown>): PolicyError {
  return new PolicyError(`[keel] [registry] promotion refused: ${problem}`, { details });
}

function archivedError(model: string, version: number, alias: string): ConflictError {
  return new ConflictError(
    `[keel] [registry] version ${version} of "${model}" is archived and cannot be used for alias "${alias}": register a new version instead`,
    { details: { model, version, alias } },
  );
}

function noAliasError(model: string, alias: string): NotFoundError {
  return new NotFoundError(
    `[keel] [registry] model "${model}" has no alias "${alias}": list its aliases with listAliases("${model}")`,
    { details: { model, alias } },
  );
}

/**
 * @module
 * Aliases: moving them (set, delete, rollback) under their policies with compare-and-swap,
 * where a rollback goes (a replay of the history as a stack), their history, and the aliases
 * of a model.
 */
import { isoNow } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ConflictError, isKeelError, type PolicyError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { Actor } from '../core/schemas.js';
import { inSpan } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import type { AuditRecord, ChangeWrite } from './audit.js';
import { type RegistryAction, RegistryActions } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { archivedError, noAliasError, policyError } from './errors.js';
import { checkEvidence, gateRequirement } from './evidence.js';
import { checkAliasRoles, guard, refuse } from './guard.js';
import { requireModel } from './models.js';
import { readVersion } from './numbering.js';
import { distinctApprovers, findPolicy } from './policies.js';
import {
  type AliasDoc,
  aliasesPrefix,
  aliasKey,
  asAliasDoc,
  freeze,
  readAliasDoc,
  readApprovals,
} from './records.js';
import { invalidateModel } from './resolve.js';
import {
  actorReasonSchema,
  aliasSchema,
  modelNameSchema,
  setAliasSchema,
  versionNumberSchema,
} from './schemas.js';
import type { AliasChange, AliasChangeKind, AuditResource, Registry } from './types.js';

/**
 * The versions an alias went through, as a stack that rollbacks pop: `set` pushes (unless
 * the version is already on top), `delete` pushes `null`, `rollback` pops back to the
 * version it restored.
 */
export function aliasStack(history: readonly AliasChange[]): Array<number | null> {
  const stack: Array<number | null> = [];
  for (const change of history) {
    if (change.kind === 'rollback') {
      while (stack.length > 0 && stack[stack.length - 1] !== change.version) stack.pop();
      if (stack.length === 0) stack.push(change.version);
    } else if (stack[stack.length - 1] !== change.version) {
      stack.push(change.version);
    }
  }
  return stack;
}

/** The version a rollback would restore, or `undefined` when there is none before the current one. */
export function rollbackTarget(history: readonly AliasChange[]): number | undefined {
  const stack = aliasStack(history);
  stack.pop();
  while (stack.length > 0 && stack[stack.length - 1] === null) stack.pop();
  const target = stack[stack.length - 1];
  return target === null ? undefined : target;
}

/** The aliases of `model` and the versions they point to (deleted aliases left out). */
export async function currentAliases(
  ctx: RegistryContext,
  model: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const { key, value } of ctx.metadata.list(aliasesPrefix(model))) {
    const doc = asAliasDoc(value, key);
    if (doc.version !== null) out[doc.alias] = doc.version;
  }
  return out;
}

/** `setAlias`, `deleteAlias`, `rollback`, `aliasHistory` and `listAliases`. */
export function aliasMethods(
  ctx: RegistryContext,
): Pick<Registry, 'setAlias' | 'deleteAlias' | 'rollback' | 'aliasHistory' | 'listAliases'> {
  const { metadata } = ctx;

  /**
   * Moves an alias to what `decide` picks, committed with its audit entry, then announces it.
   * `decide` runs again (with a fresh read) whenever another writer got in first.
   */
  async function moveAlias(
    model: string,
    alias: string,
    actor: Actor,
    action: RegistryAction,
    decide: (
      current: AliasDoc | undefined,
    ) => Promise<{ version: number | null; kind: AliasChangeKind }>,
    extra: { reason?: string; evidence?: Digest; expectedVersion?: number | null },
  ): Promise<AliasChange> {
    const { result: change } = await ctx.audit.commit(async () => {
      const found = await readAliasDoc(metadata, model, alias);
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
        at: isoNow(ctx.clock),
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
      const write: ChangeWrite = {
        key: aliasKey(model, alias),
        value: doc as unknown as JsonValue,
        ifRevision: found?.revision ?? null,
        ...(found === undefined ? {} : { previous: found.doc as unknown as JsonValue }),
      };
      return {
        changes: [{ writes: [write], record: aliasRecord(change, action) }],
        result: change,
      };
    });
    invalidateModel(ctx.cache, model);
    ctx.emit('alias:changed', {
      model,
      alias,
      version: change.version,
      previousVersion: change.previousVersion,
      kind: change.kind,
      actor: actor.id,
    });
    return freeze(change);
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
    const actor = o.actor ?? ctx.defaultActor;
    const resource: AuditResource = { model, alias: checkedAlias };
    await guard(ctx, actor, action, resource);
    await checkAliasRoles(
      ctx,
      actor,
      action,
      resource,
      findPolicy(ctx.policies, model, checkedAlias),
    );
    return moveAlias(
      model,
      checkedAlias,
      actor,
      action,
      (current) => decide(current, model, checkedAlias),
      o.reason === undefined ? {} : { reason: o.reason },
    );
  }

  return {
    async setAlias(name, alias, version, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const checkedAlias = parseWith(aliasSchema, alias, 'alias');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const o = parseWith(setAliasSchema, opts ?? {}, 'setAlias options');
      const actor = o.actor ?? ctx.defaultActor;
      const attributes = {
        'keel.model.name': model,
        'keel.model.alias': checkedAlias,
        'keel.model.version': target,
      };
      return inSpan(ctx.telemetry, 'keel.registry.set_alias', attributes, async () => {
        const resource: AuditResource = { model, alias: checkedAlias, version: target };
        const action = RegistryActions.aliasSet;
        await guard(ctx, actor, action, resource);
        const policy = findPolicy(ctx.policies, model, checkedAlias);
        await checkAliasRoles(ctx, actor, action, resource, policy);
        const { record: targetVersion } = await readVersion(metadata, model, target);
        if (targetVersion.status === 'archived') throw archivedError(model, target, checkedAlias);
        let evidence: Digest | undefined;
        try {
          const requirement = gateRequirement(policy, ctx.gatePolicies);
          if (opts?.evidence !== undefined) {
            evidence = await checkEvidence(
              ctx.evidence,
              opts.evidence as unknown as Record<string, unknown>,
              targetVersion,
              requirement,
            );
          } else if (requirement !== undefined) {
            const which =
              requirement.policyName === undefined
                ? 'the gate policy'
                : `the gate policy "${requirement.policyName}"`;
            throw policyError(
              `alias "${checkedAlias}" requires gate evidence; evaluate ${which} with keel.gates.evaluate(policy, evidence, { subject: { model: "${model}", version: ${target} } }) and pass the report as evidence`,
              { evidence: 'absent' },
            );
          }
          const required = policy?.requiredApprovals ?? 0;
          if (required > 0) {
            const approvers = distinctApprovers(
              await readApprovals(metadata, model, target, checkedAlias),
            );
            if (approvers.length < required) {
              throw policyError(
                `alias "${checkedAlias}" requires ${required} distinct approvals of version ${target}, it has ${approvers.length}; ask approvers to call approve("${model}", ${target}, { alias: "${checkedAlias}" })`,
                { approvals: approvers.length, required },
              );
            }
          }
        } catch (error) {
          if (isKeelError(error, 'KEEL_POLICY'))
            await refuse(ctx, actor, action, resource, error as PolicyError);
          throw error;
        }
        return moveAlias(
          model,
          checkedAlias,
          actor,
          action,
          async () => {
            // Archived since the check above? The plan re-reads it under the commit.
            const { record: current } = await readVersion(metadata, model, target);
            if (current.status === 'archived') throw archivedError(model, target, checkedAlias);
            return { version: target, kind: 'set' };
          },
          {
            ...(o.reason === undefined ? {} : { reason: o.reason }),
            ...(evidence === undefined ? {} : { evidence }),
            ...(o.expectedVersion === undefined ? {} : { expectedVersion: o.expectedVersion }),
          },
        );
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
      const found = await readAliasDoc(metadata, model, checkedAlias);
      if (found === undefined) {
        await requireModel(ctx, model);
        return [];
      }
      return freeze(found.doc.history);
    },

    async listAliases(name) {
      const model = parseWith(modelNameSchema, name, 'model name');
      await requireModel(ctx, model);
      return currentAliases(ctx, model);
    },
  };
}

/** The audit record of an alias move. */
function aliasRecord(change: AliasChange, action: RegistryAction): AuditRecord {
  return {
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
  };
}

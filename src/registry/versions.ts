/**
 * @module
 * Model versions: registering the next one (after checking its artifact and run), reading
 * one by number, alias or `latest`, listing them a page at a time, and archiving one.
 */
import type { ArtifactRef } from '../artifacts/types.js';
import { isoNow } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import { inSpan } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import { currentAliases } from './aliases.js';
import type { Change } from './audit.js';
import { RegistryActions } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { guard } from './guard.js';
import { modelCreation, requireModel } from './models.js';
import { planVersion, readVersion } from './numbering.js';
import { asVersion, freeze, modelKey, versionKey, versionsPrefix } from './records.js';
import { invalidateModel } from './resolve.js';
import {
  actorReasonSchema,
  modelNameSchema,
  pageSchema,
  readableAliasSchema,
  registerVersionSchema,
  versionNumberSchema,
} from './schemas.js';
import type { ModelSignature, ModelVersion, Registry } from './types.js';

/** `registerVersion`, `getVersion`, `listVersions` and `archiveVersion`. */
export function versionMethods(
  ctx: RegistryContext,
  resolve: Registry['resolve'],
): Pick<Registry, 'registerVersion' | 'getVersion' | 'listVersions' | 'archiveVersion'> {
  const { metadata } = ctx;

  async function statArtifact(given: Digest | ArtifactRef): Promise<ArtifactRef> {
    const digest = typeof given === 'string' ? given : given.digest;
    const meta = await ctx.artifacts.stat(digest);
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

  return {
    async registerVersion(name, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      if (opts === undefined || opts === null) {
        throw new ValidationError(
          '[keel] invalid registerVersion options: pass { artifact } at least',
        );
      }
      const o = parseWith(registerVersionSchema, opts, 'registerVersion options');
      const actor = o.actor ?? ctx.defaultActor;
      return inSpan(
        ctx.telemetry,
        'keel.registry.register_version',
        { 'keel.model.name': model },
        async (span) => {
          const exists = (await metadata.get(modelKey(model))) !== undefined;
          if (!exists) await guard(ctx, actor, RegistryActions.modelCreate, { model });
          await guard(ctx, actor, RegistryActions.versionRegister, { model });
          const artifact = await statArtifact(o.artifact);
          if (
            o.runId !== undefined &&
            ctx.runExists !== undefined &&
            !(await ctx.runExists(o.runId))
          ) {
            throw new NotFoundError(
              `[keel] [registry] no run "${o.runId}" is known to the tracker: pass the id of a tracked run (run.id of keel.tracker.startRun), or omit runId`,
              {
                details: { runId: o.runId },
              },
            );
          }
          const createdAt = isoNow(ctx.clock);
          const { result } = await ctx.audit.commit(async () => {
            const changes: Change[] = [];
            // Created here unless another writer created it since the authorizer was asked.
            const creating = (await metadata.get(modelKey(model))) === undefined;
            if (creating) changes.push(modelCreation(ctx, model, actor, {}).change);
            const { record, writes } = await planVersion(metadata, model, (version) => ({
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
            changes.push({
              writes,
              record: {
                actor,
                action: RegistryActions.versionRegister,
                resource: { model, version: record.version },
                details: {
                  outcome: 'ok',
                  artifact: artifact.digest,
                  ...(o.runId === undefined ? {} : { runId: o.runId }),
                },
              },
            });
            return { changes, result: { created: record, creating } };
          });
          const { created } = result;
          span.setAttribute('keel.model.version', created.version);
          invalidateModel(ctx.cache, model);
          if (result.creating) ctx.emit('model:created', { model, actor: actor.id });
          ctx.emit('model:registered', {
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
      return resolve(
        model,
        parseWith(readableAliasSchema, ref, 'version reference (number, alias or "latest")'),
      );
    },

    async listVersions(name, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const { cursor, limit = 100 } = parseWith(pageSchema, opts ?? {}, 'listVersions options');
      let after: number | undefined;
      if (cursor !== undefined)
        after = parseWith(versionNumberSchema, Number(cursor), 'listVersions cursor');
      await requireModel(ctx, model);
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

    async archiveVersion(name, version, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const o = parseWith(actorReasonSchema, opts ?? {}, 'archiveVersion options');
      const actor = o.actor ?? ctx.defaultActor;
      const resource = { model, version: target };
      const action = RegistryActions.versionArchive;
      await guard(ctx, actor, action, resource);
      const { result, entries } = await ctx.audit.commit(async () => {
        const { record: current, revision } = await readVersion(metadata, model, target);
        if (current.status === 'archived') return { changes: [], result: current };
        await requireModel(ctx, model);
        const serving = Object.entries(await currentAliases(ctx, model))
          .filter(([, v]) => v === target)
          .map(([alias]) => alias);
        if (serving.length > 0) {
          throw new ConflictError(
            `[keel] [registry] version ${target} of "${model}" is served by the alias(es) ${serving.join(', ')}: move or delete them before archiving it`,
            { details: { model, version: target, aliases: serving } },
          );
        }
        const archived: ModelVersion = { ...current, status: 'archived' };
        const write = {
          key: versionKey(model, target),
          value: archived as unknown as JsonValue,
          ifRevision: revision,
          previous: current as unknown as JsonValue,
        };
        const details = { outcome: 'ok', ...(o.reason === undefined ? {} : { reason: o.reason }) };
        return {
          changes: [{ writes: [write], record: { actor, action, resource, details } }],
          result: archived,
        };
      });
      if (entries.length > 0) {
        invalidateModel(ctx.cache, model);
        ctx.emit('version:archived', { model, version: target, actor: actor.id });
      }
      return freeze(result);
    },
  };
}

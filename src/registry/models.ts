/**
 * @module
 * Registered models: creating one (explicitly, or on a first registration), reading one,
 * and listing them in name order a page at a time.
 */
import { isoNow } from '../core/clock.js';
import { ConflictError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { Actor } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import type { Change } from './audit.js';
import { RegistryActions } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { noModelError } from './errors.js';
import { guard } from './guard.js';
import { asModel, freeze, MODELS_PREFIX, modelKey } from './records.js';
import { createModelSchema, modelNameSchema, pageSchema } from './schemas.js';
import type { Model, Registry } from './types.js';

/** `createModel`, `getModel` and `listModels`. */
export function modelMethods(
  ctx: RegistryContext,
): Pick<Registry, 'createModel' | 'getModel' | 'listModels'> {
  return {
    async createModel(name, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const o = parseWith(createModelSchema, opts ?? {}, 'createModel options');
      const actor = o.actor ?? ctx.defaultActor;
      await guard(ctx, actor, RegistryActions.modelCreate, { model });
      const { result: doc } = await ctx.audit.commit(async () => {
        if ((await ctx.metadata.get(modelKey(model))) !== undefined) {
          throw new ConflictError(
            `[keel] [registry] model "${model}" already exists: use getModel("${model}")`,
            { details: { model } },
          );
        }
        const creation = modelCreation(ctx, model, actor, o);
        return { changes: [creation.change], result: creation.doc };
      });
      ctx.emit('model:created', { model, actor: actor.id });
      return freeze(doc);
    },

    async getModel(name) {
      const model = parseWith(modelNameSchema, name, 'model name');
      return freeze(await requireModel(ctx, model));
    },

    async listModels(opts) {
      const { cursor, limit = 100 } = parseWith(pageSchema, opts ?? {}, 'listModels options');
      if (cursor !== undefined) parseWith(modelNameSchema, cursor, 'listModels cursor');
      const models: Model[] = [];
      const listOpts =
        cursor === undefined ? { limit: limit + 1 } : { after: modelKey(cursor), limit: limit + 1 };
      for await (const { key, value } of ctx.metadata.list(MODELS_PREFIX, listOpts)) {
        models.push(freeze(asModel(value, key)));
      }
      if (models.length <= limit) return { models };
      models.length = limit;
      return { models, nextCursor: models[limit - 1]!.name };
    },
  };
}

/** The model document; `NotFoundError` when the model does not exist. */
export async function requireModel(ctx: RegistryContext, model: string): Promise<Model> {
  const found = await ctx.metadata.get(modelKey(model));
  if (found === undefined) throw noModelError(model);
  return asModel(found.value, modelKey(model));
}

/** The change that creates a model document (exclusively), with its audit record. */
export function modelCreation(
  ctx: RegistryContext,
  model: string,
  actor: Actor,
  o: { description?: string | undefined; tags?: Record<string, string> | undefined },
): { change: Change; doc: Model } {
  const doc: Model = {
    name: model,
    tags: o.tags ?? {},
    createdAt: isoNow(ctx.clock),
    createdBy: actor.id,
    ...(o.description === undefined ? {} : { description: o.description }),
  };
  return {
    doc,
    change: {
      writes: [{ key: modelKey(model), value: doc as unknown as JsonValue, ifRevision: null }],
      record: {
        actor,
        action: RegistryActions.modelCreate,
        resource: { model },
        details: { outcome: 'ok' },
      },
    },
  };
}

/**
 * @module
 * The serving hot path: `resolve` (an alias or `latest` to a version) behind a cache shared
 * by every registry over one MetadataStore, and one read in flight per alias however many
 * callers wait for it. On a store shared across processes the cache is invalidated by the
 * store's change notifications when it has them (`capabilities.watch`), and otherwise trusted
 * for a short time only.
 */
import { NotFoundError } from '../core/errors.js';
import { parseWith } from '../core/validate.js';
import type { MetadataStore } from '../metadata/types.js';
import type { RegistryContext } from './context.js';
import { requireModel } from './models.js';
import { latestReady, readVersion } from './numbering.js';
import { freeze, readAliasDoc } from './records.js';
import { LATEST, modelNameSchema, readableAliasSchema } from './schemas.js';
import type { ModelVersion } from './types.js';

/** One cached resolution. */
interface CacheEntry {
  value: ModelVersion;
  /** `performance.now()` when it was read from the store. */
  at: number;
}

/**
 * The resolve cache of one MetadataStore. Every registry over the same store object shares
 * it, so a write through one registry is seen at once by the others in this process;
 * `generation` lets a read that raced with a write refuse to cache its stale result.
 */
export interface ResolveCache {
  entries: Map<string, CacheEntry>;
  generation: number;
}

const caches = new WeakMap<MetadataStore, ResolveCache>();

/**
 * The cache shared by registries over `metadata`. When the store can tell about changes, the
 * cache subscribes once to the registry's alias and version documents and drops a model's
 * entries as soon as one of them changes, whichever process wrote it.
 */
export function cacheFor(metadata: MetadataStore): ResolveCache {
  let cache = caches.get(metadata);
  if (cache === undefined) {
    const created: ResolveCache = { entries: new Map(), generation: 0 };
    cache = created;
    caches.set(metadata, created);
    if (watches(metadata)) {
      try {
        metadata.watch!(REGISTRY_PREFIX, ({ key }) => {
          // A change named by the watched prefix itself means "anything may have changed"
          // (e.g. the store reconnected and may have missed notifications): drop everything.
          if (key === REGISTRY_PREFIX) {
            created.generation++;
            created.entries.clear();
            return;
          }
          const model = changedModel(key);
          if (model !== undefined) invalidateModel(created, model);
        });
      } catch {
        // Without notifications the cache falls back to its time bound.
      }
    }
  }
  return cache;
}

/**
 * How long a cached resolution is trusted by default (ms): until this process writes on a
 * store no other process shares; on a shared store 250 ms, or 10 s when the store notifies
 * changes (notifications are best effort: the bound only caps a lost one).
 */
export function defaultResolveTtl(metadata: MetadataStore): number {
  if (metadata.capabilities?.sharedAcrossProcesses !== true) return Infinity;
  return watches(metadata) ? 10_000 : 250;
}

function watches(metadata: MetadataStore): boolean {
  return metadata.capabilities?.watch === true && typeof metadata.watch === 'function';
}

const REGISTRY_PREFIX = 'registry/';

/** The model whose resolutions a change of `key` may affect (an alias or a version), if any. */
function changedModel(key: string): string | undefined {
  const [, kind, model] = key.split('/');
  return (kind === 'aliases' || kind === 'versions') && model ? model : undefined;
}

/** The cache key of a model and alias (names cannot hold control characters). */
export function cacheKey(model: string, alias: string): string {
  return `${model}\u0000${alias}`;
}

/** Drops every cached alias of `model` (after a write that may change what they resolve to). */
export function invalidateModel(cache: ResolveCache, model: string): void {
  cache.generation++;
  const prefix = `${model}\u0000`;
  for (const key of cache.entries.keys()) if (key.startsWith(prefix)) cache.entries.delete(key);
}

/** `resolve`: cached reads of what an alias (or `latest`) points to. */
export function resolveMethod(
  ctx: RegistryContext,
): (name: string, alias: string) => Promise<ModelVersion> {
  const { cache } = ctx;
  const inflight = new Map<string, Promise<ModelVersion>>();

  function resolveFresh(model: string, alias: string, key: string): Promise<ModelVersion> {
    const pending = inflight.get(key);
    if (pending !== undefined) return pending;
    const generation = cache.generation;
    const run = readAliasTarget(ctx, model, alias)
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

  return async (name, alias) => {
    // Only strings reach the cache: every key in it was validated when it was read, so a hit
    // needs no schema (the hot path), and nothing else is ever turned into a key.
    if (typeof name !== 'string' || typeof alias !== 'string') {
      parseWith(modelNameSchema, name, 'model name');
      parseWith(readableAliasSchema, alias, 'alias');
    }
    const key = cacheKey(name, alias);
    const hit = cache.entries.get(key);
    if (hit !== undefined && performance.now() - hit.at < ctx.ttl) return hit.value;
    const model = parseWith(modelNameSchema, name, 'model name');
    parseWith(readableAliasSchema, alias, 'alias');
    return resolveFresh(model, alias, key);
  };
}

async function readAliasTarget(
  ctx: RegistryContext,
  model: string,
  alias: string,
): Promise<ModelVersion> {
  if (alias === LATEST) {
    const latest = await latestReady(ctx.metadata, model);
    if (latest === undefined) {
      await requireModel(ctx, model);
      throw new NotFoundError(
        `[keel] [registry] model "${model}" has no ready version, so "latest" resolves to nothing: register a version first`,
        { details: { model, alias } },
      );
    }
    return latest;
  }
  const found = await readAliasDoc(ctx.metadata, model, alias);
  if (found === undefined || found.doc.version === null) {
    throw new NotFoundError(
      `[keel] [registry] model "${model}" has no alias "${alias}": set it with setAlias("${model}", "${alias}", version)`,
      { details: { model, alias } },
    );
  }
  return (await readVersion(ctx.metadata, model, found.doc.version)).record;
}

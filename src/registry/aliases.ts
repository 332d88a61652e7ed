/**
 * @module
 * Alias mechanics: where a rollback goes (a replay of the history as a stack), and the
 * resolve cache shared by every registry over one MetadataStore, with bounded staleness
 * for stores shared across processes.
 */
import type { MetadataStore } from '../metadata/types.js';
import type { AliasChange, ModelVersion } from './types.js';

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

/** The cache shared by registries over `metadata`. */
export function cacheFor(metadata: MetadataStore): ResolveCache {
  let cache = caches.get(metadata);
  if (cache === undefined) {
    cache = { entries: new Map(), generation: 0 };
    caches.set(metadata, cache);
  }
  return cache;
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

/**
 * @module
 * The pure part of step caching: deterministic value fingerprints, the cache key, the
 * explanation of what changed between two keys, and the artifact references an output holds.
 */
import { canonicalJson } from '../core/canonical-json.js';
import { type Digest, digestOfJson, isDigest, sha256 } from '../core/digest.js';
import type { CacheKeyParts } from './types.js';

/** A value's canonical JSON and digest, or why it has none. */
export type Fingerprint =
  | { ok: true; digest: Digest; json: string | undefined }
  | { ok: false; reason: string };

/**
 * Fingerprints a value: its canonical JSON and the SHA-256 of it. `undefined` (a step that
 * returns nothing) gets its own digest and no JSON. Values that cannot be hashed
 * deterministically (functions, symbols, bigints, class instances without `toJSON`,
 * NaN, cycles) get a reason instead: they are never cached, so they can never hit wrongly.
 */
export function fingerprint(value: unknown): Fingerprint {
  if (value === undefined) return { ok: true, digest: UNDEFINED_DIGEST, json: undefined };
  try {
    const json = canonicalJson(value);
    return { ok: true, digest: sha256(json), json };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The digest standing for `undefined`: not the digest of any JSON document keel stores. */
export const UNDEFINED_DIGEST: Digest = digestOfJson({ 'keel:undefined': true });

/** The cache key of a step: the digest of the canonical JSON of its parts. */
export function cacheKeyOf(parts: CacheKeyParts): Digest {
  return digestOfJson(parts);
}

/**
 * The key parts that differ between two runs of a step, as paths: `pipeline`, `step`,
 * `version`, `inputs.<name>` (changed, added or removed). Sorted; empty when equal.
 */
export function diffKeyParts(previous: CacheKeyParts, next: CacheKeyParts): string[] {
  const changed: string[] = [];
  for (const part of ['pipeline', 'step', 'version'] as const) {
    if (previous[part] !== next[part]) changed.push(part);
  }
  const names = new Set([...Object.keys(previous.inputs), ...Object.keys(next.inputs)]);
  for (const name of [...names].sort()) {
    if (previous.inputs[name] !== next.inputs[name]) changed.push(`inputs.${name}`);
  }
  return changed;
}

/**
 * The fallback version of a step: a hash of its function's source text. It changes when the
 * function's own text changes, but not when something it calls or closes over changes.
 */
export function sourceVersion(fn: (...args: never[]) => unknown): string {
  return `src:${sha256(Function.prototype.toString.call(fn)).slice(7, 23)}`;
}

/**
 * The digests of the artifact references (`{ digest, size, mediaType }`) found anywhere in a
 * JSON value, deduplicated, in the order met.
 */
export function findArtifactRefs(value: unknown): Digest[] {
  const found = new Set<Digest>();
  visit(value, found, 0);
  return [...found];
}

function visit(value: unknown, found: Set<Digest>, depth: number): void {
  if (typeof value !== 'object' || value === null || depth > 64) return;
  if (Array.isArray(value)) {
    for (const item of value) visit(item, found, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  if (
    isDigest(record.digest) &&
    typeof record.size === 'number' &&
    typeof record.mediaType === 'string'
  ) {
    found.add(record.digest);
  }
  for (const item of Object.values(record)) visit(item, found, depth + 1);
}

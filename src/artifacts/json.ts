/**
 * @module
 * Canonical JSON documents in an ArtifactStore: equal values get equal digests.
 */

import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { assertDigest, type Digest } from '../core/digest.js';
import { ValidationError } from '../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../core/json.js';
import { type StandardSchemaV1, validateStandard } from '../core/standard-schema.js';
import { parseWith } from '../core/validate.js';
import type { ArtifactMeta, ArtifactStore } from './types.js';

/** The media type of canonical JSON artifacts. */
export const JSON_MEDIA_TYPE = 'application/json';

/**
 * Stores `value` as canonical JSON (sorted keys, deterministic numbers).
 *
 * @throws {ValidationError} when `value` holds what JSON cannot carry exactly (NaN,
 *   infinities, bigint, functions, cycles, …; see {@link canonicalJson}); nothing is stored.
 *
 * @example
 * ```ts
 * const { digest } = await putJson(keel.artifacts, { accuracy: 0.93 });
 * ```
 */
export function putJson(
  store: ArtifactStore,
  value: unknown,
  opts: { mediaType?: string; annotations?: Record<string, string> } = {},
): Promise<ArtifactMeta> {
  parseWith(
    z
      .object({
        mediaType: z.string().optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    opts,
    'putJson options',
  );
  return store.put(canonicalJson(value), { mediaType: JSON_MEDIA_TYPE, ...opts });
}

/**
 * Reads a JSON artifact (verified against its digest), optionally validated with a
 * synchronous Standard Schema (zod 4 works): `ValidationError` when it does not match.
 *
 * @throws {NotFoundError} when nothing is stored at `digest`.
 * @throws {IntegrityError} when the stored bytes do not match `digest`.
 * @throws {ValidationError} when the bytes are not JSON, or do not match `schema`.
 */
export async function getJson(store: ArtifactStore, digest: Digest): Promise<JsonValue>;
export async function getJson<T>(
  store: ArtifactStore,
  digest: Digest,
  schema: StandardSchemaV1<unknown, T>,
): Promise<T>;
export async function getJson<T>(
  store: ArtifactStore,
  digest: Digest,
  schema?: StandardSchemaV1<unknown, T>,
): Promise<JsonValue | T> {
  assertDigest(digest);
  const bytes = await store.get(digest);
  let value: JsonValue;
  try {
    value = parseJsonSafe(decoder.decode(bytes));
  } catch (error) {
    throw new ValidationError(`[keel] artifact ${digest} is not JSON: read it with get() instead`, {
      cause: error,
    });
  }
  if (!schema) return value;
  return validateStandard(schema, value, `artifact ${digest}`);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

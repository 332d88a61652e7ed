/**
 * @module
 * The rules every ArtifactStore adapter applies to its inputs, written once so that
 * every backend refuses exactly the same inputs (exported to custom adapters by `keel/adapter`).
 */

import { z } from 'zod';
import { assertDigest, type Digest } from '../core/digest.js';
import { IntegrityError, NotFoundError } from '../core/errors.js';
import { parseWith } from '../core/validate.js';
import { listLimit } from '../metadata/keys.js';
import type { ArtifactMeta, ListArtifactsOptions, PutOptions } from './types.js';

/** The media type of a blob stored without one. */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';
/** Longest accepted `mediaType`, in characters. */
export const MAX_MEDIA_TYPE_LENGTH = 255;
/**
 * What a `mediaType` must look like: `type/subtype` of letters, digits and `_ . + -`,
 * optionally followed by `;` and parameters (`text/plain; charset=utf-8`).
 */
export const MEDIA_TYPE_PATTERN: RegExp = /^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/;
/** Most annotations one blob may carry. */
export const MAX_ANNOTATIONS = 64;
/** Longest annotation key, in characters. */
export const MAX_ANNOTATION_KEY_LENGTH = 250;
/** Longest annotation value, in characters. */
export const MAX_ANNOTATION_VALUE_LENGTH = 4096;

const putOptionsSchema = z
  .object({
    mediaType: z
      .string()
      .min(1)
      .max(MAX_MEDIA_TYPE_LENGTH)
      .regex(MEDIA_TYPE_PATTERN, 'must look like "type/subtype"')
      .optional(),
    annotations: z
      .record(
        z
          .string()
          .min(1)
          .max(MAX_ANNOTATION_KEY_LENGTH)
          .refine((k) => k !== '__proto__', 'the key "__proto__" is not allowed'),
        z.string().max(MAX_ANNOTATION_VALUE_LENGTH),
      )
      .refine(
        (a) => Object.keys(a).length <= MAX_ANNOTATIONS,
        `at most ${MAX_ANNOTATIONS} annotations`,
      )
      .optional(),
    expectedDigest: z.string().optional(),
  })
  .strict();

/** Normalized put options: defaults filled, everything validated. */
export interface CheckedPutOptions {
  /** The media type to record: the given one, or {@link DEFAULT_MEDIA_TYPE}. */
  mediaType: string;
  /** A detached copy of the given annotations (`{}` when none). */
  annotations: Record<string, string>;
  /** The digest the bytes must hash to, when the caller gave one. */
  expectedDigest?: Digest;
}

/**
 * Validates `put` options and fills the defaults. Call it before reading the body, so that
 * bad options store nothing.
 *
 * @throws {ValidationError} when an option is unknown, `mediaType` is empty, longer than
 * {@link MAX_MEDIA_TYPE_LENGTH} or does not match {@link MEDIA_TYPE_PATTERN}, `annotations`
 * is not a record of strings (at most {@link MAX_ANNOTATIONS}; keys of 1 to
 * {@link MAX_ANNOTATION_KEY_LENGTH} characters, never `__proto__`; values up to
 * {@link MAX_ANNOTATION_VALUE_LENGTH} characters), or `expectedDigest` is not a well-formed digest.
 */
export function checkPutOptions(opts: PutOptions | undefined): CheckedPutOptions {
  const parsed = parseWith(putOptionsSchema, opts ?? {}, 'put options');
  if (parsed.expectedDigest !== undefined) assertDigest(parsed.expectedDigest, 'expectedDigest');
  const checked: CheckedPutOptions = {
    mediaType: parsed.mediaType ?? DEFAULT_MEDIA_TYPE,
    annotations: { ...(parsed.annotations ?? {}) },
  };
  if (parsed.expectedDigest !== undefined) checked.expectedDigest = parsed.expectedDigest as Digest;
  return checked;
}

/**
 * Refuses bytes that hash to `actual` when the caller expected another digest. Call it once
 * the body is hashed and before the blob becomes visible.
 *
 * @param adapter - the adapter's name, shown in the message (`'memory'`, `'s3'`).
 * @throws {IntegrityError} when `expected` is given and differs from `actual`; nothing may
 * be stored then.
 */
export function checkExpectedDigest(
  adapter: string,
  actual: Digest,
  expected: Digest | undefined,
): void {
  if (expected === undefined || expected === actual) return;
  throw new IntegrityError(
    `[keel] [${adapter}] the body hashes to ${actual}, not the expected ${expected}; nothing was stored`,
    { details: { expected, actual } },
  );
}

/**
 * The error `get` and `stream` throw for a well-formed digest the store does not hold.
 *
 * Never throws: it returns the error for the caller to throw.
 */
export function artifactNotFound(adapter: string, digest: Digest): NotFoundError {
  return new NotFoundError(
    `[keel] [${adapter}] no artifact ${digest}: put it first, or check the digest`,
    { details: { digest } },
  );
}

/**
 * Validates the options of `ArtifactStore.list`: returns the limit to apply (Infinity when
 * none) and the digest to start strictly after.
 *
 * @throws {ValidationError} when `limit` is not an integer from 1 to `MAX_LIST_LIMIT`, or
 * `after` is not a well-formed digest.
 */
export function checkArtifactListOptions(opts: ListArtifactsOptions | undefined): {
  /** How many blobs to list at most (Infinity when no limit was given). */
  limit: number;
  /** List the blobs strictly after this digest. */
  after?: Digest;
} {
  const limit = listLimit(opts);
  const after = opts?.after;
  if (after === undefined) return { limit };
  assertDigest(after, 'list option "after"');
  return { limit, after };
}

/**
 * A detached copy of blob metadata (its annotations too), to hand out of a store.
 *
 * Never throws for metadata a store produced.
 */
export function copyArtifactMeta(meta: ArtifactMeta): ArtifactMeta {
  return { ...meta, annotations: { ...meta.annotations } };
}

/**
 * @module
 * The metadata sidecar every persistent ArtifactStore keeps beside a blob (a JSON file on
 * disk, an object in a bucket): its encoding, its tolerant parsing, and the check a `put`
 * makes before it trusts a blob it already holds.
 */
import { z } from 'zod';
import type { Digest } from '../core/digest.js';
import { IntegrityError } from '../core/errors.js';
import { parseJsonSafe } from '../core/json.js';
import type { ArtifactMeta } from './types.js';

/** The sidecar's text for `meta` (format version 1). */
export function encodeSidecar(meta: ArtifactMeta): string {
  return JSON.stringify({ v: 1, ...meta });
}

/** Parses a sidecar; `undefined` when it is unreadable or describes another digest. */
export function decodeSidecar(text: string, digest: Digest): ArtifactMeta | undefined {
  const result = sidecarSchema.safeParse(safeParse(text));
  if (!result.success || result.data.digest !== digest) return undefined;
  const { size, mediaType, createdAt, annotations } = result.data;
  return { digest, size, mediaType, createdAt, annotations: { ...annotations } };
}

/** The error for a sidecar that is missing or unreadable while its blob is present. */
export function damagedSidecar(adapter: string, digest: Digest, location: string): IntegrityError {
  return new IntegrityError(
    `[keel] [${adapter}] the metadata sidecar ${location} of ${digest} is missing or unreadable: put the same bytes again to rewrite it, or delete the artifact`,
    { details: { digest, location } },
  );
}

/** What a `put` finds when the digest may already be stored. */
export interface StoredState {
  /** Size of the stored blob, `undefined` when there is none. */
  blobSize: number | undefined;
  /** The stored sidecar, parsed; `undefined` when absent or unreadable. */
  sidecar: ArtifactMeta | undefined;
}

/** What a `put` must write; when it writes nothing, `keep` is the artifact as stored. */
export interface PutPlan {
  /** The sidecar that stays valid (the first put's metadata), if any. */
  keep: ArtifactMeta | undefined;
  /** Whether to (re)write the blob: it is absent or does not verify. */
  writeBlob: boolean;
}

/**
 * Decides what a `put` of `size` bytes hashing to `digest` writes over what is stored. A
 * stored blob is kept only when it verifies: its size always, its hash (`hashStored`) when
 * `verify` is `'hash'` or when no sound sidecar vouches for it. A sidecar without its blob
 * describes an absent artifact, so the new put's metadata stands then.
 */
export async function planPut(
  stored: StoredState,
  size: number,
  digest: Digest,
  verify: 'size' | 'hash',
  hashStored: () => Promise<Digest | undefined>,
): Promise<PutPlan> {
  const keep =
    stored.blobSize !== undefined && stored.sidecar?.size === size ? stored.sidecar : undefined;
  let blobGood = stored.blobSize === size;
  if (blobGood && (keep === undefined || verify === 'hash')) {
    blobGood = (await hashStored()) === digest;
  }
  return { keep, writeBlob: !blobGood };
}

function safeParse(text: string): unknown {
  try {
    return parseJsonSafe(text);
  } catch {
    return undefined;
  }
}

const sidecarSchema = z.object({
  v: z.literal(1),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  mediaType: z.string(),
  createdAt: z.string(),
  annotations: z.record(z.string(), z.string()),
});

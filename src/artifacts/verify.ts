/**
 * @module
 * Verification of bytes read back from a store against their digest, shared by every
 * ArtifactStore adapter.
 */
import { createHasher, type Digest, sha256 } from '../core/digest.js';
import { IntegrityError } from '../core/errors.js';

/**
 * Returns `bytes` when they hash to `digest`: what `get` does before handing bytes out.
 *
 * @param where - the adapter and place, shown in the message (`'[memory] get'`).
 * @throws {IntegrityError} when they do not (the stored blob is corrupt or was tampered with).
 */
export function verifyBytes(digest: Digest, bytes: Uint8Array, where: string): Uint8Array {
  const actual = sha256(bytes);
  if (actual !== digest) throw integrityError(digest, actual, where);
  return bytes;
}

/**
 * Passes chunks through while hashing them: what `stream` does. The caller has seen every
 * chunk by the time a mismatch is known, so it must not act on them before the end.
 *
 * @throws {IntegrityError} at the end of the stream when the chunks do not hash to `digest`.
 */
export async function* verifyChunks(
  digest: Digest,
  chunks: AsyncIterable<Uint8Array>,
  where: string,
): AsyncGenerator<Uint8Array> {
  const hasher = createHasher();
  for await (const chunk of chunks) {
    hasher.update(chunk);
    yield chunk;
  }
  const actual = hasher.digest();
  if (actual !== digest) throw integrityError(digest, actual, where);
}

/**
 * The error for stored bytes that hash to `actual` instead of their address `expected`.
 *
 * Never throws: it returns the error for the caller to throw.
 */
export function integrityError(expected: Digest, actual: Digest, where: string): IntegrityError {
  return new IntegrityError(
    `[keel] ${where}: the stored bytes of ${expected} hash to ${actual}; the blob is corrupt or was tampered with, restore it from a backup or delete it and put it again`,
    { details: { expected, actual } },
  );
}

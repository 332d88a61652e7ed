/**
 * @module
 * In-memory ArtifactStore: for tests and short-lived processes. Same semantics as every
 * other adapter (dedupe, verification on read, validation).
 */
import { z } from 'zod';
import {
  artifactNotFound,
  checkArtifactListOptions,
  checkExpectedDigest,
  checkPutOptions,
  copyArtifactMeta,
} from '../../artifacts/checks.js';
import type { ArtifactMeta, ArtifactStore } from '../../artifacts/types.js';
import { verifyBytes } from '../../artifacts/verify.js';
import { bytesOf } from '../../core/body.js';
import { type Clock, isoNow, systemClock } from '../../core/clock.js';
import { assertDigest, type Digest, sha256 } from '../../core/digest.js';
import { clockOption } from '../../core/option-schemas.js';
import { parseWith } from '../../core/validate.js';
import { compareKeys } from '../../metadata/keys.js';

/** Options of {@link createMemoryArtifactStore}. */
export interface MemoryArtifactStoreOptions {
  /** Source of `createdAt` timestamps. */
  clock?: Clock;
}

interface Entry {
  meta: ArtifactMeta;
  bytes: Uint8Array;
}

/**
 * Creates an ArtifactStore that keeps blobs in memory.
 *
 * @example
 * ```ts
 * const store = createMemoryArtifactStore();
 * const { digest } = await store.put('hello');
 * ```
 *
 * @throws {ValidationError} when `opts.clock` is not a clock (`{ now(): number }`).
 */
export function createMemoryArtifactStore(opts: MemoryArtifactStoreOptions = {}): ArtifactStore {
  parseWith(
    z.looseObject({ clock: clockOption.optional() }),
    opts,
    'createMemoryArtifactStore options',
  );
  const clock = opts.clock ?? systemClock;
  const blobs = new Map<Digest, Entry>();

  const find = (digest: Digest): Entry => {
    assertDigest(digest);
    const entry = blobs.get(digest);
    if (!entry) throw artifactNotFound('memory', digest);
    return entry;
  };

  return {
    async put(body, putOpts) {
      const checked = checkPutOptions(putOpts);
      const bytes = (await bytesOf(body)).slice();
      const digest = sha256(bytes);
      checkExpectedDigest('memory', digest, checked.expectedDigest);
      const existing = blobs.get(digest);
      if (existing) return copyArtifactMeta(existing.meta);
      const meta: ArtifactMeta = {
        digest,
        size: bytes.length,
        mediaType: checked.mediaType,
        createdAt: isoNow(clock),
        annotations: checked.annotations,
      };
      blobs.set(digest, { meta, bytes });
      return copyArtifactMeta(meta);
    },
    async get(digest) {
      const entry = find(digest);
      return verifyBytes(digest, entry.bytes, '[memory] get').slice();
    },
    async *stream(digest) {
      const entry = find(digest);
      yield verifyBytes(digest, entry.bytes, '[memory] stream').slice();
    },
    async stat(digest) {
      assertDigest(digest);
      const entry = blobs.get(digest);
      return entry ? copyArtifactMeta(entry.meta) : undefined;
    },
    async has(digest) {
      assertDigest(digest);
      return blobs.has(digest);
    },
    async *list(listOpts) {
      const { limit, after } = checkArtifactListOptions(listOpts);
      const digests = [...blobs.keys()].sort(compareKeys);
      let count = 0;
      for (const digest of digests) {
        if (after !== undefined && compareKeys(digest, after) <= 0) continue;
        if (count++ >= limit) return;
        const entry = blobs.get(digest);
        if (entry) yield copyArtifactMeta(entry.meta);
      }
    },
    async delete(digest) {
      assertDigest(digest);
      return blobs.delete(digest);
    },
  };
}

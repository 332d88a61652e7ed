/**
 * @module
 * Filesystem ArtifactStore: blobs streamed to a temp file while hashed, fsynced, and
 * published by rename under `sha256/<2 hex>/<64 hex>`, each beside a metadata sidecar
 * (`<64 hex>.json`) that is written first, so a crash leaves no artifact or a whole one.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import {
  artifactNotFound,
  checkArtifactListOptions,
  checkExpectedDigest,
  checkPutOptions,
} from '../../artifacts/checks.js';
import { type OnArtifactDamage, reportDamage } from '../../artifacts/damage.js';
import { damagedSidecar, decodeSidecar, encodeSidecar, planPut } from '../../artifacts/sidecar.js';
import type { ArtifactMeta, ArtifactStore } from '../../artifacts/types.js';
import { verifyBytes, verifyChunks } from '../../artifacts/verify.js';
import { chunksOf } from '../../core/body.js';
import { type Clock, isoNow, systemClock } from '../../core/clock.js';
import { assertDigest, createHasher, type Digest } from '../../core/digest.js';
import { isKeelError, type NotFoundError, ValidationError } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import {
  assertNoSymlinks,
  assertNotSymlink,
  errorCode,
  exists,
  fsyncDir,
  listDir,
  mkdirDurable,
  publish,
  readOptional,
  removeFile,
  storageError,
  tempName,
  writeAll,
  writeFileAtomic,
} from './io.js';
import { openStoreRoot } from './store-root.js';

/** Options of {@link createFsArtifactStore}. */
export interface FsArtifactStoreOptions {
  /** Directory of the store (created if missing). Several processes may share it. */
  root: string;
  /** Source of `createdAt` timestamps. */
  clock?: Clock;
  /** A lock older than this (ms) is taken over even if its holder seems alive. Default 30 000. */
  lockStaleMs?: number;
  /** Longest wait for a lock before `TimeoutError` (ms). Default 60 000. */
  lockTimeoutMs?: number;
  /**
   * How `put` checks a blob it already holds before deduplicating: `'size'` (default)
   * compares sizes, and hashes the stored file only when its sidecar is missing or
   * disagrees; `'hash'` always hashes it. A stored blob that does not verify is replaced
   * by the bytes being put, so putting the same bytes again repairs a corrupt blob.
   */
  verifyExisting?: 'size' | 'hash';
  /** Told about each artifact `list` skips because its metadata sidecar is damaged. */
  onDamaged?: OnArtifactDamage;
}

/** The filesystem ArtifactStore: an {@link ArtifactStore} that also tells where it lives. */
export type FsArtifactStore = ArtifactStore & {
  /** Absolute path of the store directory. */
  readonly root: string;
  /** Path of the file holding a blob's bytes (present or not), e.g. to hand to a tool. */
  pathOf(digest: Digest): string;
};

const optionsSchema = z
  .object({
    root: z.string().min(1, 'pass the directory of the store'),
    clock: z
      .custom<Clock>(
        (c) => typeof (c as Clock | undefined)?.now === 'function',
        'expected { now(): number }',
      )
      .optional(),
    lockStaleMs: z.number().int().positive().optional(),
    lockTimeoutMs: z.number().int().positive().optional(),
    verifyExisting: z.enum(['size', 'hash']).optional(),
    onDamaged: z
      .custom<OnArtifactDamage>((f) => typeof f === 'function', 'expected a function')
      .optional(),
  })
  .strict();

/**
 * Creates an ArtifactStore in a directory. Bodies are never held whole in memory on `put`
 * or `stream`; every read is verified against the digest.
 *
 * @example
 * ```ts
 * const store = createFsArtifactStore({ root: '.keel/artifacts' });
 * const { digest } = await store.put(createReadStream('model.onnx'), { mediaType: 'application/onnx' });
 * for await (const chunk of store.stream(digest)) sink.write(chunk);
 * ```
 *
 * @throws {ValidationError} when `root` is missing or empty, or an option is unknown or malformed
 *   (nothing is created: the directory is made on first use).
 */
export function createFsArtifactStore(opts: FsArtifactStoreOptions): FsArtifactStore {
  const options = parseWith(optionsSchema, opts, 'fs artifact store options');
  const clock = options.clock ?? systemClock;
  const verifyExisting = options.verifyExisting ?? 'size';
  const { root, tmpDir, locker, ready: init } = openStoreRoot(options, ['sha256']);
  const blobsDir = join(root, 'sha256');

  // Never through a symbolic link inside the root: not a directory on the way, not the files.
  const pathOf = (digest: Digest): string => {
    const hex = digest.slice(PREFIX.length);
    const path = join(blobsDir, hex.slice(0, 2), hex);
    assertNoSymlinks(root, dirname(path));
    assertNotSymlink(path);
    return path;
  };
  const sidecarOf = (digest: Digest): string => assertNotSymlink(`${pathOf(digest)}${SIDECAR}`);

  /** The sidecar's metadata, `undefined` when the artifact is absent (no blob or no sidecar). */
  const readMeta = async (digest: Digest): Promise<ArtifactMeta | undefined> => {
    const bytes = await readOptional(sidecarOf(digest));
    if (bytes === undefined || !(await exists(pathOf(digest)))) return undefined;
    return parseSidecar(bytes, digest, sidecarOf(digest));
  };

  /** Throws `NotFoundError` unless both the blob and its sidecar are present. */
  const assertPresent = async (digest: Digest): Promise<void> => {
    if (!(await exists(sidecarOf(digest))) || !(await exists(pathOf(digest))))
      throw notFound(digest);
  };

  return {
    root,
    pathOf(digest) {
      assertDigest(digest);
      return pathOf(digest);
    },

    async put(body, putOpts) {
      const checked = checkPutOptions(putOpts);
      await init();
      const temp = join(tmpDir, tempName('.blob'));
      assertNoSymlinks(root, tmpDir);
      const { digest, size } = await writeBody(body, temp);
      let kept = false;
      try {
        checkExpectedDigest('fs', digest, checked.expectedDigest);
        return await locker.withLock(
          `a-${digest.slice(PREFIX.length, PREFIX.length + 40)}`,
          async () => {
            const blob = pathOf(digest);
            const sidecar = sidecarOf(digest);
            const existing = await readOptional(sidecar);
            const plan = await planPut(
              {
                blobSize: await sizeOf(blob),
                sidecar:
                  existing === undefined
                    ? undefined
                    : decodeSidecar(existing.toString('utf8'), digest),
              },
              size,
              digest,
              verifyExisting,
              () => hashFile(blob),
            );
            const trusted = plan.keep;
            // deduplicated: the first put's metadata stands
            if (trusted !== undefined && !plan.writeBlob) return trusted;
            const meta: ArtifactMeta = trusted ?? {
              digest,
              size,
              mediaType: checked.mediaType,
              createdAt: isoNow(clock),
              annotations: checked.annotations,
            };
            // Sidecar first: a sidecar without its blob reads as absent, so a crash between
            // the two renames leaves nothing visible.
            await mkdirDurable(dirname(blob));
            if (trusted === undefined) {
              await writeFileAtomic(tmpDir, sidecar, encodeSidecar(meta));
            }
            if (plan.writeBlob) {
              kept = true;
              await publish(temp, blob);
            }
            return { ...meta, annotations: { ...meta.annotations } };
          },
        );
      } finally {
        if (!kept) await removeFile(temp).catch(() => undefined);
      }
    },

    async get(digest) {
      assertDigest(digest);
      await init();
      const blob = pathOf(digest);
      const blobSize = await sizeOf(blob);
      if (blobSize !== undefined && blobSize > MAX_GET_BYTES) {
        throw new ValidationError(
          `[keel] [fs] artifact ${digest} is ${blobSize} bytes, more than get() can return in one buffer: use stream() for blobs over 2 GiB`,
          { details: { digest, size: blobSize } },
        );
      }
      const bytes = await readOptional(blob);
      if (bytes === undefined || !(await exists(sidecarOf(digest)))) throw notFound(digest);
      return verifyBytes(
        digest,
        new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
        `[fs] get ${blob}`,
      );
    },

    async *stream(digest) {
      assertDigest(digest);
      yield* verifyChunks(digest, readChunks(digest), `[fs] stream ${pathOf(digest)}`);
    },

    async stat(digest) {
      assertDigest(digest);
      await init();
      return readMeta(digest);
    },

    async has(digest) {
      assertDigest(digest);
      await init();
      return (await exists(sidecarOf(digest))) && (await exists(pathOf(digest)));
    },

    async *list(listOpts) {
      const { limit, after } = checkArtifactListOptions(listOpts);
      await init();
      const afterHex = after?.slice(PREFIX.length) ?? '';
      assertNoSymlinks(root, blobsDir);
      const fans = (await listDir(blobsDir))
        .filter((name) => FAN.test(name) && name >= afterHex.slice(0, 2))
        .sort();
      let count = 0;
      for (const fan of fans) {
        assertNoSymlinks(root, join(blobsDir, fan));
        const names = new Set(await listDir(join(blobsDir, fan)));
        const hexes = [...names]
          .filter((name) => BLOB.test(name) && name > afterHex && names.has(`${name}${SIDECAR}`))
          .sort();
        for (const hex of hexes) {
          if (count >= limit) return;
          const digest: Digest = `${PREFIX}${hex}`;
          let meta: ArtifactMeta | undefined;
          try {
            meta = await readMeta(digest);
          } catch (error) {
            // One damaged sidecar must not hide every other artifact: report it and go on.
            if (!isKeelError(error, 'KEEL_INTEGRITY')) throw error;
            reportDamage(options.onDamaged, { digest, location: sidecarOf(digest), error });
            continue;
          }
          if (meta === undefined) continue; // deleted since the directory was read
          count++;
          yield meta;
        }
      }
    },

    async delete(digest) {
      assertDigest(digest);
      await init();
      return locker.withLock(`a-${digest.slice(PREFIX.length, PREFIX.length + 40)}`, async () => {
        // Blob first: what remains after a crash is a sidecar alone, which reads as absent.
        const hadBlob = await removeFile(pathOf(digest));
        const hadSidecar = await removeFile(sidecarOf(digest));
        if (hadBlob || hadSidecar) await fsyncDir(dirname(pathOf(digest)));
        return hadBlob && hadSidecar;
      });
    },
  };

  async function* readChunks(digest: Digest): AsyncGenerator<Uint8Array> {
    await init();
    const blob = pathOf(digest);
    let handle: FileHandle;
    try {
      handle = await open(blob, 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw notFound(digest);
      throw storageError(error, 'read', blob);
    }
    try {
      await assertPresent(digest);
      for (;;) {
        const chunk = Buffer.allocUnsafe(READ_CHUNK);
        const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, null);
        if (bytesRead === 0) return;
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, bytesRead);
      }
    } catch (error) {
      throw storageError(error, 'read', blob);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}

const PREFIX = 'sha256:';
const SIDECAR = '.json';
const FAN = /^[0-9a-f]{2}$/;
const BLOB = /^[0-9a-f]{64}$/;
const READ_CHUNK = 1 << 20;
/** The most bytes `readFile` returns in one buffer (2 GiB - 1); larger blobs must be streamed. */
const MAX_GET_BYTES = 2 ** 31 - 1;

/** The size of a regular file, `undefined` when absent. */
async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw storageError(error, 'inspect', path);
  }
}

/** The digest of a stored file, read in chunks; `undefined` when it vanished meanwhile. */
async function hashFile(path: string): Promise<Digest | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw storageError(error, 'read', path);
  }
  try {
    const hasher = createHasher();
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, null);
      if (bytesRead === 0) return hasher.digest();
      hasher.update(chunk.subarray(0, bytesRead));
    }
  } catch (error) {
    throw storageError(error, 'read', path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Streams a body into a new temp file while hashing it; fsyncs the file. */
async function writeBody(
  body: Parameters<ArtifactStore['put']>[0],
  temp: string,
): Promise<{ digest: Digest; size: number }> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx');
    const hasher = createHasher();
    let size = 0;
    for await (const chunk of chunksOf(body)) {
      if (chunk.length === 0) continue;
      hasher.update(chunk);
      size += chunk.length;
      await writeAll(handle, chunk, null);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    return { digest: hasher.digest(), size };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await removeFile(temp).catch(() => undefined);
    // The caller's own body failing (a dropped upload) is not a storage failure: pass it on.
    throw isSystemError(error) ? storageError(error, 'write the temp file', temp) : error;
  }
}

function isSystemError(error: unknown): boolean {
  return typeof (error as { syscall?: unknown } | null)?.syscall === 'string';
}

function notFound(digest: Digest): NotFoundError {
  return artifactNotFound('fs', digest);
}

function parseSidecar(bytes: Buffer, digest: Digest, path: string): ArtifactMeta {
  const meta = decodeSidecar(bytes.toString('utf8'), digest);
  if (meta !== undefined) return meta;
  throw damagedSidecar('fs', digest, path);
}

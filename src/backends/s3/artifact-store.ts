/**
 * @module
 * S3 ArtifactStore: blobs named by their digest in a bucket the user's `S3Client` reaches
 * (AWS S3 or any S3-compatible server), each beside a JSON metadata sidecar. Bodies of
 * unknown length go up as a multipart upload to a temporary key while they are hashed, then
 * are copied server-side to their digest key; every read is verified against the digest.
 */
import { z } from 'zod';
import {
  artifactNotFound,
  checkArtifactListOptions,
  checkExpectedDigest,
  checkPutOptions,
  copyArtifactMeta,
} from '../../artifacts/checks.js';
import { type OnArtifactDamage, reportDamage } from '../../artifacts/damage.js';
import { damagedSidecar, decodeSidecar, encodeSidecar, planPut } from '../../artifacts/sidecar.js';
import type { ArtifactMeta, ArtifactStore } from '../../artifacts/types.js';
import { integrityError, verifyBytes } from '../../artifacts/verify.js';
import { type Body, bytesOf, chunksOf, concatBytes } from '../../core/body.js';
import { type Clock, isoNow, systemClock } from '../../core/clock.js';
import { assertDigest, createHasher, type Digest, type Hasher, sha256 } from '../../core/digest.js';
import { type NotFoundError, ValidationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseWith } from '../../core/validate.js';
import { s3Layout } from './layout.js';
import { bucketOf, type S3ClientLike, s3Error } from './requests.js';
import { copyObject, multipartUpload, type PartOptions, uploadBytes } from './upload.js';

/** Options of {@link createS3ArtifactStore}. */
export interface S3ArtifactStoreOptions {
  /**
   * Your `S3Client` from `@aws-sdk/client-s3` (region, endpoint, credentials are yours); keel
   * only calls its `send` and never destroys it.
   */
  client: S3ClientLike;
  /** The bucket; it must exist. */
  bucket: string;
  /** Key prefix of the store inside the bucket, e.g. `keel/` (a trailing `/` is added). */
  prefix?: string;
  /** Source of `createdAt` timestamps. */
  clock?: Clock;
  /** Bytes per multipart part (at least 5 MiB, S3's minimum). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once. Default 4. */
  queueSize?: number;
  /** Keys asked for per `ListObjectsV2` request while listing (1 to 1 000). Default 1 000. */
  listPageSize?: number;
  /**
   * How `put` checks a blob the bucket already holds: `'size'` (default) compares sizes
   * and reads the blob back to hash it only when its sidecar is missing or disagrees;
   * `'hash'` always does. A blob that does not verify is replaced by the bytes being put.
   */
  verifyExisting?: 'size' | 'hash';
  /** Told about each artifact `list` skips because its metadata sidecar is damaged. */
  onDamaged?: OnArtifactDamage;
}

/** The S3 ArtifactStore: an {@link ArtifactStore} that also tells where its objects live. */
export type S3ArtifactStore = ArtifactStore & {
  /** The bucket name. */
  readonly bucket: string;
  /** The normalized key prefix (empty, or ending with `/`). */
  readonly prefix: string;
  /**
   * The object key holding a blob's bytes (present or not), e.g. to presign a download.
   *
   * @throws {ValidationError} when `digest` is not `sha256:<64 hex>`.
   */
  keyOf(digest: Digest): string;
};

const MIN_PART = 5 * 1024 * 1024;

const optionsSchema = z
  .object({
    client: z.custom<S3ClientLike>(
      (c) => typeof (c as { send?: unknown } | null)?.send === 'function',
      'expected an S3Client from @aws-sdk/client-s3',
    ),
    bucket: z
      .string()
      .min(1, 'pass the bucket name')
      .max(255)
      .refine((b) => !b.includes('/'), 'a bucket name has no "/"; put a path in "prefix"'),
    prefix: z
      .string()
      .max(512)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      .refine((p) => !/[\u0000-\u001f\u007f\\]/.test(p), 'no control characters or backslashes')
      .refine((p) => !p.startsWith('/'), 'no leading "/"')
      .optional(),
    clock: z
      .custom<Clock>(
        (c) => typeof (c as Clock | undefined)?.now === 'function',
        'expected { now(): number }',
      )
      .optional(),
    partSize: z
      .number()
      .int()
      .min(MIN_PART, 'S3 parts are at least 5 MiB (5 242 880 bytes)')
      .max(5 * 1024 ** 3)
      .optional(),
    queueSize: z.number().int().min(1).max(64).optional(),
    listPageSize: z.number().int().min(1).max(1000).optional(),
    verifyExisting: z.enum(['size', 'hash']).optional(),
    onDamaged: z
      .custom<OnArtifactDamage>((f) => typeof f === 'function', 'expected a function')
      .optional(),
  })
  .strict();

/**
 * Creates an ArtifactStore in an S3 bucket. Needs `@aws-sdk/client-s3` (an optional peer
 * dependency of keel). Bodies are never held whole in memory on `put` or `stream` (at most
 * `partSize × (queueSize + 1)` bytes); every read is verified against the digest.
 *
 * @example
 * ```ts
 * import { S3Client } from '@aws-sdk/client-s3';
 * import { createS3ArtifactStore } from 'keel/s3';
 * const artifacts = createS3ArtifactStore({ client: new S3Client({}), bucket: 'ml', prefix: 'keel/' });
 * const keel = createKeel({ backend: { artifacts, metadata } });
 * ```
 *
 * @throws {ValidationError} when `client` has no `send` method, the bucket name is empty or holds
 *   `/`, the prefix has control characters, a backslash or a leading `/`, `partSize` is under
 *   5 MiB, or another option is unknown or malformed. Nothing is sent to S3 then.
 */
export function createS3ArtifactStore(opts: S3ArtifactStoreOptions): S3ArtifactStore {
  const options = parseWith(optionsSchema, opts, 's3 artifact store options');
  const clock = options.clock ?? systemClock;
  const verify = options.verifyExisting ?? 'size';
  const pageSize = options.listPageSize ?? 1000;
  const parts: PartOptions = {
    partSize: options.partSize ?? 8 * 1024 * 1024,
    queueSize: options.queueSize ?? 4,
  };
  const bucket = bucketOf(options.client, options.bucket);
  const layout = s3Layout(options.prefix ?? '');
  const where = (key: string): string => `s3://${bucket.name}/${key}`;

  const readSidecar = async (digest: Digest): Promise<ArtifactMeta | 'damaged' | undefined> => {
    const text = await bucket.getText(layout.sidecar(digest));
    if (text === undefined) return undefined;
    return decodeSidecar(text, digest) ?? 'damaged';
  };

  /** The stored artifact, `undefined` when its blob is absent; throws when the sidecar is damaged. */
  const readMeta = async (digest: Digest): Promise<ArtifactMeta | undefined> => {
    const [blobSize, sidecar] = await Promise.all([
      bucket.head(layout.blob(digest)),
      readSidecar(digest),
    ]);
    if (blobSize === undefined) return undefined;
    if (sidecar === undefined || sidecar === 'damaged') {
      throw damagedSidecar('s3', digest, where(layout.sidecar(digest)));
    }
    return sidecar;
  };

  /** Hashes the stored blob (for `verifyExisting` and suspect sidecars). */
  const hashStored = async (digest: Digest): Promise<Digest | undefined> => {
    const object = await bucket.get(layout.blob(digest));
    if (object === undefined) return undefined;
    const hasher = createHasher();
    for await (const chunk of readBody(object.body, where(layout.blob(digest)))) {
      hasher.update(chunk);
    }
    return hasher.digest();
  };

  /**
   * Publishes an artifact whose digest and size are known, given a way to write its blob.
   * Sidecar first: a sidecar without its blob reads as absent, so a failure between the two
   * writes leaves nothing visible.
   */
  const publish = async (
    digest: Digest,
    size: number,
    mediaType: string,
    annotations: Record<string, string>,
    writeBlob: () => Promise<void>,
  ): Promise<ArtifactMeta> => {
    const [blobSize, sidecar] = await Promise.all([
      bucket.head(layout.blob(digest)),
      readSidecar(digest),
    ]);
    const plan = await planPut(
      { blobSize, sidecar: sidecar === 'damaged' ? undefined : sidecar },
      size,
      digest,
      verify,
      () => hashStored(digest),
    );
    if (plan.keep !== undefined && !plan.writeBlob) return copyArtifactMeta(plan.keep);
    const meta: ArtifactMeta = plan.keep ?? {
      digest,
      size,
      mediaType,
      createdAt: isoNow(clock),
      annotations,
    };
    if (plan.keep === undefined) {
      await bucket.put(layout.sidecar(digest), encodeSidecar(meta), 'application/json');
    }
    if (plan.writeBlob) await writeBlob();
    return copyArtifactMeta(meta);
  };

  return {
    bucket: bucket.name,
    prefix: layout.prefix,
    keyOf(digest) {
      assertDigest(digest);
      return layout.blob(digest);
    },

    async put(body, putOpts) {
      const checked = checkPutOptions(putOpts);
      const expect = (actual: Digest): void =>
        checkExpectedDigest('s3', actual, checked.expectedDigest);
      const hasher = createHasher();
      const head =
        typeof body === 'string' || body instanceof Uint8Array
          ? { chunks: [await bytesOf(body)], rest: undefined }
          : await readFirstPart(body, parts.partSize, hasher);
      if (head.rest === undefined) {
        // The whole body is in hand: its digest is known before anything is sent.
        const bytes = concatBytes(head.chunks);
        const digest = sha256(bytes);
        expect(digest);
        return publish(digest, bytes.length, checked.mediaType, checked.annotations, () =>
          uploadBytes(bucket, layout.blob(digest), checked.mediaType, bytes, parts),
        );
      }
      // Unknown length: upload to a temporary key while hashing, then copy it into place.
      const temp = layout.temp(newId());
      const size = await multipartUpload(
        bucket,
        temp,
        checked.mediaType,
        head.chunks,
        head.rest,
        (chunk) => hasher.update(chunk),
        parts,
      );
      try {
        const digest = hasher.digest();
        expect(digest);
        return await publish(digest, size, checked.mediaType, checked.annotations, () =>
          copyObject(bucket, temp, layout.blob(digest), size, checked.mediaType),
        );
      } finally {
        await bucket.delete(temp).catch(() => undefined);
      }
    },

    async get(digest) {
      assertDigest(digest);
      const key = layout.blob(digest);
      const object = await bucket.get(key);
      if (object === undefined) throw notFound(digest);
      if (object.length !== undefined && object.length > MAX_GET_BYTES) {
        await cancelBody(object.body);
        throw new ValidationError(
          `[keel] [s3] artifact ${digest} is ${object.length} bytes, more than get() should hold in one buffer: use stream() for blobs over 2 GiB`,
          { details: { digest, size: object.length } },
        );
      }
      const chunks: Uint8Array[] = [];
      for await (const chunk of readBody(object.body, where(key))) chunks.push(chunk);
      const bytes = concatBytes(chunks);
      // A single chunk may be the SDK's own buffer: hand out a plain copy.
      const copy = chunks.length === 1 ? new Uint8Array(bytes) : bytes;
      return verifyBytes(digest, copy, `[s3] get ${where(key)}`);
    },

    async *stream(digest) {
      assertDigest(digest);
      const key = layout.blob(digest);
      const object = await bucket.get(key);
      if (object === undefined) throw notFound(digest);
      // Hashed inline rather than through verifyChunks: one generator per chunk, not two.
      const hasher = createHasher();
      for await (const chunk of readBody(object.body, where(key))) {
        hasher.update(chunk);
        yield chunk;
      }
      const actual = hasher.digest();
      if (actual !== digest) throw integrityError(digest, actual, `[s3] stream ${where(key)}`);
    },

    async stat(digest) {
      assertDigest(digest);
      return readMeta(digest);
    },

    async has(digest) {
      assertDigest(digest);
      return (await bucket.head(layout.blob(digest))) !== undefined;
    },

    async *list(listOpts) {
      const { limit, after } = checkArtifactListOptions(listOpts);
      let count = 0;
      let token: string | undefined;
      do {
        const page = await bucket.list(
          layout.blobsPrefix,
          after === undefined ? undefined : layout.blob(after),
          token,
          Math.min(pageSize, Math.max(limit - count, 1)),
        );
        token = page.next;
        const digests = page.keys.flatMap((key) => {
          const digest = layout.digestOfKey(key);
          return digest === undefined || (after !== undefined && digest <= after) ? [] : [digest];
        });
        // Sidecars are fetched a few at a time, and yielded in digest order.
        for (let i = 0; i < digests.length; i += SIDECAR_BATCH) {
          const batch = digests.slice(i, i + SIDECAR_BATCH);
          const sidecars = await Promise.all(batch.map(readSidecar));
          for (let k = 0; k < batch.length; k++) {
            if (count >= limit) return;
            const digest = batch[k]!;
            const sidecar = sidecars[k];
            if (sidecar === undefined || sidecar === 'damaged') {
              // One damaged sidecar must not hide every other artifact: report it and go on.
              const location = where(layout.sidecar(digest));
              reportDamage(options.onDamaged, {
                digest,
                location,
                error: damagedSidecar('s3', digest, location),
              });
              continue;
            }
            count++;
            yield sidecar;
          }
        }
      } while (token !== undefined && count < limit);
    },

    async delete(digest) {
      assertDigest(digest);
      const existed = (await bucket.head(layout.blob(digest))) !== undefined;
      // Blob first: what remains after a failure is a sidecar alone, which reads as absent.
      if (existed) await bucket.delete(layout.blob(digest));
      await bucket.delete(layout.sidecar(digest));
      return existed;
    },
  };
}

/** Beyond this, `get` refuses to gather a blob into one buffer (as the fs store does). */
const MAX_GET_BYTES = 2 ** 31 - 1;
/** Sidecars read concurrently while listing. */
const SIDECAR_BATCH = 8;

/**
 * Reads a body until it ends or one part's worth of bytes is in hand, hashing what it reads.
 * `rest` is the iterator to continue from when the body is longer than one part.
 */
async function readFirstPart(
  body: Body,
  partSize: number,
  hasher: Hasher,
): Promise<{ chunks: Uint8Array[]; rest: AsyncIterator<Uint8Array> | undefined }> {
  const iterator = chunksOf(body);
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= partSize) {
    const next = await iterator.next();
    if (next.done) return { chunks, rest: undefined };
    if (next.value.length === 0) continue;
    hasher.update(next.value);
    chunks.push(next.value);
    size += next.value.length;
  }
  return { chunks, rest: iterator };
}

/** The chunks of an SDK response body (a Node stream or a web `ReadableStream`). */
async function* readBody(body: unknown, where: string): AsyncGenerator<Uint8Array> {
  if (body === undefined || body === null) return;
  // Node's response is an async iterable of Buffers; a browser's a ReadableStream.
  const chunks =
    typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function'
      ? (body as AsyncIterable<Uint8Array>)
      : chunksOf(body as Body);
  try {
    for await (const chunk of chunks as AsyncIterable<unknown>) {
      if (!(chunk instanceof Uint8Array))
        throw new Error('the response body yielded a non-byte chunk');
      yield chunk.constructor === Uint8Array
        ? chunk
        : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    }
  } catch (error) {
    throw s3Error(error, 'read', where);
  }
}

/** Releases a response body that will not be read (so its connection is freed). */
async function cancelBody(body: unknown): Promise<void> {
  const b = body as { destroy?: () => void; cancel?: () => Promise<void> } | undefined;
  if (typeof b?.destroy === 'function') b.destroy();
  else await b?.cancel?.().catch(() => undefined);
}

function notFound(digest: Digest): NotFoundError {
  return artifactNotFound('s3', digest);
}

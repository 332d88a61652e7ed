/**
 * @module
 * Moving bytes into a bucket without holding them whole: a body is read one part at a
 * time (hashed on the way) and sent as a multipart upload with a few parts in flight; an
 * upload that fails is aborted so it leaves no parts behind; a finished object is copied
 * server-side to its digest key (whole, or in ranges past 5 GiB).
 */
import type { Bucket } from './requests.js';

/** How parts are cut and sent. */
export interface PartOptions {
  /** Bytes per part for the first 1 000 parts; doubles every 1 000 parts after that. */
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
}

/** Largest object S3's `CopyObject` copies in one request. */
export const MAX_COPY_OBJECT: number = 5 * 1024 ** 3;
/** Byte range of each part of a multipart copy. */
const COPY_PART = 512 * 1024 ** 2;
/** After this many parts the part size doubles, so 10 000 parts reach S3's 5 TiB limit. */
const PARTS_PER_SIZE = 1000;

/**
 * Reads chunks from `body`, feeding each to `onChunk` (the hasher), and sends them to `key`
 * as a multipart upload whose first part is `first`. Returns the total size. On any failure
 * (the body's own included, passed on unchanged) the upload is aborted before rethrowing.
 */
export async function multipartUpload(
  bucket: Bucket,
  key: string,
  contentType: string,
  first: readonly Uint8Array[],
  body: AsyncIterator<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
  opts: PartOptions,
): Promise<number> {
  let uploadId = '';
  const parts: { PartNumber: number; ETag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  let partNumber = 0;
  let size = 0;

  const send = async (bytes: Uint8Array): Promise<void> => {
    const number = ++partNumber;
    const sending: Promise<void> = bucket
      .uploadPart(key, uploadId, number, bytes)
      .then(
        (etag) => void parts.push({ PartNumber: number, ETag: etag }),
        (error: unknown) => {
          failed ??= { error };
        },
      )
      .finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    if (inFlight.size >= opts.queueSize) await Promise.race(inFlight);
    if (failed) throw failed.error;
  };

  try {
    uploadId = await bucket.createUpload(key, contentType);
    const pending = new PartBuffer();
    const take = async (chunk: Uint8Array): Promise<void> => {
      size += chunk.length;
      pending.push(chunk);
      for (let target = partTarget(opts, partNumber); pending.length >= target; ) {
        await send(pending.take(target));
        target = partTarget(opts, partNumber);
      }
    };
    for (const chunk of first) await take(chunk);
    for (;;) {
      const next = await body.next();
      if (next.done) break;
      onChunk(next.value);
      await take(next.value);
    }
    if (pending.length > 0 || partNumber === 0) await send(pending.take(pending.length));
    await Promise.all(inFlight);
    if (failed) throw failed.error;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await bucket.completeUpload(key, uploadId, parts);
    return size;
  } catch (error) {
    await Promise.allSettled(inFlight);
    // Best effort: a server that cannot abort leaves parts a lifecycle rule will reap; the
    // caller hears about the failure that matters, not about the clean-up.
    if (uploadId !== '') await bucket.abortUpload(key, uploadId).catch(() => undefined);
    await Promise.resolve(body.return?.()).catch(() => undefined);
    throw error;
  }
}

/** Sends `bytes` (known in full) to `key`: one request, or multipart past one part. */
export async function uploadBytes(
  bucket: Bucket,
  key: string,
  contentType: string,
  bytes: Uint8Array,
  opts: PartOptions,
): Promise<void> {
  if (bytes.length <= opts.partSize) {
    await bucket.put(key, bytes, contentType);
    return;
  }
  const none: AsyncIterator<Uint8Array> = {
    next: async () => ({ done: true, value: undefined }),
  };
  await multipartUpload(bucket, key, contentType, [bytes], none, () => undefined, opts);
}

/**
 * Copies the object at `source` (of `size` bytes) to `key` inside the bucket: one
 * `CopyObject` up to 5 GiB, a multipart copy by byte ranges beyond (aborted on failure).
 */
export async function copyObject(
  bucket: Bucket,
  source: string,
  key: string,
  size: number,
  contentType: string,
  maxCopyObject: number = MAX_COPY_OBJECT,
): Promise<void> {
  if (size <= maxCopyObject) {
    await bucket.copy(source, key);
    return;
  }
  const uploadId = await bucket.createUpload(key, contentType);
  try {
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (let first = 0, number = 1; first < size; first += COPY_PART, number++) {
      const last = Math.min(first + COPY_PART, size) - 1;
      parts.push({
        PartNumber: number,
        ETag: await bucket.copyPart(key, uploadId, number, source, [first, last]),
      });
    }
    await bucket.completeUpload(key, uploadId, parts);
  } catch (error) {
    await bucket.abortUpload(key, uploadId).catch(() => undefined);
    throw error;
  }
}

/** The size the part after `sent` parts must have. */
function partTarget(opts: PartOptions, sent: number): number {
  return opts.partSize * 2 ** Math.floor(sent / PARTS_PER_SIZE);
}

/** Chunks waiting to become a part; `take` cuts exactly the bytes asked for. */
class PartBuffer {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  take(count: number): Uint8Array {
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const head = this.chunks[0]!;
      const used = Math.min(head.length, count - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    this.length -= count;
    return out;
  }
}

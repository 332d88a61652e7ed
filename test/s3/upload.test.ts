/**
 * The multipart mechanics of the S3 store on a recording fake bucket: how parts are cut and
 * grow, what is aborted on failure, and the ranged copy used past S3's 5 GiB CopyObject limit.
 */
import { describe, expect, it } from 'vitest';
import type { Bucket } from '../../src/backends/s3/requests.js';
import { copyObject, multipartUpload, uploadBytes } from '../../src/backends/s3/upload.js';
import { errorOf } from '../fs/helpers.js';

interface Call {
  op: string;
  args: unknown[];
}

function fakeBucket(failOn?: (op: string, args: unknown[]) => boolean): {
  bucket: Bucket;
  calls: Call[];
} {
  const calls: Call[] = [];
  const record =
    (op: string, result: (...args: unknown[]) => unknown = () => undefined) =>
    async (...args: unknown[]) => {
      calls.push({ op, args });
      await Promise.resolve();
      if (failOn?.(op, args)) throw new Error(`${op} failed`);
      return result(...args);
    };
  const bucket = {
    name: 'fake',
    createUpload: record('createUpload', () => 'upload-1'),
    uploadPart: record('uploadPart', (_k, _u, n) => `etag-${n}`),
    copyPart: record('copyPart', (_k, _u, n) => `etag-${n}`),
    completeUpload: record('completeUpload'),
    abortUpload: record('abortUpload'),
    copy: record('copy'),
    put: record('put'),
  } as unknown as Bucket;
  return { bucket, calls };
}

function bytes(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => i % 256);
}

async function* chunks(sizes: number[], fail?: Error): AsyncGenerator<Uint8Array> {
  for (const size of sizes) yield bytes(size);
  if (fail) throw fail;
}

describe('S3 multipart upload', () => {
  it('cuts parts of exactly partSize (the last one shorter) and completes them in order', async () => {
    const { bucket, calls } = fakeBucket();
    const seen: number[] = [];
    const size = await multipartUpload(
      bucket,
      'k',
      'application/octet-stream',
      [bytes(7)],
      chunks([3, 11, 2]),
      (c) => seen.push(c.length),
      { partSize: 5, queueSize: 2 },
    );
    expect(size).toBe(23);
    expect(seen).toEqual([3, 11, 2]);
    const parts = calls.filter((c) => c.op === 'uploadPart');
    expect(parts.map((c) => (c.args[3] as Uint8Array).length)).toEqual([5, 5, 5, 5, 3]);
    const joined = parts.flatMap((c) => [...(c.args[3] as Uint8Array)]);
    expect(joined).toEqual([...bytes(7), ...bytes(3), ...bytes(11), ...bytes(2)]);
    const complete = calls.find((c) => c.op === 'completeUpload')!;
    expect(complete.args[2]).toEqual(
      [1, 2, 3, 4, 5].map((n) => ({ PartNumber: n, ETag: `etag-${n}` })),
    );
  });

  it('doubles the part size every 1 000 parts, so 10 000 parts reach S3 object limits', async () => {
    const { bucket, calls } = fakeBucket();
    await multipartUpload(bucket, 'k', 'x', [], chunks(Array(3100).fill(1)), () => undefined, {
      partSize: 1,
      queueSize: 4,
    });
    const sizes = calls
      .filter((c) => c.op === 'uploadPart')
      .map((c) => (c.args[3] as Uint8Array).length);
    expect(sizes.slice(0, 1000).every((s) => s === 1)).toBe(true);
    expect(sizes.slice(1000, 2000).every((s) => s === 2)).toBe(true);
    expect(sizes[2000]).toBe(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3100);
  });

  it('aborts when a part fails, and passes the failure on', async () => {
    const { bucket, calls } = fakeBucket((op, args) => op === 'uploadPart' && args[2] === 2);
    const error = await errorOf(
      multipartUpload(bucket, 'k', 'x', [], chunks([5, 5, 5, 5]), () => undefined, {
        partSize: 5,
        queueSize: 1,
      }),
    );
    expect((error as Error).message).toBe('uploadPart failed');
    expect(calls.map((c) => c.op)).toContain('abortUpload');
    expect(calls.map((c) => c.op)).not.toContain('completeUpload');
  });

  it("aborts when the body fails and passes the body's own error on, even if the abort fails", async () => {
    const { bucket, calls } = fakeBucket((op) => op === 'abortUpload');
    const failure = new Error('source broke');
    const error = await errorOf(
      multipartUpload(bucket, 'k', 'x', [], chunks([6, 6], failure), () => undefined, {
        partSize: 5,
        queueSize: 2,
      }),
    );
    expect(error).toBe(failure);
    expect(calls.map((c) => c.op)).toContain('abortUpload');
  });

  it('sends known bytes in one request when they fit in a part, else as multipart', async () => {
    const small = fakeBucket();
    await uploadBytes(small.bucket, 'k', 'x', bytes(5), { partSize: 5, queueSize: 1 });
    expect(small.calls.map((c) => c.op)).toEqual(['put']);
    const large = fakeBucket();
    await uploadBytes(large.bucket, 'k', 'x', bytes(12), { partSize: 5, queueSize: 1 });
    expect(large.calls.map((c) => c.op)).toEqual([
      'createUpload',
      'uploadPart',
      'uploadPart',
      'uploadPart',
      'completeUpload',
    ]);
  });
});

describe('S3 server-side copy', () => {
  it('copies in one request up to the CopyObject limit', async () => {
    const { bucket, calls } = fakeBucket();
    await copyObject(bucket, 'tmp/1', 'sha256/ab/ab', 100, 'x', 100);
    expect(calls.map((c) => c.op)).toEqual(['copy']);
  });

  it('copies by 512 MiB byte ranges past it', async () => {
    const { bucket, calls } = fakeBucket();
    const MiB = 1024 * 1024;
    await copyObject(bucket, 'tmp/1', 'dst', 1200 * MiB, 'x', 1000 * MiB);
    const ranges = calls.filter((c) => c.op === 'copyPart').map((c) => c.args[4]);
    expect(ranges).toEqual([
      [0, 512 * MiB - 1],
      [512 * MiB, 1024 * MiB - 1],
      [1024 * MiB, 1200 * MiB - 1],
    ]);
    expect(calls.at(-1)?.op).toBe('completeUpload');
  });

  it('aborts a ranged copy that fails', async () => {
    const { bucket, calls } = fakeBucket((op, args) => op === 'copyPart' && args[2] === 2);
    const MiB = 1024 * 1024;
    await errorOf(copyObject(bucket, 'tmp/1', 'dst', 1200 * MiB, 'x', 1000 * MiB));
    expect(calls.at(-1)?.op).toBe('abortUpload');
  });
});

/**
 * S3 ArtifactStore throughput against a local S3-protocol server (s3rver in its own process on
 * 127.0.0.1, storing on this disk), each against baselines measured in the same run:
 * - `cp` of the same file (what moving the bytes costs on this disk, the baseline);
 * - the same client sending / fetching the file with plain SDK calls (a multipart upload of the
 *   file stream, a GetObject drained), i.e. what S3 costs without keel's hashing, temporary
 *   key and server-side copy.
 *
 *   npx tsx bench/s3.ts
 *   KEEL_BENCH_S3_BYTES=67108864 npx tsx bench/s3.ts
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createS3ArtifactStore } from '../src/backends/s3/artifact-store.js';
import { BUCKET, startS3Server } from '../test/s3/server.js';
import { type BenchRow, printTable } from './_table.js';

const BYTES = Number(process.env.KEEL_BENCH_S3_BYTES ?? 256 * 1024 ** 2);
const PART = 8 * 1024 ** 2;
const ROUNDS = 3;
const rows: BenchRow[] = [];
const root = mkdtempSync(join(tmpdir(), 'keel-bench-s3-'));
const server = await startS3Server();

try {
  const source = join(root, 'source.bin');
  await writeSource(source, BYTES);
  const client = server.client();
  const store = createS3ArtifactStore({ client, bucket: BUCKET, prefix: 'bench' });
  let cp = Number.POSITIVE_INFINITY;
  let rawPut = Number.POSITIVE_INFINITY;
  let rawGet = Number.POSITIVE_INFINITY;
  let put = Number.POSITIVE_INFINITY;
  let stream = Number.POSITIVE_INFINITY;
  // Each contender runs in turn, ROUNDS times; the best round counts, so that a burst of disk
  // activity from elsewhere penalises keel and the baselines alike.
  for (let round = 0; round < ROUNDS; round++) {
    const copy = join(root, `copy-${round}.bin`);
    cp = Math.min(
      cp,
      seconds(() => execFileSync('cp', [source, copy])),
    );
    rmSync(copy);

    const key = `raw/${round}`;
    let started = performance.now();
    await rawMultipart(client, key, source);
    rawPut = Math.min(rawPut, (performance.now() - started) / 1000);
    started = performance.now();
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    let fetched = 0;
    for await (const chunk of object.Body as AsyncIterable<Uint8Array>) fetched += chunk.length;
    if (fetched !== BYTES) throw new Error(`GetObject returned ${fetched} bytes`);
    rawGet = Math.min(rawGet, (performance.now() - started) / 1000);

    started = performance.now();
    const meta = await store.put(createReadStream(source, { highWaterMark: 1 << 20 }));
    put = Math.min(put, (performance.now() - started) / 1000);
    started = performance.now();
    let read = 0;
    for await (const chunk of store.stream(meta.digest)) read += chunk.length;
    if (read !== BYTES) throw new Error(`stream returned ${read} bytes, expected ${BYTES}`);
    stream = Math.min(stream, (performance.now() - started) / 1000);
    await store.delete(meta.digest);
  }
  rows.push(
    row(
      'S3 put, unknown length (multipart to a temp key while hashing, server-side copy)',
      put,
      cp,
      '`cp`',
    ),
    row('S3 put, same', put, rawPut, 'SDK multipart upload of the file, no hashing or copy'),
    row('S3 stream (read, verify)', stream, cp, '`cp`'),
    row('S3 stream, same', stream, rawGet, 'SDK GetObject drained, no verification'),
  );
} finally {
  await server.close();
  rmSync(root, { recursive: true, force: true });
}

process.stdout.write(
  `Size ${(BYTES / 1024 ** 2).toFixed(0)} MiB, s3rver on 127.0.0.1; best of ${ROUNDS}; ratio = keel throughput / baseline throughput.\n\n`,
);
printTable(rows);

/** Uploads a file as the SDK user would without keel: 8 MiB parts, one at a time. */
async function rawMultipart(
  client: ReturnType<typeof server.client>,
  key: string,
  path: string,
): Promise<void> {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }),
  );
  const parts: { PartNumber: number; ETag: string }[] = [];
  const handle = await open(path, 'r');
  try {
    for (let number = 1; ; number++) {
      const buffer = Buffer.allocUnsafe(PART);
      const { bytesRead } = await handle.read(buffer, 0, PART, null);
      if (bytesRead === 0) break;
      const out = await client.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          PartNumber: number,
          Body: buffer.subarray(0, bytesRead),
        }),
      );
      parts.push({ PartNumber: number, ETag: out.ETag! });
    }
  } finally {
    await handle.close();
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

async function writeSource(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const block = randomBytes(1 << 20);
    for (let written = 0; written < bytes; written += block.length) {
      await handle.write(block, 0, Math.min(block.length, bytes - written));
    }
  } finally {
    await handle.close();
  }
}

function seconds(fn: () => unknown): number {
  const started = performance.now();
  fn();
  return (performance.now() - started) / 1000;
}

function row(name: string, keelSeconds: number, baseSeconds: number, baseline: string): BenchRow {
  const rate = (s: number): string => `${(BYTES / 1024 ** 2 / s).toFixed(1)} MiB/s`;
  return {
    name,
    figure: rate(keelSeconds),
    baseline: `${baseline}: ${rate(baseSeconds)}`,
    ratio: `${(baseSeconds / keelSeconds).toFixed(2)}x`,
    goal: 'reported',
  };
}

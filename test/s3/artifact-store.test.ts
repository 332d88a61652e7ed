/**
 * The S3 ArtifactStore against a real S3-protocol server (s3rver on 127.0.0.1): the
 * conformance suite, the bucket layout, multipart uploads of unknown length, and what
 * happens when objects are damaged behind keel's back.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactDamage } from '../../src/artifacts/damage.js';
import {
  createS3ArtifactStore,
  type S3ArtifactStoreOptions,
} from '../../src/backends/s3/artifact-store.js';
import { type Digest, digestOf, sha256 } from '../../src/core/digest.js';
import { isKeelError } from '../../src/core/errors.js';
import { describeArtifactStore } from '../../src/testing/artifact-store-suite.js';
import { collect } from '../../src/testing/assert.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { errorOf } from '../fs/helpers.js';
import { BUCKET, type S3TestServer, startS3Server } from './server.js';

let server: S3TestServer;
let client: S3Client;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3Server();
  client = server.client();
});

afterAll(async () => {
  await server?.close();
});

/** A store under a prefix no other test uses: fresh and empty. */
function freshStore(extra: Partial<S3ArtifactStoreOptions> = {}) {
  return createS3ArtifactStore({ client, bucket: BUCKET, prefix: `t${++prefixes}`, ...extra });
}

/** The client, with every command it sends recorded by name. */
function recording(): { client: S3Client; commands: string[] } {
  const commands: string[] = [];
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: object, ...rest: unknown[]) => {
        commands.push(command.constructor.name.replace(/Command$/, ''));
        return (target.send as (...args: unknown[]) => unknown)(command, ...rest);
      };
    },
  });
  return { client: proxy, commands };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((c) => c.Key!);
}

async function* generated(total: number, chunk: number, fail?: Error): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += chunk) {
    const part = new Uint8Array(Math.min(chunk, total - sent));
    for (let i = 0; i < part.length; i++) part[i] = ((sent + i) * 7) % 251;
    yield part;
  }
  if (fail) throw fail;
}

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<{ size: number; digest: Digest }> {
  let size = 0;
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) {
    size += chunk.length;
    parts.push(chunk);
  }
  return {
    size,
    digest: await digestOf(
      (async function* () {
        yield* parts;
      })(),
    ),
  };
}

describeArtifactStore('s3 (s3rver)', () => freshStore(), {
  runner: { describe, it },
  timeoutMs: 60_000,
});

describe('S3 ArtifactStore', () => {
  it('lays objects out by digest: blob under sha256/<2 hex>/, sidecar under meta/', async () => {
    const store = freshStore();
    const meta = await store.put('hello', { mediaType: 'text/plain' });
    const hex = meta.digest.slice(7);
    expect(store.prefix).toBe(`t${prefixes}/`);
    expect(store.keyOf(meta.digest)).toBe(`${store.prefix}sha256/${hex.slice(0, 2)}/${hex}`);
    expect(await keysUnder(store.prefix)).toEqual([
      `${store.prefix}meta/${hex.slice(0, 2)}/${hex}.json`,
      `${store.prefix}sha256/${hex.slice(0, 2)}/${hex}`,
    ]);
    const object = await client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: store.keyOf(meta.digest) }),
    );
    expect(await object.Body?.transformToString()).toBe('hello');
    expect(object.ContentType).toBe('text/plain');
  });

  it('keeps annotations S3 metadata headers could not carry (Unicode, 4 KiB values)', async () => {
    const store = freshStore();
    const annotations = { 'naïve ключ': 'значение ✓', long: 'x'.repeat(4096), 'a b': '\n' };
    const meta = await store.put('annotated', { annotations });
    expect(meta.annotations).toEqual(annotations);
    expect((await store.stat(meta.digest))?.annotations).toEqual(annotations);
  });

  it('uses the injected clock and keeps stores under different prefixes apart', async () => {
    const clock = new ManualClock(Date.parse('2026-01-02T03:04:05.000Z'));
    const a = freshStore({ clock });
    const b = freshStore();
    const meta = await a.put('only in a');
    expect(meta.createdAt).toBe('2026-01-02T03:04:05.000Z');
    expect(await b.has(meta.digest)).toBe(false);
    expect(await collect(b.list())).toEqual([]);
  });

  it('sends a body that fits in one part as one PutObject to its digest key', async () => {
    const { client: recorder, commands } = recording();
    const store = createS3ArtifactStore({
      client: recorder,
      bucket: BUCKET,
      prefix: `t${++prefixes}`,
    });
    await store.put(generated(100_000, 10_000));
    expect(commands).toEqual(['HeadObject', 'GetObject', 'PutObject', 'PutObject']);
  });

  it('streams a 64 MiB body of unknown length up as multipart, and reads it back verified', async () => {
    const { client: recorder, commands } = recording();
    const store = createS3ArtifactStore({
      client: recorder,
      bucket: BUCKET,
      prefix: `t${++prefixes}`,
    });
    const total = 64 * 1024 * 1024 + 3;
    const meta = await store.put(generated(total, 1 << 20), { mediaType: 'application/x-model' });
    expect(meta.size).toBe(total);
    expect(meta.digest).toBe(await digestOf(generated(total, 3 << 19)));
    expect(commands.filter((c) => c === 'UploadPart').length).toBe(9); // 8 MiB parts
    expect(commands).toContain('CreateMultipartUpload');
    expect(commands).toContain('CompleteMultipartUpload');
    expect(commands).toContain('CopyObject');
    // The temporary object is gone; only the blob and its sidecar remain.
    expect((await keysUnder(store.prefix)).filter((k) => k.includes('/tmp/'))).toEqual([]);
    expect(await drain(store.stream(meta.digest))).toEqual({ size: total, digest: meta.digest });
    expect((await store.get(meta.digest)).length).toBe(total);
    // The same bytes again: found by digest, nothing copied.
    commands.length = 0;
    expect(await store.put(generated(total, 1 << 20))).toEqual(meta);
    expect(commands).not.toContain('CopyObject');
  }, 120_000);

  it('aborts the multipart upload of a body that fails, passes its error on, and stores nothing', async () => {
    const { client: recorder, commands } = recording();
    const store = createS3ArtifactStore({
      client: recorder,
      bucket: BUCKET,
      prefix: `t${++prefixes}`,
    });
    const failure = new Error('upload dropped');
    expect(await errorOf(store.put(generated(20 * 1024 * 1024, 1 << 20, failure)))).toBe(failure);
    expect(commands).toContain('CreateMultipartUpload');
    expect(commands).toContain('AbortMultipartUpload');
    expect(commands).not.toContain('CompleteMultipartUpload');
    expect(await collect(store.list())).toEqual([]);
    expect(await keysUnder(store.prefix)).toEqual([]);
  }, 60_000);

  it('refuses a streamed body whose expectedDigest does not match, leaving nothing behind', async () => {
    const store = freshStore();
    const error = await errorOf(
      store.put(generated(12 * 1024 * 1024, 1 << 20), { expectedDigest: sha256('other') }),
    );
    expect(isKeelError(error, 'KEEL_INTEGRITY')).toBe(true);
    expect(await keysUnder(store.prefix)).toEqual([]);
  }, 60_000);

  it('detects an object overwritten behind its back, and a put of the same bytes repairs it', async () => {
    const store = freshStore();
    const meta = await store.put('the real bytes', { mediaType: 'text/plain' });
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: store.keyOf(meta.digest), Body: 'forged' }),
    );
    expect(isKeelError(await errorOf(store.get(meta.digest)), 'KEEL_INTEGRITY')).toBe(true);
    expect(isKeelError(await errorOf(drain(store.stream(meta.digest))), 'KEEL_INTEGRITY')).toBe(
      true,
    );
    expect(await store.put('the real bytes', { mediaType: 'text/csv' })).toEqual(meta);
    expect(new TextDecoder().decode(await store.get(meta.digest))).toBe('the real bytes');
  });

  it("with verifyExisting: 'hash', repairs a same-size forgery the size check cannot see", async () => {
    const bySize = freshStore();
    const byHash = createS3ArtifactStore({
      client,
      bucket: BUCKET,
      prefix: bySize.prefix,
      verifyExisting: 'hash',
    });
    const meta = await bySize.put('abcdefgh');
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: bySize.keyOf(meta.digest), Body: 'ABCDEFGH' }),
    );
    await bySize.put('abcdefgh');
    expect(isKeelError(await errorOf(bySize.get(meta.digest)), 'KEEL_INTEGRITY')).toBe(true);
    expect(await byHash.put('abcdefgh')).toEqual(meta);
    expect(new TextDecoder().decode(await bySize.get(meta.digest))).toBe('abcdefgh');
  });

  it('skips and reports an artifact whose sidecar is damaged or missing; get still serves it', async () => {
    const damaged: ArtifactDamage[] = [];
    const store = freshStore({ onDamaged: (d) => damaged.push(d) });
    const texts = new Map<Digest, string>();
    for (let i = 0; i < 4; i++) texts.set((await store.put(`blob ${i}`)).digest, `blob ${i}`);
    const digests = [...texts.keys()].sort();
    const [good, broken, good2, missing] = digests as [Digest, Digest, Digest, Digest];
    const sidecarOf = (d: Digest) => `${store.prefix}meta/${d.slice(7, 9)}/${d.slice(7)}.json`;
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: sidecarOf(broken), Body: '{"v":1' }),
    );
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: sidecarOf(missing) }));
    expect(isKeelError(await errorOf(store.stat(broken)), 'KEEL_INTEGRITY')).toBe(true);
    expect(isKeelError(await errorOf(store.stat(missing)), 'KEEL_INTEGRITY')).toBe(true);
    const listed = (await collect(store.list())).map((m) => m.digest);
    expect(listed).toEqual([good, good2]);
    expect(damaged.map((d) => [d.digest, d.error.code, d.location])).toEqual([
      [broken, 'KEEL_INTEGRITY', `s3://${BUCKET}/${sidecarOf(broken)}`],
      [missing, 'KEEL_INTEGRITY', `s3://${BUCKET}/${sidecarOf(missing)}`],
    ]);
    expect(new TextDecoder().decode(await store.get(broken))).toBe(texts.get(broken));
    const repaired = await store.put(texts.get(broken)!, { mediaType: 'text/plain' });
    expect(repaired.mediaType).toBe('text/plain');
    expect(await store.stat(broken)).toEqual(repaired);
  });

  it('pages through ListObjectsV2 with continuation tokens, honouring after and limit', async () => {
    const store = freshStore({ listPageSize: 2 });
    const digests: Digest[] = [];
    for (let i = 0; i < 7; i++) digests.push((await store.put(`page ${i}`)).digest);
    digests.sort();
    expect((await collect(store.list())).map((m) => m.digest)).toEqual(digests);
    const page = (await collect(store.list({ after: digests[1]!, limit: 3 }))).map((m) => m.digest);
    expect(page).toEqual(digests.slice(2, 5));
  });

  it('get of a blob over 2 GiB says to use stream(), without downloading it', async () => {
    const big = new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: object) => {
          if (command instanceof GetObjectCommand) {
            const state = { destroyed: false };
            return {
              ContentLength: 2 ** 31,
              Body: {
                destroy: () => {
                  state.destroyed = true;
                },
                [Symbol.asyncIterator]: () => ({
                  next: async () => ({ done: state.destroyed, value: new Uint8Array(1) }),
                }),
              },
            };
          }
          return (target.send as (c: object) => unknown)(command);
        };
      },
    });
    const store = createS3ArtifactStore({ client: big, bucket: BUCKET, prefix: 'big' });
    const error = await errorOf(store.get(sha256('anything')));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect((error as Error).message).toContain('use stream() for blobs over 2 GiB');
  });

  it('validates its options', () => {
    expect(() => createS3ArtifactStore({ client, bucket: '' })).toThrow(/bucket/);
    expect(() => createS3ArtifactStore({ client, bucket: 'a/b' })).toThrow(/prefix/);
    expect(() => createS3ArtifactStore({ client, bucket: 'b', partSize: 1024 })).toThrow(/5 MiB/);
    expect(() => createS3ArtifactStore({ client: {} as S3Client, bucket: 'b' })).toThrow(
      /S3Client/,
    );
  });

  it('turns a missing bucket into a StorageError naming it', async () => {
    const store = createS3ArtifactStore({ client, bucket: 'no-such-bucket' });
    const error = await errorOf(store.put('x'));
    expect(isKeelError(error, 'KEEL_STORAGE')).toBe(true);
    expect((error as Error).message).toContain('s3://no-such-bucket/');
  });
});

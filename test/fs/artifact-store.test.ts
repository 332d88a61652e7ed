import {
  existsSync,
  readdirSync,
  readFileSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { type Digest, digestOf, sha256 } from '../../src/core/digest.js';
import { isKeelError } from '../../src/core/errors.js';
import { collect } from '../../src/testing/assert.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { errorOf, tempRoot } from './helpers.js';

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0;
  for await (const chunk of chunks) size += chunk.length;
  return size;
}

async function* generated(total: number, chunk: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += chunk) {
    const part = new Uint8Array(Math.min(chunk, total - sent));
    for (let i = 0; i < part.length; i++) part[i] = (sent + i) % 251;
    yield part;
  }
}

describe('fs ArtifactStore', () => {
  it('lays blobs out by fan-out with a sidecar, and leaves no temp file behind', async () => {
    const root = tempRoot();
    const store = createFsArtifactStore({ root });
    const meta = await store.put('hello', { mediaType: 'text/plain', annotations: { k: 'v' } });
    const hex = meta.digest.slice(7);
    expect(readdirSync(join(root, 'sha256', hex.slice(0, 2))).sort()).toEqual([hex, `${hex}.json`]);
    expect(store.pathOf(meta.digest)).toBe(join(root, 'sha256', hex.slice(0, 2), hex));
    expect(readFileSync(store.pathOf(meta.digest), 'utf8')).toBe('hello');
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('streams a large body in and out, verifying it', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const total = 24 * 1024 * 1024 + 7;
    const meta = await store.put(generated(total, 1 << 20));
    expect(meta.size).toBe(total);
    expect(meta.digest).toBe(await digestOf(generated(total, 3 << 19)));
    expect(await drain(store.stream(meta.digest))).toBe(total);
  });

  it('stores nothing when expectedDigest does not match', async () => {
    const root = tempRoot();
    const store = createFsArtifactStore({ root });
    const wrong = sha256('other');
    const error = await errorOf(store.put('body', { expectedDigest: wrong }));
    expect(isKeelError(error, 'KEEL_INTEGRITY')).toBe(true);
    expect(await store.has(sha256('body'))).toBe(false);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(readdirSync(join(root, 'sha256'))).toEqual([]);
  });

  it('keeps the first metadata when two stores put the same bytes at once', async () => {
    const root = tempRoot();
    const a = createFsArtifactStore({ root });
    const b = createFsArtifactStore({ root });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).put('same bytes', {
          mediaType: `text/x-${i}`,
          annotations: { i: String(i) },
        }),
      ),
    );
    const stored = await a.stat(results[0]!.digest);
    for (const meta of results) expect(meta).toEqual(stored);
  });

  it('detects a blob modified on disk in get and in stream', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const { digest } = await store.put('original content');
    writeFileSync(store.pathOf(digest), 'tampered content');
    expect(isKeelError(await errorOf(store.get(digest)), 'KEEL_INTEGRITY')).toBe(true);
    expect(isKeelError(await errorOf(drain(store.stream(digest))), 'KEEL_INTEGRITY')).toBe(true);
  });

  it('reads a sidecar without its blob as absent, and a put completes it', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const { digest } = await store.put('orphaned', { mediaType: 'text/plain' });
    // A crash between the sidecar's rename and the blob's leaves exactly this state.
    await unlink(store.pathOf(digest));
    expect(await store.has(digest)).toBe(false);
    expect(await store.stat(digest)).toBeUndefined();
    expect(isKeelError(await errorOf(store.get(digest)), 'KEEL_NOT_FOUND')).toBe(true);
    expect(isKeelError(await errorOf(drain(store.stream(digest))), 'KEEL_NOT_FOUND')).toBe(true);
    expect((await collect(store.list())).length).toBe(0);
    expect(await store.delete(digest)).toBe(false);
    const again = await store.put('orphaned', { mediaType: 'text/csv' });
    expect(again.mediaType).toBe('text/csv');
    expect(new TextDecoder().decode(await store.get(digest))).toBe('orphaned');
  });

  it('reports a truncated sidecar as IntegrityError, still serves the verified bytes, and a put repairs it', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const { digest } = await store.put('payload', { mediaType: 'text/plain' });
    const sidecar = `${store.pathOf(digest)}.json`;
    writeFileSync(sidecar, readFileSync(sidecar, 'utf8').slice(0, 20));
    expect(isKeelError(await errorOf(store.stat(digest)), 'KEEL_INTEGRITY')).toBe(true);
    expect(new TextDecoder().decode(await store.get(digest))).toBe('payload');
    const repaired = await store.put('payload', { mediaType: 'text/markdown' });
    expect(repaired.mediaType).toBe('text/markdown');
    expect(await store.stat(digest)).toEqual(repaired);
  });

  it('lists across fan-out directories in digest order with after and limit', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const digests: Digest[] = [];
    for (let i = 0; i < 40; i++) digests.push((await store.put(`blob ${i}`)).digest);
    digests.sort();
    const all = (await collect(store.list())).map((m) => m.digest);
    expect(all).toEqual(digests);
    const page = (await collect(store.list({ after: digests[9]!, limit: 5 }))).map((m) => m.digest);
    expect(page).toEqual(digests.slice(10, 15));
    expect(await store.delete(digests[10]!)).toBe(true);
    expect(await store.delete(digests[10]!)).toBe(false);
    const next = (await collect(store.list({ after: digests[9]!, limit: 1 }))).map((m) => m.digest);
    expect(next).toEqual([digests[11]]);
  });

  it('uses the injected clock for createdAt', async () => {
    const clock = new ManualClock(Date.parse('2026-01-02T03:04:05.000Z'));
    const store = createFsArtifactStore({ root: tempRoot(), clock });
    expect((await store.put('x')).createdAt).toBe('2026-01-02T03:04:05.000Z');
  });

  it('removes temp files abandoned more than an hour ago', async () => {
    const root = tempRoot();
    await mkdir(join(root, 'tmp'), { recursive: true });
    const old = join(root, 'tmp', 'abc.blob');
    await writeFile(old, 'partial');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    await writeFile(join(root, 'tmp', 'def.blob'), 'in progress');
    const store = createFsArtifactStore({ root });
    await store.has(sha256('x'));
    expect(readdirSync(join(root, 'tmp'))).toEqual(['def.blob']);
  });

  it('turns I/O failures into StorageError naming the path', async () => {
    const root = tempRoot();
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    const error = await errorOf(createFsArtifactStore({ root: file }).put('x'));
    expect(isKeelError(error, 'KEEL_STORAGE')).toBe(true);
    expect((error as Error).message).toContain(file);
  });

  it('validates digests and options before touching the disk', async () => {
    const root = tempRoot();
    const store = createFsArtifactStore({ root });
    expect(
      isKeelError(await errorOf(store.get('sha256:../../etc' as Digest)), 'KEEL_VALIDATION'),
    ).toBe(true);
    expect(
      isKeelError(await errorOf(drain(store.stream('nope' as Digest))), 'KEEL_VALIDATION'),
    ).toBe(true);
    expect(
      isKeelError(await errorOf(store.put('x', { mediaType: 'bad' })), 'KEEL_VALIDATION'),
    ).toBe(true);
    expect(readdirSync(root)).toEqual([]);
    expect(() => createFsArtifactStore({ root: '' })).toThrow(/root/);
  });
});

describe('fsBackend', () => {
  it('puts artifacts and metadata under one root', async () => {
    const root = tempRoot();
    const backend = fsBackend({ root });
    await backend.artifacts.put('a');
    await backend.metadata.put('k', 1);
    expect(readdirSync(root).sort()).toEqual(['artifacts', 'metadata']);
    expect(backend.metadata.capabilities.sharedAcrossProcesses).toBe(true);
    await backend.close();
    expect((await backend.metadata.get('k'))?.value).toBe(1);
  });

  it('passes verifyExisting and onDamaged to its artifact store (issue 13)', async () => {
    const root = tempRoot();
    const damaged: string[] = [];
    const backend = fsBackend({
      root,
      verifyExisting: 'hash',
      onDamaged: ({ digest }) => damaged.push(digest),
    });
    const a = await backend.artifacts.put('abcdefgh');
    const b = await backend.artifacts.put('another blob');
    // same size, good sidecar: only verifyExisting: 'hash' sees it, and the put repairs it
    writeFileSync(backend.artifacts.pathOf(a.digest), 'ABCDEFGH');
    await backend.artifacts.put('abcdefgh');
    expect(new TextDecoder().decode(await backend.artifacts.get(a.digest))).toBe('abcdefgh');
    writeFileSync(`${backend.artifacts.pathOf(b.digest)}.json`, 'not json');
    expect((await collect(backend.artifacts.list())).map((m) => m.digest)).toEqual([a.digest]);
    expect(damaged).toEqual([b.digest]);
    // a wrong option is refused before anything is created
    const fresh = join(root, 'fresh');
    for (const bad of [{ verifyExisting: 'sha' }, { onDamaged: 'log it' }]) {
      const error = await errorOf(
        Promise.resolve().then(() => fsBackend({ root: fresh, ...(bad as object) })),
      );
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    }
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('fs ArtifactStore body failures', () => {
  it('passes a failing body error through unchanged and stores nothing', async () => {
    const root = tempRoot();
    const store = createFsArtifactStore({ root });
    const failure = new Error('upload dropped');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1000);
      throw failure;
    }
    expect(await errorOf(store.put(failing()))).toBe(failure);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(await collect(store.list())).toEqual([]);
  });
});

describe('fs ArtifactStore repair and damage (issue 16)', () => {
  it('replaces a stored blob of the wrong size when the same bytes are put again', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const meta = await store.put('the real bytes', { mediaType: 'text/plain' });
    writeFileSync(store.pathOf(meta.digest), 'short');
    expect(isKeelError(await errorOf(store.get(meta.digest)), 'KEEL_INTEGRITY')).toBe(true);
    const again = await store.put('the real bytes', { mediaType: 'text/csv' });
    expect(again).toEqual(meta); // the first put's metadata still stands
    expect(new TextDecoder().decode(await store.get(meta.digest))).toBe('the real bytes');
  });

  it('hashes a same-size stored blob when its sidecar is damaged, and replaces it', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const { digest } = await store.put('0123456789');
    writeFileSync(store.pathOf(digest), '9876543210');
    writeFileSync(`${store.pathOf(digest)}.json`, '{"v":1,');
    const again = await store.put('0123456789', { mediaType: 'text/plain' });
    expect(again.mediaType).toBe('text/plain');
    expect(new TextDecoder().decode(await store.get(digest))).toBe('0123456789');
  });

  it("with verifyExisting: 'hash', replaces a same-size corrupt blob under a good sidecar", async () => {
    const root = tempRoot();
    const bySize = createFsArtifactStore({ root });
    const byHash = createFsArtifactStore({ root, verifyExisting: 'hash' });
    const meta = await bySize.put('abcdefgh');
    writeFileSync(bySize.pathOf(meta.digest), 'ABCDEFGH');
    // Sizes agree and the sidecar vouches for the blob: the cheap check cannot see it.
    await bySize.put('abcdefgh');
    expect(isKeelError(await errorOf(bySize.get(meta.digest)), 'KEEL_INTEGRITY')).toBe(true);
    expect(await byHash.put('abcdefgh')).toEqual(meta);
    expect(new TextDecoder().decode(await bySize.get(meta.digest))).toBe('abcdefgh');
  });

  it('get of a blob over 2 GiB says to use stream()', async () => {
    const store = createFsArtifactStore({ root: tempRoot() });
    const { digest } = await store.put('small');
    // A sparse file: 2 GiB of size without 2 GiB of disk.
    truncateSync(store.pathOf(digest), 2 ** 31);
    const error = await errorOf(store.get(digest));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect((error as Error).message).toContain('use stream() for blobs over 2 GiB');
  });

  it('list skips an artifact whose sidecar is damaged and reports it', async () => {
    const damaged: { digest: string; location: string; code: string }[] = [];
    const store = createFsArtifactStore({
      root: tempRoot(),
      onDamaged: ({ digest, location, error }) => {
        damaged.push({ digest, location, code: error.code });
        throw new Error('a throwing listener changes nothing');
      },
    });
    const digests: Digest[] = [];
    for (let i = 0; i < 5; i++) digests.push((await store.put(`blob ${i}`)).digest);
    digests.sort();
    const broken = digests[2]!;
    writeFileSync(`${store.pathOf(broken)}.json`, 'not json');
    const listed = (await collect(store.list())).map((m) => m.digest);
    expect(listed).toEqual(digests.filter((d) => d !== broken));
    expect(damaged).toEqual([
      { digest: broken, location: `${store.pathOf(broken)}.json`, code: 'KEEL_INTEGRITY' },
    ]);
    // Without a listener the damaged artifact is still skipped, not thrown.
    const quiet = createFsArtifactStore({ root: store.root });
    expect((await collect(quiet.list())).length).toBe(4);
  });
});

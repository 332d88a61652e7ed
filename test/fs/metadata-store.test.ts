import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyLocation } from '../../src/backends/fs/key-path.js';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { sha256 } from '../../src/core/digest.js';
import { isKeelError } from '../../src/core/errors.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { errorOf, tempRoot } from './helpers.js';

async function keys(
  store: MetadataStore,
  prefix: string,
  opts?: { after?: string; limit?: number },
) {
  const out: string[] = [];
  for await (const doc of store.list(prefix, opts)) out.push(doc.key);
  return out;
}

async function entries(store: MetadataStore, log: string, from?: number) {
  const out: { offset: number; entry: unknown }[] = [];
  for await (const record of store.read(log, from === undefined ? undefined : { from }))
    out.push(record);
  return out;
}

function lockFile(root: string, kind: 'd' | 'l', key: string): string {
  return join(root, 'locks', `${kind}-${sha256(`${kind}\u0000${key}`).slice(7, 47)}.lock`);
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

describe('fs MetadataStore: keys', () => {
  it('refuses hostile keys with ValidationError and writes nothing', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    const hostile = [
      '..',
      'a/../b',
      '../x',
      'a/./b',
      'a\u0000b',
      '/abs',
      'C:\\x',
      'C:x',
      '',
      'a//b',
      'a/',
      'x'.repeat(10_000),
      '__proto__',
      'a/__proto__',
    ];
    for (const key of hostile) {
      expect(
        isKeelError(await errorOf(store.put(key, 1)), 'KEEL_VALIDATION'),
        JSON.stringify(key.slice(0, 20)),
      ).toBe(true);
      expect(isKeelError(await errorOf(store.get(key)), 'KEEL_VALIDATION')).toBe(true);
      expect(isKeelError(await errorOf(store.append(key, [1])), 'KEEL_VALIDATION')).toBe(true);
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('stores and lists keys differing only in case separately', async () => {
    const store = createFsMetadataStore({ root: tempRoot() });
    await store.put('Model', 'upper', { ifRevision: null });
    await store.put('model', 'lower', { ifRevision: null });
    await store.put('MODEL/x', 'nested', { ifRevision: null });
    expect((await store.get('Model'))?.value).toBe('upper');
    expect((await store.get('model'))?.value).toBe('lower');
    expect(await keys(store, '')).toEqual(['MODEL/x', 'Model', 'model']);
    expect(await keys(store, 'M')).toEqual(['MODEL/x', 'Model']);
    expect(await keys(store, 'm')).toEqual(['model']);
  });

  it('stores unicode, dotted, percent and tilde keys and reads them back exactly', async () => {
    const store = createFsMetadataStore({ root: tempRoot() });
    const odd = [
      'modèle/ünïcødé',
      '模型/版本',
      'emoji/😀',
      'dots/a.b.c',
      'pct/%41',
      'tilde/~x',
      'space/a b',
      'con',
      'nul/aux',
    ];
    for (const [i, key] of odd.entries()) await store.put(key, i);
    for (const [i, key] of odd.entries()) expect((await store.get(key))?.value).toBe(i);
    expect(await keys(store, '')).toEqual([...odd].sort());
    expect(await keys(store, '模型/')).toEqual(['模型/版本']);
    // a lone surrogate has no UTF-8 form, so no backend could keep it apart from U+FFFD
    await expect(store.put('lone/\ud800', 1)).rejects.toThrow(/lone surrogate/);
  });

  it('stores long segments and very deep keys under hashed names and still lists them by prefix', async () => {
    const store = createFsMetadataStore({ root: tempRoot() });
    const long = `runs/${'L'.repeat(700)}/params`;
    const deep = Array.from({ length: 250 }, (_, i) => (i % 2 ? '中' : '文')).join('/');
    const deepChild = `${deep}/leaf`;
    await store.put(long, 'long');
    await store.put(deep, 'deep');
    await store.put(deepChild, 'deeper');
    await store.put('runs/short', 'short');
    // The deep key is too long for one path: it is folded into a hashed file near the root.
    expect(keyLocation(deep, '.json').file).toMatch(/^~[0-9a-f]{64}\.json$/);
    expect((await store.get(long))?.value).toBe('long');
    expect((await store.get(deep))?.value).toBe('deep');
    expect((await store.get(deepChild))?.value).toBe('deeper');
    expect(await keys(store, 'runs/')).toEqual([long, 'runs/short'].sort());
    expect(await keys(store, `runs/${'L'.repeat(100)}`)).toEqual([long]);
    expect(await keys(store, deep.slice(0, 21))).toEqual([deep, deepChild]);
    expect(await keys(store, `${deep}/`)).toEqual([deepChild]);
    expect(await store.delete(deep)).toBe(true);
    expect(await keys(store, '文')).toEqual([deepChild]);
  });

  it('only reads the directories a prefix can reach', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.put('a/1', 1);
    await store.put('b/1', 1);
    // A corrupt document elsewhere does not disturb a listing that cannot reach it.
    writeFileSync(join(root, 'docs', 'b', '2.json'), '{ torn');
    expect(await keys(store, 'a/')).toEqual(['a/1']);
    expect(await keys(store, 'a')).toEqual(['a/1']);
    expect(isKeelError(await errorOf(keys(store, '')), 'KEEL_INTEGRITY')).toBe(true);
  });

  it('lists with after and limit in key order', async () => {
    const store = createFsMetadataStore({ root: tempRoot() });
    const all = ['x/a', 'x/a!', 'x/a/b', 'x/a0', 'x/b', 'x/B', 'y'];
    for (const key of all) await store.put(key, key);
    expect(await keys(store, 'x/')).toEqual(all.filter((k) => k.startsWith('x/')).sort());
    expect(await keys(store, 'x/', { after: 'x/a!', limit: 2 })).toEqual(['x/a/b', 'x/a0']);
    expect(await keys(store, '', { after: 'x/b' })).toEqual(['y']);
  });
});

describe('fs MetadataStore: documents', () => {
  it('gives a fresh revision after delete and recreate (no ABA)', async () => {
    const store = createFsMetadataStore({ root: tempRoot() });
    const first = await store.put('k', 1, { ifRevision: null });
    expect(await store.delete('k', { ifRevision: first.revision })).toBe(true);
    const second = await store.put('k', 1, { ifRevision: null });
    expect(second.revision).not.toBe(first.revision);
    expect(
      isKeelError(
        await errorOf(store.put('k', 2, { ifRevision: first.revision })),
        'KEEL_CONFLICT',
      ),
    ).toBe(true);
  });

  it('shares documents between two store instances on one root', async () => {
    const root = tempRoot();
    const a = createFsMetadataStore({ root });
    const b = createFsMetadataStore({ root });
    const { revision } = await a.put('shared', { n: 1 }, { ifRevision: null });
    expect(await b.get('shared')).toEqual({ value: { n: 1 }, revision });
    await b.put('shared', { n: 2 }, { ifRevision: revision });
    expect(
      isKeelError(
        await errorOf(a.put('shared', { n: 3 }, { ifRevision: revision })),
        'KEEL_CONFLICT',
      ),
    ).toBe(true);
    expect(a.capabilities.sharedAcrossProcesses).toBe(true);
  });

  it('never lets a stored __proto__ key reach a prototype', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.put('doc', { safe: true });
    const file = join(root, 'docs', 'doc.json');
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { revision: string };
    writeFileSync(
      file,
      `{"key":"doc","revision":"${stored.revision}","value":{"__proto__":{"polluted":true},"ok":1}}`,
    );
    const doc = await store.get('doc');
    expect(doc?.value).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(doc?.value)).toBe(Object.prototype);
  });

  it('reports an unreadable document as IntegrityError and lets an unconditional put repair it', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.put('doc', 1);
    writeFileSync(join(root, 'docs', 'doc.json'), '{"key":"doc","rev');
    expect(isKeelError(await errorOf(store.get('doc')), 'KEEL_INTEGRITY')).toBe(true);
    expect(
      isKeelError(await errorOf(store.put('doc', 2, { ifRevision: 'x' })), 'KEEL_INTEGRITY'),
    ).toBe(true);
    await store.put('doc', 3);
    expect((await store.get('doc'))?.value).toBe(3);
  });

  it('removes empty directories on delete and recreates them on put', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.put('a/b/c', 1);
    expect(await store.delete('a/b/c')).toBe(true);
    expect(readdirSync(join(root, 'docs'))).toEqual([]);
    await store.put('a/b/c', 2);
    expect((await store.get('a/b/c'))?.value).toBe(2);
  });

  it('turns I/O failures into StorageError naming the path', async () => {
    const root = tempRoot();
    const file = join(root, 'not-a-dir');
    writeFileSync(file, 'x');
    const store = createFsMetadataStore({ root: file });
    const error = await errorOf(store.put('k', 1));
    expect(isKeelError(error, 'KEEL_STORAGE')).toBe(true);
    expect((error as Error).message).toContain(file);
  });

  it('validates its options', () => {
    expect(() => createFsMetadataStore({ root: '' })).toThrow(/root/);
    expect(() => createFsMetadataStore({ root: 'x', lockStaleMs: -1 })).toThrow(/lockStaleMs/);
  });

  it('removes temp files abandoned more than an hour ago, and keeps recent ones', async () => {
    const root = tempRoot();
    await mkdir(join(root, 'tmp'), { recursive: true });
    const old = join(root, 'tmp', 'old.tmp');
    const recent = join(root, 'tmp', 'recent.tmp');
    await writeFile(old, 'x');
    await writeFile(recent, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    const store = createFsMetadataStore({ root });
    await store.get('anything');
    expect(readdirSync(join(root, 'tmp')).sort()).toEqual(['recent.tmp']);
  });
});

describe('fs MetadataStore: locks', () => {
  it('takes over a lock whose holder died', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root, lockTimeoutMs: 5_000 });
    await store.get('k');
    const info = {
      id: 'a'.repeat(24),
      pid: deadPid(),
      host: hostname(),
      boot: bootId(),
      at: Date.now(),
    };
    writeFileSync(lockFile(root, 'd', 'k'), JSON.stringify(info));
    const started = Date.now();
    await store.put('k', 1, { ifRevision: null });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(readdirSync(join(root, 'locks')).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('takes over a lock older than lockStaleMs even when its holder seems alive', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root, lockStaleMs: 200, lockTimeoutMs: 5_000 });
    await store.get('k');
    const info = {
      id: 'b'.repeat(24),
      pid: process.pid,
      host: 'elsewhere',
      boot: '',
      at: Date.now(),
    };
    writeFileSync(lockFile(root, 'l', 'log'), JSON.stringify(info));
    expect(await store.append('log', [1])).toEqual({ offset: 0 });
  });

  it('times out with TimeoutError on a live, fresh lock', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root, lockStaleMs: 60_000, lockTimeoutMs: 150 });
    await store.get('k');
    const info = {
      id: 'c'.repeat(24),
      pid: process.pid,
      host: hostname(),
      boot: bootId(),
      at: Date.now(),
    };
    writeFileSync(lockFile(root, 'd', 'k'), JSON.stringify(info));
    const error = await errorOf(store.put('k', 1));
    expect(isKeelError(error, 'KEEL_TIMEOUT')).toBe(true);
    expect((error as Error).message).toContain('.lock');
  });
});

describe('fs MetadataStore: logs', () => {
  it('ignores a torn last record and truncates it on the next append', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.append('runs/1/metrics', [{ a: 1 }, { a: 2 }]);
    const file = join(root, 'logs', 'runs', '1', 'metrics.log');
    const size = statSync(file).size;
    appendFileSync(file, '2 1 0badc0de [{"a":');
    expect(await entries(store, 'runs/1/metrics')).toEqual([
      { offset: 0, entry: { a: 1 } },
      { offset: 1, entry: { a: 2 } },
    ]);
    // A fresh instance (another process) has no cached position and must find the tear itself.
    const other = createFsMetadataStore({ root });
    expect(await other.append('runs/1/metrics', [{ a: 3 }])).toEqual({ offset: 2 });
    expect(readFileSync(file, 'utf8').slice(size)).not.toContain('0badc0de');
    expect((await entries(store, 'runs/1/metrics')).map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it('treats a complete last line with a bad checksum as corruption: never dropped, its offset never reused', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.append('l', [1]);
    const file = join(root, 'logs', 'l.log');
    appendFileSync(file, '1 1 00000000 [2]\n');
    const planted = readFileSync(file, 'utf8');
    for (const reader of [store, createFsMetadataStore({ root })]) {
      const error = await errorOf(entries(reader, 'l'));
      expect(isKeelError(error, 'KEEL_INTEGRITY')).toBe(true);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toContain('byte 34');
      expect((error as Error).message).toContain('offset 1');
      expect((error as Error).message).toContain('truncating the file to 34 bytes');
      expect(isKeelError(await errorOf(reader.append('l', [3])), 'KEEL_INTEGRITY')).toBe(true);
    }
    // Nothing was appended after the corrupt record.
    expect(readFileSync(file, 'utf8')).toBe(planted);
  });

  it('flags a flipped byte in the last record instead of dropping it and reusing its offset', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.append('l', [1]);
    await store.append('l', [2]);
    await store.append('l', [3]);
    const file = join(root, 'logs', 'l.log');
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = '4'.charCodeAt(0); // [3] -> [4]
    writeFileSync(file, bytes);
    const fresh = createFsMetadataStore({ root });
    expect(isKeelError(await errorOf(entries(fresh, 'l')), 'KEEL_INTEGRITY')).toBe(true);
    expect(isKeelError(await errorOf(fresh.append('l', [5])), 'KEEL_INTEGRITY')).toBe(true);
    expect(readFileSync(file)).toEqual(bytes);
  });

  it('reports a corrupt record in the middle with its offset, after the records before it', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.append('l', [1]);
    await store.append('l', [2]);
    await store.append('l', [3]);
    const file = join(root, 'logs', 'l.log');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('[2]', '[9]');
    writeFileSync(file, lines.join('\n'));
    const seen: unknown[] = [];
    const error = await errorOf(
      (async () => {
        for await (const record of createFsMetadataStore({ root }).read('l'))
          seen.push(record.entry);
      })(),
    );
    expect(seen).toEqual([1]);
    expect(isKeelError(error, 'KEEL_INTEGRITY')).toBe(true);
    expect((error as { details?: unknown }).details).toMatchObject({ path: file, offset: 1 });
    expect(isKeelError(await errorOf(entries(store, 'l', 2)), 'KEEL_INTEGRITY')).toBe(true);
    expect(
      isKeelError(
        await errorOf(createFsMetadataStore({ root }).append('l', [4])),
        'KEEL_INTEGRITY',
      ),
    ).toBe(true);
  });

  it('reads from any offset of a long log, across instances appending in turn', async () => {
    const root = tempRoot();
    const a = createFsMetadataStore({ root });
    const b = createFsMetadataStore({ root });
    let next = 0;
    for (let i = 0; i < 300; i++) {
      const batch = Array.from({ length: 1 + (i % 4) }, (_, k) => ({
        n: next + k,
        pad: 'p'.repeat(400),
      }));
      const { offset } = await (i % 3 ? a : b).append('big', batch);
      expect(offset).toBe(next);
      next += batch.length;
    }
    for (const store of [a, b, createFsMetadataStore({ root })]) {
      for (const from of [0, 1, 137, 500, next - 1, next, next + 5]) {
        const got = await entries(store, 'big', from);
        expect(got.length).toBe(Math.max(0, next - from));
        got.forEach((record, i) => {
          expect(record.offset).toBe(from + i);
          expect((record.entry as { n: number }).n).toBe(from + i);
        });
      }
    }
  });

  it('reads nothing from a log that does not exist', async () => {
    const store = createFsMetadataStore({ root: tempRoot() });
    expect(await entries(store, 'nothing/here')).toEqual([]);
  });
});

import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import {
  createFsMetadataStore,
  type FsMetadataStore,
} from '../../src/backends/fs/metadata-store.js';
import { sha256 } from '../../src/core/digest.js';
import { isKeelError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';
import { collect } from '../../src/testing/assert.js';
import { errorOf, tempRoot } from './helpers.js';

/** An outside file and directory that a planted link points at; they must never change. */
function outside() {
  const dir = tempRoot('keel-outside-');
  const file = join(dir, 'precious.txt');
  writeFileSync(file, 'precious');
  return {
    dir,
    file,
    untouched() {
      expect(readFileSync(file, 'utf8')).toBe('precious');
      expect(readdirSync(dir)).toEqual(['precious.txt']);
    },
  };
}

/** Expects a refusal that names the link. */
async function refused(promise: Promise<unknown>, link: string): Promise<void> {
  const error = await errorOf(promise);
  expect(isKeelError(error, 'KEEL_STORAGE'), String(error)).toBe(true);
  expect((error as Error).message).toContain(link);
  expect((error as Error).message).toContain('symbolic link');
}

/** Replaces `path` (a file or directory keel made) with a link to `target`. */
function plant(path: string, target: string): void {
  rmSync(path, { recursive: true, force: true });
  symlinkSync(target, path);
}

describe('fs MetadataStore never follows a symbolic link inside its root', () => {
  it('a document file', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.put('a/doc', 1);
    const out = outside();
    const link = join(root, 'docs', 'a', 'doc.json');
    plant(link, out.file);
    await refused(store.get('a/doc'), link);
    await refused(store.put('a/doc', 2), link);
    await refused(store.put('a/doc', 2, { ifRevision: null }), link);
    await refused(store.delete('a/doc'), link);
    await refused(collect(store.list('a/')), link);
    await refused(store.batch([{ op: 'put', key: 'a/doc', value: 3 }]), link);
    out.untouched();
  });

  it('a log file', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.append('registry/audit', ['x']);
    const out = outside();
    const link = join(root, 'logs', 'registry', 'audit.log');
    plant(link, out.file);
    await refused(store.append('registry/audit', ['y']), link);
    await refused(collect(store.read('registry/audit')), link);
    await refused(store.batch([{ op: 'append', log: 'registry/audit', entries: ['z'] }]), link);
    out.untouched();
  });

  it('a directory on the way to a document or a log', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.put('registry/aliases/staging', 1);
    await store.append('runs/1/metrics', [1]);
    const out = outside();
    const docsLink = join(root, 'docs', 'registry', 'aliases');
    plant(docsLink, out.dir);
    await refused(store.put('registry/aliases/prod', { version: 1 }), docsLink);
    await refused(store.get('registry/aliases/prod'), docsLink);
    await refused(store.delete('registry/aliases/staging'), docsLink);
    await refused(collect(store.list('registry/')), docsLink);
    await refused(collect(store.list('registry/aliases/')), docsLink);
    const logsLink = join(root, 'logs', 'runs', '1');
    plant(logsLink, out.dir);
    await refused(store.append('runs/1/metrics', [2]), logsLink);
    await refused(collect(store.read('runs/1/metrics')), logsLink);
    out.untouched();
  });

  it('the directories of the layout: docs, logs, tmp, locks, intents', async () => {
    const uses: Record<string, ((store: FsMetadataStore) => Promise<unknown>)[]> = {
      docs: [(s) => s.put('k', 2), (s) => s.get('k'), (s) => collect(s.list(''))],
      logs: [(s) => s.append('l', [2]), (s) => collect(s.read('l'))],
      tmp: [(s) => s.put('k', 2), (s) => s.batch([{ op: 'put', key: 'k', value: 3 }])],
      locks: [(s) => s.put('k', 2), (s) => s.append('l', [2]), (s) => s.delete('k')],
      intents: [(s) => s.get('k'), (s) => s.put('k', 2), (s) => collect(s.read('l'))],
    };
    for (const [dir, operations] of Object.entries(uses)) {
      const root = tempRoot();
      const store = createFsMetadataStore({ root });
      await store.put('k', 1);
      await store.append('l', [1]);
      const out = outside();
      const link = join(root, dir);
      plant(link, out.dir);
      for (const operation of operations) {
        await refused(operation(store), link);
        // Also for a store opened after the link was planted.
        await refused(operation(createFsMetadataStore({ root })), link);
      }
      out.untouched();
    }
  });

  it('a lock', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root, lockTimeoutMs: 500 });
    await store.put('k', 1);
    const out = outside();
    const link = join(root, 'locks', `d-${sha256('d\u0000k').slice(7, 47)}.lock`);
    symlinkSync(out.dir, link);
    await refused(store.put('k', 3), link);
    out.untouched();
  });

  it('a batch intent', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.get('k');
    const out = outside();
    const link = join(root, 'intents', '01hzzzzzzzzzzzzzzzzzzzzzzz.json');
    symlinkSync(out.file, link);
    await refused(store.get('k'), link);
    out.untouched();
  });

  it('the store root itself may be a link', async () => {
    const real = tempRoot();
    const parent = tempRoot();
    const root = join(parent, 'store');
    symlinkSync(real, root);
    const store = createFsMetadataStore({ root });
    await store.put('k', 1);
    await store.append('l', [1]);
    expect((await store.get('k'))?.value).toBe(1);
    expect(readFileSync(join(real, 'docs', 'k.json'), 'utf8')).toContain('"key":"k"');
  });

  it('the registry audit log (the reported case): setAlias refuses, the outside file is intact', async () => {
    const root = tempRoot();
    const keel = createKeel({ backend: fsBackend({ root }) });
    const { digest } = await keel.artifacts.put('weights');
    await keel.registry.registerVersion('m', { artifact: digest });
    const out = outside();
    const link = join(root, 'metadata', 'logs', 'registry', 'audit.log');
    plant(link, out.file);
    const error = await errorOf(keel.registry.setAlias('m', 'prod', 1));
    expect(isKeelError(error)).toBe(true);
    out.untouched();
  });
});

describe('fs ArtifactStore never follows a symbolic link inside its root', () => {
  const setup = async () => {
    const root = tempRoot();
    const store = createFsArtifactStore({ root });
    const { digest } = await store.put('model weights');
    const blob = store.pathOf(digest);
    return { root, store, digest, blob, sidecar: `${blob}.json` };
  };

  it('a blob file', async () => {
    const { store, digest, blob } = await setup();
    const out = outside();
    plant(blob, out.file);
    await refused(store.get(digest), blob);
    await refused(collect(store.stream(digest)), blob);
    await refused(store.put('model weights'), blob);
    out.untouched();
  });

  it('a sidecar file', async () => {
    const { store, digest, sidecar } = await setup();
    const out = outside();
    plant(sidecar, out.file);
    await refused(store.stat(digest), sidecar);
    await refused(store.put('model weights'), sidecar);
    out.untouched();
  });

  it('a fan-out directory, and the layout directories sha256, tmp and locks', async () => {
    for (const which of ['fan', 'sha256', 'tmp', 'locks']) {
      const { root, store, digest, blob } = await setup();
      const out = outside();
      const link =
        which === 'fan' ? join(blob, '..') : join(root, which === 'sha256' ? 'sha256' : which);
      plant(link, out.dir);
      const attempts: (() => Promise<unknown>)[] =
        which === 'tmp' || which === 'locks'
          ? [() => store.put('other bytes')]
          : [
              () => store.get(digest),
              () => store.stat(digest),
              () => store.put('model weights'),
              () => collect(store.list()),
            ];
      for (const attempt of attempts) await refused(attempt(), link);
      out.untouched();
    }
  });
});

import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createFsMetadataStore,
  createFsMetadataStoreWithHooks,
} from '../../src/backends/fs/metadata-store.js';
import { isKeelError } from '../../src/core/errors.js';
import { collect } from '../../src/testing/assert.js';
import { deleteHeldLocks, errorOf, tempRoot } from './helpers.js';

class SimulatedCrash extends Error {}

function deleteLocks(root: string): void {
  deleteHeldLocks(join(root, 'locks'));
}

const intentFiles = (root: string) =>
  readdirSync(join(root, 'intents')).filter((n) => n.endsWith('.json'));

describe('fs MetadataStore: atomic batch', () => {
  it('declares atomicBatch', () => {
    expect(createFsMetadataStore({ root: tempRoot() }).capabilities).toMatchObject({
      atomicBatch: true,
      sharedAcrossProcesses: true,
    });
  });

  it('leaves no intent behind once a batch is applied', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.batch([
      { op: 'put', key: 'a', value: 1 },
      { op: 'append', log: 'l', entries: [1] },
    ]);
    expect(readdirSync(join(root, 'intents'))).toEqual([]);
  });

  it('a reader completes a batch that crashed after committing, across every key it touched', async () => {
    const root = tempRoot();
    const crashing = createFsMetadataStoreWithHooks(
      { root },
      {
        afterIntentCommit: () => {
          throw new SimulatedCrash();
        },
      },
    );
    await crashing.append('audit', ['genesis']);
    const error = await errorOf(
      crashing.batch([
        { op: 'put', key: 'models/m/versions/1', value: { v: 1 }, ifRevision: null },
        { op: 'append', log: 'audit', entries: ['registered v1'], expectedOffset: 1 },
      ]),
    );
    expect(error).toBeInstanceOf(SimulatedCrash);
    expect(intentFiles(root)).toHaveLength(1);
    // Nothing applied on disk yet ...
    expect(existsSync(join(root, 'docs', 'models', 'm', 'versions', '1.json'))).toBe(false);
    // ... but any reader of a key of the batch sees all of it.
    const reader = createFsMetadataStore({ root });
    expect((await reader.get('models/m/versions/1'))?.value).toEqual({ v: 1 });
    expect((await collect(reader.read('audit'))).map((r) => r.entry)).toEqual([
      'genesis',
      'registered v1',
    ]);
    expect(intentFiles(root)).toEqual([]);
  });

  it('a writer completes a crashed batch before writing, so its condition sees the batch', async () => {
    const root = tempRoot();
    const crashing = createFsMetadataStoreWithHooks(
      { root },
      {
        afterIntentCommit: () => {
          throw new SimulatedCrash();
        },
      },
    );
    await errorOf(crashing.batch([{ op: 'put', key: 'k', value: 'batch', ifRevision: null }]));
    const writer = createFsMetadataStore({ root });
    expect(
      isKeelError(await errorOf(writer.put('k', 'late', { ifRevision: null })), 'KEEL_CONFLICT'),
    ).toBe(true);
    expect((await writer.get('k'))?.value).toBe('batch');
  });

  it('discards a batch that crashed before committing', async () => {
    const root = tempRoot();
    const crashing = createFsMetadataStoreWithHooks(
      { root },
      {
        beforeCommit: (kind) => {
          if (kind === 'intent') throw new SimulatedCrash();
        },
      },
    );
    await errorOf(
      crashing.batch([
        { op: 'put', key: 'k', value: 'batch' },
        { op: 'append', log: 'l', entries: ['batch'] },
      ]),
    );
    const store = createFsMetadataStore({ root });
    expect(await store.get('k')).toBeUndefined();
    expect(await collect(store.read('l'))).toEqual([]);
    await store.batch([{ op: 'put', key: 'k', value: 'next' }]);
    expect((await store.get('k'))?.value).toBe('next');
    expect(readdirSync(join(root, 'intents')).filter((n) => !n.startsWith('.x-'))).toEqual([]);
  });

  it('a batch that lost one of its locks before committing writes nothing', async () => {
    const root = tempRoot();
    const other = createFsMetadataStore({ root });
    const { revision } = await other.put('b', 'b0');
    let armed = true;
    const paused = createFsMetadataStoreWithHooks(
      { root },
      {
        async beforeCommit(kind) {
          if (!armed || kind !== 'intent') return;
          armed = false;
          // Paused right before its commit: its locks go, another writer changes one key.
          deleteLocks(root);
          await other.put('b', 'other', { ifRevision: revision });
        },
      },
    );
    const error = await errorOf(
      paused.batch([
        { op: 'put', key: 'a', value: 'batch' },
        { op: 'put', key: 'b', value: 'batch', ifRevision: revision },
        { op: 'append', log: 'l', entries: ['batch'] },
      ]),
    );
    expect(isKeelError(error, 'KEEL_CONFLICT')).toBe(true);
    expect(await other.get('a')).toBeUndefined();
    expect((await other.get('b'))?.value).toBe('other');
    expect(await collect(other.read('l'))).toEqual([]);
    expect(intentFiles(root)).toEqual([]);
  });

  it('a batch that lost its locks after committing is completed by the next process', async () => {
    const root = tempRoot();
    const losing = createFsMetadataStoreWithHooks(
      { root },
      {
        afterIntentCommit: () => deleteLocks(root),
      },
    );
    const results = await losing.batch([
      { op: 'put', key: 'a', value: 1, ifRevision: null },
      { op: 'append', log: 'l', entries: ['x'] },
    ]);
    expect(results.map((r) => r.op)).toEqual(['put', 'append']);
    const next = createFsMetadataStore({ root });
    expect(await next.get('a')).toEqual({
      value: 1,
      revision: (results[0] as { revision: string }).revision,
    });
    expect(await collect(next.read('l'))).toEqual([{ offset: 0, entry: 'x' }]);
    expect(intentFiles(root)).toEqual([]);
  });

  it('refuses an intent that is not readable with IntegrityError naming the file', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    await store.get('k');
    const file = join(root, 'intents', '01hzzzzzzzzzzzzzzzzzzzzzzz.json');
    writeFileSync(file, '{"v":1,"id":');
    const error = await errorOf(store.get('k'));
    expect(isKeelError(error, 'KEEL_INTEGRITY')).toBe(true);
    expect((error as Error).message).toContain(file);
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createFsMetadataStore,
  createFsMetadataStoreWithHooks,
} from '../../src/backends/fs/metadata-store.js';
import { isKeelError } from '../../src/core/errors.js';
import { collect } from '../../src/testing/assert.js';
import { deleteHeldLocks, errorOf, tempRoot } from './helpers.js';

function deleteLocks(root: string): void {
  deleteHeldLocks(join(root, 'locks'));
}

/**
 * A store whose next commit of `kind` is preceded by `meanwhile`: what happens while a holder
 * is paused right before its commit (its lock deleted, another process writing).
 */
function pausedStore(
  root: string,
  kind: 'document' | 'delete' | 'log',
  meanwhile: () => Promise<void>,
) {
  let armed = true;
  return createFsMetadataStoreWithHooks(
    { root },
    {
      async beforeCommit(what) {
        if (!armed || what !== kind) return;
        armed = false;
        deleteLocks(root);
        await meanwhile();
      },
    },
  );
}

describe('fs MetadataStore: a holder that lost its lock cannot commit', () => {
  it('put: the paused writer fails with ConflictError and the other write stands', async () => {
    const root = tempRoot();
    const other = createFsMetadataStore({ root });
    const paused = pausedStore(root, 'document', async () => {
      await other.put('k', 'other');
    });
    const error = await errorOf(paused.put('k', 'paused'));
    expect(isKeelError(error, 'KEEL_CONFLICT')).toBe(true);
    expect((error as Error).message).toContain('lost the lock');
    expect((await other.get('k'))?.value).toBe('other');
  });

  it('compare-and-swap: one increment per revision, never two', async () => {
    const root = tempRoot();
    const other = createFsMetadataStore({ root });
    const { revision } = await other.put('counter', 1);
    const paused = pausedStore(root, 'document', async () => {
      await other.put('counter', 2, { ifRevision: revision });
    });
    const error = await errorOf(paused.put('counter', 2, { ifRevision: revision }));
    expect(isKeelError(error, 'KEEL_CONFLICT')).toBe(true);
    const now = await other.get('counter');
    expect(now?.value).toBe(2);
    expect(now?.revision).not.toBe(revision);
  });

  it('delete: the paused deleter fails and the document written meanwhile survives', async () => {
    const root = tempRoot();
    const other = createFsMetadataStore({ root });
    await other.put('k', 'first');
    const paused = pausedStore(root, 'delete', async () => {
      await other.put('k', 'second');
    });
    expect(isKeelError(await errorOf(paused.delete('k')), 'KEEL_CONFLICT')).toBe(true);
    expect((await other.get('k'))?.value).toBe('second');
  });

  it('append: the paused appender fails, its entry never shows, and the offset is not reused', async () => {
    const root = tempRoot();
    const other = createFsMetadataStore({ root });
    await other.append('log', ['zero']);
    const told: number[] = [];
    const paused = pausedStore(root, 'log', async () => {
      told.push((await other.append('log', ['other'])).offset);
    });
    const error = await errorOf(paused.append('log', ['paused']));
    expect(isKeelError(error, 'KEEL_CONFLICT')).toBe(true);
    expect(told).toEqual([1]);
    const records = await collect(createFsMetadataStore({ root }).read('log'));
    expect(records).toEqual([
      { offset: 0, entry: 'zero' },
      { offset: 1, entry: 'other' },
    ]);
    // The next appends build on the log as acknowledged, not on the fenced-out line.
    expect(await paused.append('log', ['next'])).toEqual({ offset: 2 });
    expect(await other.append('log', ['last'])).toEqual({ offset: 3 });
    expect((await collect(other.read('log'))).map((r) => r.entry)).toEqual([
      'zero',
      'other',
      'next',
      'last',
    ]);
  });

  it('append: a write that landed before anyone else wrote counts, and says so', async () => {
    const root = tempRoot();
    // The lock is deleted under the writer, but nobody else writes: its line is the log's.
    const paused = pausedStore(root, 'log', async () => undefined);
    expect(await paused.append('log', ['mine'])).toEqual({ offset: 0 });
    const other = createFsMetadataStore({ root });
    expect(await other.append('log', ['next'])).toEqual({ offset: 1 });
    expect((await collect(other.read('log'))).map((r) => r.entry)).toEqual(['mine', 'next']);
  });
});

import { describe, expect, it } from 'vitest';
import { createMemoryMetadataStore } from '../../../src/backends/memory/metadata-store.js';
import { isKeelError } from '../../../src/core/errors.js';
import {
  defaultReplicaId,
  REPLICA_ID_PATTERN,
  ReplicaBoard,
} from '../../../src/ops/replicas/board.js';
import { ManualClock } from '../../../src/testing/manual-clock.js';

function boards(ids: string[], staleAfterMs = 1000) {
  const store = createMemoryMetadataStore();
  const clock = new ManualClock();
  const make = (id: string) =>
    new ReplicaBoard({ store, prefix: 'ops/replicas/test/g/', id, staleAfterMs, clock });
  return { store, clock, make, all: ids.map(make) };
}

const ids = (peers: { id: string }[]) => peers.map((p) => p.id).sort();

describe('replica board', () => {
  it('shows each replica the others, not itself', async () => {
    const { all } = boards(['a', 'b', 'c']);
    await Promise.all(all.map((board, i) => board.publish({ n: i })));
    expect(await all[0]!.peers()).toEqual([
      { id: 'b', payload: { n: 1 } },
      { id: 'c', payload: { n: 2 } },
    ]);
    expect(ids(await all[2]!.peers())).toEqual(['a', 'b']);
  });

  it('drops a peer whose document has not changed for staleAfterMs, and deletes it', async () => {
    const { store, clock, all } = boards(['a', 'b', 'c']);
    const [a, b, c] = all as [ReplicaBoard, ReplicaBoard, ReplicaBoard];
    await Promise.all(all.map((board) => board.publish({})));
    expect(ids(await a.peers())).toEqual(['b', 'c']);
    clock.advance(600);
    await b.publish({ later: true }); // b is alive, c went silent
    expect(ids(await a.peers())).toEqual(['b', 'c']);
    clock.advance(600); // c unchanged for 1200 ms > 1000; b for 600
    expect(ids(await a.peers())).toEqual(['b']);
    expect(await store.get(c.key)).toBeUndefined();
    // c comes back: its next write recreates its document, and it is live again.
    await c.publish({ back: true });
    expect(ids(await a.peers())).toEqual(['b', 'c']);
  });

  it('never deletes a document rewritten after it was judged stale (compare-and-swap)', async () => {
    const inner = createMemoryMetadataStore();
    const clock = new ManualClock();
    let beforeDelete: (() => Promise<void>) | undefined;
    const store = {
      ...inner,
      get: inner.get.bind(inner),
      put: inner.put.bind(inner),
      list: inner.list.bind(inner),
      append: inner.append.bind(inner),
      read: inner.read.bind(inner),
      async delete(key: string, opts?: { ifRevision?: string }) {
        await beforeDelete?.();
        return inner.delete(key, opts);
      },
    };
    const make = (id: string) =>
      new ReplicaBoard({ store, prefix: 'p/', id, staleAfterMs: 1000, clock });
    const a = make('a');
    const b = make('b');
    await b.publish({ v: 1 });
    await a.peers();
    clock.advance(5000);
    // b writes between a's listing (stale) and a's delete.
    beforeDelete = async () => {
      beforeDelete = undefined;
      await b.publish({ v: 2 });
    };
    expect(ids(await a.peers())).toEqual([]);
    expect((await store.get(b.key))?.value).toMatchObject({ payload: { v: 2 } });
    expect(ids(await a.peers())).toEqual(['b']);
  });

  it('refuses a second process publishing under the same id (ConflictError)', async () => {
    const { make } = boards([]);
    const first = make('same');
    const second = make('same');
    await first.publish({});
    let caught: unknown;
    try {
      await second.publish({});
    } catch (error) {
      caught = error;
    }
    expect(isKeelError(caught, 'KEEL_CONFLICT')).toBe(true);
    await first.publish({ still: 'mine' });
  });

  it('withdraws its document', async () => {
    const { store, make } = boards([]);
    const board = make('a');
    await board.publish({});
    await board.withdraw();
    expect(await store.get(board.key)).toBeUndefined();
  });

  it('makes default ids that are valid and distinct', () => {
    const a = defaultReplicaId();
    const b = defaultReplicaId();
    expect(a).toMatch(REPLICA_ID_PATTERN);
    expect(a).not.toBe(b);
    expect(a).toContain(String(process.pid));
  });
});

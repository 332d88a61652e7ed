import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { systemClock } from '../../src/core/clock.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import type { CompactionStep } from '../../src/tracking/journal-compaction.js';
import { JOURNAL_HEAD_KEY, readHead, SNAPSHOTS_PREFIX } from '../../src/tracking/journal-head.js';
import { trackingKeys } from '../../src/tracking/records.js';
import { RunIndex } from '../../src/tracking/run-index.js';
import { snapshotKeys } from '../../src/tracking/search-snapshot.js';
import { createTracker, type TrackerOptions } from '../../src/tracking/tracker.js';
import type { Run } from '../../src/tracking/types.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A memory store that counts how run documents are read. */
function countingStore(inner: MetadataStore = createMemoryMetadataStore()) {
  const counts = { runGets: 0, runLists: 0, headPuts: 0 };
  const store: MetadataStore = {
    put: async (...args) => {
      if (args[0] === JOURNAL_HEAD_KEY) counts.headPuts++;
      return inner.put(...args);
    },
    delete: inner.delete,
    append: inner.append,
    read: inner.read,
    async get(key) {
      if (key.startsWith(trackingKeys.runsPrefix)) counts.runGets++;
      return inner.get(key);
    },
    list(prefix, opts) {
      if (prefix === trackingKeys.runsPrefix) counts.runLists++;
      return inner.list(prefix, opts);
    },
  };
  return { store, counts, inner };
}

const artifacts = createMemoryArtifactStore();
const make = (metadata: MetadataStore, extra: Partial<TrackerOptions> = {}) =>
  createTracker({ metadata, artifacts, flushIntervalMs: 0, searchSnapshotEvery: 8, ...extra });

/** Waits until background compactions have settled. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function writeRuns(tracker: ReturnType<typeof make>, n: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + n; i++) {
    const run = await tracker.startRun({
      experiment: i % 2 ? 'snap' : 'other',
      params: { i },
      tags: { n: String(i) },
    });
    run.logMetric('acc', i / 1000);
    await run.end(i % 5 === 0 ? 'failed' : 'completed');
    ids.push(run.id);
  }
  return ids;
}

const byId = (runs: Run[]) => [...runs].sort((a, b) => (a.id < b.id ? -1 : 1));

/** Every run, as a tracker that reads every run document sees them. */
async function truth(store: MetadataStore): Promise<Run[]> {
  const fresh = createTracker({ metadata: store, artifacts, searchSnapshotEvery: 0 });
  return byId((await fresh.searchRuns({ limit: 1000 })).runs);
}

/** Every run, as a new tracker starting from the journal head's snapshot sees them. */
async function seen(store: MetadataStore): Promise<Run[]> {
  return byId((await make(store).searchRuns({ limit: 1000 })).runs);
}

describe('journal compaction and search snapshots', () => {
  it('a writer compacts as it goes; a new process starts from the snapshot and reads only the runs of its page', async () => {
    const { store, counts, inner } = countingStore();
    const writer = make(store);
    await writeRuns(writer, 300);
    await settle();
    expect(counts.headPuts).toBeGreaterThan(0);
    const head = await readHead(inner);
    expect(head.snapshot).toBeDefined();
    expect(head.previous).toBeDefined();
    // the journal log in use is short: the compacted entries are in the snapshot
    let entries = 0;
    for await (const _ of inner.read(head.log)) entries++;
    expect(entries).toBeLessThan(300);
    await writeRuns(writer, 5, 300);
    const reader = make(store);
    counts.runGets = 0;
    counts.runLists = 0;
    const page = await reader.searchRuns({ limit: 10, filter: 'metrics.acc >= 0.1' });
    expect(page.runs.map((r) => r.params.i)).toEqual(Array.from({ length: 10 }, (_, k) => 304 - k));
    expect(counts.runLists).toBe(0);
    expect(counts.runGets).toBeLessThan(60);
    expect(await seen(store)).toEqual(await truth(inner));
    // the writer started from its own snapshots: it still finds every run
    expect(byId((await writer.searchRuns({ limit: 1000 })).runs)).toEqual(await truth(inner));
    expect(
      (
        await reader.searchRuns({ filter: "metrics.acc >= 0.3 and attributes.status = 'failed'" })
      ).runs.map((r) => r.params.i),
    ).toEqual([300]);
    const snap = await reader.searchRuns({ experiment: 'snap', orderBy: ['params.i'], limit: 3 });
    expect(snap.runs.map((r) => r.params.i)).toEqual([1, 3, 5]);
  });

  it('a first search that had to read everything compacts for the next process', async () => {
    const { store, counts } = countingStore();
    await writeRuns(make(store, { searchSnapshotEvery: 0 }), 300);
    expect(counts.headPuts).toBe(0);
    await make(store).searchRuns();
    await settle();
    expect(counts.headPuts).toBe(1);
    counts.runLists = 0;
    await make(store).searchRuns();
    expect(counts.runLists).toBe(0);
  });

  it('is never stale: runs changed after the snapshot are read again', async () => {
    const { store, inner } = countingStore();
    const ids = await writeRuns(make(store), 40);
    const kept = await make(store).startRun({ experiment: 'snap' });
    ids.push(kept.id);
    await settle();
    expect(await new RunIndex(store, systemClock, 8).compact()).toBe(true);
    // another writer changes a run the snapshot holds, and adds one
    const other = make(store, { searchSnapshotEvery: 0 });
    const open = await other.startRun({ experiment: 'snap', tags: { late: 'yes' } });
    const again = await other.resumeRun(open.id);
    await again.setTags({ later: 'too' });
    await (await other.resumeRun(kept.id)).setTags({ changed: 'yes' });
    const reader = make(store);
    expect(
      (await reader.searchRuns({ filter: "tags.changed = 'yes'" })).runs.map((r) => r.id),
    ).toEqual([kept.id]);
    const { runs } = await reader.searchRuns({ filter: "tags.later = 'too'" });
    expect(runs.map((r) => r.id)).toEqual([open.id]);
    expect((await reader.searchRuns({ limit: 100 })).runs).toHaveLength(ids.length + 1);
    expect(await seen(store)).toEqual(await truth(inner));
  });

  it('keeps pending journal entries: a document announced but not yet written is read later', async () => {
    const { store } = countingStore();
    const writer = make(store, { searchSnapshotEvery: 0 });
    await writeRuns(writer, 20);
    const run = await writer.startRun({ experiment: 'snap' });
    const stored = (await store.get(trackingKeys.run(run.id)))!;
    await store.append(trackingKeys.journal, [[run.id, 1]]);
    const first = new RunIndex(store, systemClock, 1);
    expect(await first.compact()).toBe(true);
    const head = await readHead(store);
    const manifest = (await store.get(snapshotKeys(head.snapshot!).manifest))!.value as {
      pending: unknown;
    };
    expect(manifest.pending).toEqual([[run.id, 1, expect.any(Number)]]);
    await store.put(
      trackingKeys.run(run.id),
      { ...(stored.value as object), seq: 1, tags: { t: 'x' } },
      { ifRevision: stored.revision },
    );
    const second = make(store, { searchSnapshotEvery: 1 });
    expect((await second.searchRuns({ filter: "tags.t = 'x'" })).runs).toHaveLength(1);
  });

  it('a damaged or missing snapshot is reported and the runs are listed instead', async () => {
    const { store, inner } = countingStore();
    const ids = await writeRuns(make(store, { searchSnapshotEvery: 0 }), 30);
    expect(await new RunIndex(store, systemClock, 8).compact()).toBe(true);
    const head = await readHead(inner);
    const keys = snapshotKeys(head.snapshot!);
    const column = (await inner.get(keys.manifest))!.value as { columns: [string, number][] };
    const acc = column.columns.find(([name]) => name === 'metrics.acc')![1];
    const damage: [string, unknown][] = [
      [keys.column(acc), { format: 'keel.search-column/1', junk: true }],
      [keys.column(acc), undefined],
      [keys.manifest, { format: 'keel.search-snapshot/2', count: 3 }],
      [keys.manifest, undefined],
    ];
    for (const [key, value] of damage) {
      const saved = (await inner.get(key))!;
      if (value === undefined) await inner.delete(key);
      else await inner.put(key, value as never);
      const corrupt: string[] = [];
      const reader = createTracker({
        metadata: store,
        artifacts,
        searchSnapshotEvery: 8,
        emit: ((event: string, record: { key: string }) => {
          if (event === 'store:corrupt') corrupt.push(record.key);
        }) as never,
      });
      const { runs } = await reader.searchRuns({ filter: 'metrics.acc >= 0', limit: 100 });
      expect(runs).toHaveLength(ids.length);
      if (value !== undefined) expect(corrupt).toContain(key);
      await inner.put(key, saved.value);
    }
    expect(await seen(store)).toEqual(await truth(inner));
  });

  it('a reader following the journal while it is compacted gets every run, mid-replay too', async () => {
    const { store, inner } = countingStore();
    const writer = make(store, { searchSnapshotEvery: 0 });
    await writeRuns(writer, 20);
    const reader = make(store, { searchSnapshotEvery: 0 });
    expect((await reader.searchRuns({ limit: 1000 })).runs).toHaveLength(20);
    await writeRuns(writer, 10, 20);
    // a compaction happens while the reader is in the middle of reading the log
    let compacted = false;
    const midway: MetadataStore = {
      ...store,
      async *read(log, opts) {
        let n = 0;
        for await (const record of store.read(log, opts)) {
          yield record;
          if (++n === 3 && !compacted) {
            compacted = true;
            expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
            await writeRuns(writer, 5, 30);
          }
        }
      },
    };
    const following = make(midway, { searchSnapshotEvery: 0 });
    // the runs written before the search began are there (those written meanwhile may be)
    expect((await following.searchRuns({ limit: 1000 })).runs.length).toBeGreaterThanOrEqual(30);
    expect(compacted).toBe(true);
    expect((await following.searchRuns({ limit: 1000 })).runs).toHaveLength(35);
    // the reader that had followed before the compaction reads the old log to its end, then the new one
    await writeRuns(writer, 5, 35);
    expect(byId((await reader.searchRuns({ limit: 1000 })).runs)).toEqual(await truth(inner));
    // and across a second and third compaction (the first snapshot is removed by then)
    expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
    await writeRuns(writer, 2, 40);
    expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
    await writeRuns(writer, 2, 42);
    expect(byId((await reader.searchRuns({ limit: 1000 })).runs)).toEqual(await truth(inner));
    expect(byId((await following.searchRuns({ limit: 1000 })).runs)).toEqual(await truth(inner));
    expect(await seen(store)).toEqual(await truth(inner));
  });

  it('a write whose journal append lands in the old log after the head moved is announced in the new log too', async () => {
    const inner = createMemoryMetadataStore();
    await writeRuns(make(inner, { searchSnapshotEvery: 0 }), 10);
    // the writer's append is held until a compaction has moved the head
    let hold: Promise<void> | undefined;
    const slow: MetadataStore = {
      ...inner,
      async append(log, entries) {
        if (hold !== undefined && log === trackingKeys.journal) await hold;
        return inner.append(log, entries);
      },
    };
    const writer = make(slow, { searchSnapshotEvery: 0 });
    // the writer knows the head before the compaction
    await writer.searchRuns();
    let release!: () => void;
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const starting = writer.startRun({ experiment: 'late', params: { late: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
    release();
    const late = await starting;
    hold = undefined;
    const reader = make(inner);
    expect((await reader.searchRuns({ experiment: 'late' })).runs.map((r) => r.id)).toEqual([
      late.id,
    ]);
    expect(await seen(inner)).toEqual(await truth(inner));
  });

  it('two processes compacting at once: one wins, the other removes its snapshot', async () => {
    const inner = createMemoryMetadataStore();
    await writeRuns(make(inner, { searchSnapshotEvery: 0 }), 30);
    let arrived = 0;
    let go!: () => void;
    const both = new Promise<void>((resolve) => {
      go = resolve;
    });
    const hook = async (step: CompactionStep) => {
      if (step !== 'head') return;
      if (++arrived === 2) go();
      await both;
    };
    const a = new RunIndex(inner, systemClock, 1, undefined, hook);
    const b = new RunIndex(inner, systemClock, 1, undefined, hook);
    const results = await Promise.all([a.compact(), b.compact()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const head = await readHead(inner);
    const snapshots = new Set<string>();
    for await (const { key } of inner.list(SNAPSHOTS_PREFIX))
      snapshots.add(key.slice(SNAPSHOTS_PREFIX.length).split('/')[0]!);
    expect([...snapshots]).toEqual([head.snapshot]);
    expect(await seen(inner)).toEqual(await truth(inner));
  });

  it('a compaction that stops at any step (a crash) leaves a readable journal and loses no run', async () => {
    for (const step of ['snapshot', 'head', 'cleanup', 'manifest'] as const) {
      const inner = createMemoryMetadataStore();
      const writer = make(inner, { searchSnapshotEvery: 0 });
      await writeRuns(writer, 25);
      expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
      await writeRuns(writer, 5, 25);
      const crash = new Error(`crash before ${step}`);
      // 'manifest': the snapshot's columns are written, its manifest not
      const store: MetadataStore =
        step === 'manifest'
          ? {
              ...inner,
              async put(key, value, opts) {
                if (key.endsWith('/manifest')) throw crash;
                return inner.put(key, value, opts);
              },
            }
          : inner;
      const dying = new RunIndex(store, systemClock, 1, undefined, (at) => {
        if (at === step) throw crash;
      });
      await expect(dying.compact()).rejects.toBe(crash);
      await writeRuns(writer, 3, 30);
      expect(await seen(inner)).toEqual(await truth(inner));
      expect(await truth(inner)).toHaveLength(33);
      // and compaction works again afterwards
      expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
      await writeRuns(writer, 2, 33);
      expect(await seen(inner)).toEqual(await truth(inner));
    }
  });

  it('a compaction whose snapshot is removed under it (two compactions elsewhere) leaves nothing behind', async () => {
    const inner = createMemoryMetadataStore();
    const writer = make(inner, { searchSnapshotEvery: 0 });
    await writeRuns(writer, 20);
    expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
    const slow = new RunIndex(inner, systemClock, 1, undefined, async (step) => {
      if (step !== 'snapshot') return;
      for (let i = 0; i < 2; i++) {
        await writeRuns(writer, 1, 20 + i);
        expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
      }
    });
    await expect(slow.compact()).rejects.toThrow(/gone/);
    const head = await readHead(inner);
    const snapshots = new Set<string>();
    for await (const { key } of inner.list(SNAPSHOTS_PREFIX))
      snapshots.add(key.slice(SNAPSHOTS_PREFIX.length).split('/')[0]!);
    expect([...snapshots].sort()).toEqual([head.snapshot, head.previous!.snapshot].sort());
    expect(await seen(inner)).toEqual(await truth(inner));
    expect(await truth(inner)).toHaveLength(22);
  });

  it('answers lineage from the snapshot and the runs written since', async () => {
    const inner = createMemoryMetadataStore();
    const writer = make(inner, { searchSnapshotEvery: 0 });
    const data = `sha256:${'a'.repeat(64)}` as const;
    const model = `sha256:${'b'.repeat(64)}` as const;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const run = await writer.startRun({ experiment: 'lineage', inputs: [{ digest: data }] });
      await run.end('completed', undefined, i % 3 === 0 ? { outputs: [{ digest: model }] } : {});
      ids.push(run.id);
    }
    expect(await new RunIndex(inner, systemClock, 1).compact()).toBe(true);
    const late = await writer.startRun({ experiment: 'lineage', inputs: [{ digest: model }] });
    const truthTracker = createTracker({ metadata: inner, artifacts, searchSnapshotEvery: 0 });
    const reader = make(inner);
    for (const digest of [data, model]) {
      const found = await reader.lineage(digest);
      expect(found).toEqual(await truthTracker.lineage(digest));
    }
    const used = await reader.lineage(model);
    expect(used.producedBy.map((r) => r.id)).toEqual(ids.filter((_, i) => i % 3 === 0));
    expect(used.consumedBy.map((r) => r.id)).toEqual([late.id]);
    expect((await reader.lineage(data)).consumedBy).toHaveLength(12);
  });

  it('works on the fs store across instances (the default there)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'keel-snapshot-'));
    dirs.push(root);
    const backend = fsBackend({ root });
    const writer = createTracker({
      metadata: backend.metadata,
      artifacts: backend.artifacts,
      flushIntervalMs: 0,
    });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const run = await writer.startRun({ experiment: 'fs', params: { i } });
      await run.end();
      ids.push(run.id);
    }
    const first = createTracker({
      metadata: backend.metadata,
      artifacts: backend.artifacts,
      searchSnapshotEvery: 4,
    });
    expect((await first.searchRuns()).runs).toHaveLength(12);
    // the compaction runs in the background: wait for the head to name its snapshot
    for (let i = 0; i < 200 && (await readHead(backend.metadata)).snapshot === undefined; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await readHead(backend.metadata)).snapshot).toBeDefined();
    const again = fsBackend({ root });
    const second = createTracker({ metadata: again.metadata, artifacts: again.artifacts });
    const { runs } = await second.searchRuns({ orderBy: ['params.i'] });
    expect(runs.map((r) => r.id)).toEqual(ids);
  });
});

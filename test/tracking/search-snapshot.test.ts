import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import type { JsonValue } from '../../src/core/json.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { trackingKeys } from '../../src/tracking/records.js';
import { SEARCH_SNAPSHOT_FORMAT } from '../../src/tracking/run-index.js';
import { createTracker, type TrackerOptions } from '../../src/tracking/tracker.js';
import type { Run } from '../../src/tracking/types.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A memory store that counts how run documents are read. */
function countingStore(inner: MetadataStore = createMemoryMetadataStore()) {
  const counts = { runGets: 0, runLists: 0, snapshotPuts: 0 };
  const store: MetadataStore = {
    put: async (...args) => {
      if (args[0] === trackingKeys.searchSnapshot) counts.snapshotPuts++;
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

/** Waits until background snapshot writes have settled. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function writeRuns(tracker: ReturnType<typeof make>, n: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + n; i++) {
    const run = await tracker.startRun({
      experiment: 'snap',
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

describe('search snapshots', () => {
  it('a writer stores snapshots as it goes; a new process starts from one instead of reading every run', async () => {
    const { store, counts, inner } = countingStore();
    const writer = make(store);
    await writeRuns(writer, 300);
    await settle();
    expect(counts.snapshotPuts).toBeGreaterThan(0);
    // the snapshot is old by now (written every ~max(8, runs) writes): the journal fills the gap
    await writeRuns(writer, 5, 300);
    const reader = make(store);
    counts.runGets = 0;
    counts.runLists = 0;
    const { runs } = await reader.searchRuns({ limit: 1000 });
    expect(runs).toHaveLength(305);
    expect(counts.runLists).toBe(0);
    expect(counts.runGets).toBeLessThan(100);
    const fresh = createTracker({ metadata: inner, artifacts, searchSnapshotEvery: 0 });
    expect(byId(runs)).toEqual(byId((await fresh.searchRuns({ limit: 1000 })).runs));
    expect(
      (
        await reader.searchRuns({ filter: "metrics.acc >= 0.3 and attributes.status = 'failed'" })
      ).runs.map((r) => r.params.i),
    ).toEqual([300]);
  });

  it('a first search that had to read everything stores a snapshot for the next process', async () => {
    const { store, counts } = countingStore();
    await writeRuns(make(store, { searchSnapshotEvery: 0 }), 300);
    expect(counts.snapshotPuts).toBe(0);
    await make(store).searchRuns();
    await settle();
    expect(counts.snapshotPuts).toBe(1);
    counts.runLists = 0;
    await make(store).searchRuns();
    expect(counts.runLists).toBe(0);
  });

  it('is never stale: runs changed after the snapshot are read again', async () => {
    const { store } = countingStore();
    const writer = make(store);
    const ids = await writeRuns(writer, 40);
    await make(store).searchRuns();
    await settle();
    const snapshot = await store.get(trackingKeys.searchSnapshot);
    expect(snapshot).toBeDefined();
    // another writer changes a run the snapshot holds, and adds one
    const other = make(store, { searchSnapshotEvery: 0 });
    const open = await other.startRun({ experiment: 'snap', tags: { late: 'yes' } });
    const again = await other.resumeRun(open.id);
    await again.setTags({ later: 'too' });
    const reader = make(store);
    const { runs } = await reader.searchRuns({ filter: "tags.later = 'too'" });
    expect(runs.map((r) => r.id)).toEqual([open.id]);
    expect((await reader.searchRuns({ limit: 100 })).runs).toHaveLength(ids.length + 1);
  });

  it('keeps pending journal entries: a document announced but not yet written is read later', async () => {
    const { store } = countingStore();
    const writer = make(store, { searchSnapshotEvery: 0 });
    await writeRuns(writer, 20);
    const run = await writer.startRun({ experiment: 'snap' });
    const stored = (await store.get(trackingKeys.run(run.id)))!;
    await store.append(trackingKeys.journal, [[run.id, 1]]);
    const first = make(store, { searchSnapshotEvery: 1 });
    expect((await first.searchRuns({ filter: "tags.t = 'x'" })).runs).toHaveLength(0);
    await settle();
    const saved = (await store.get(trackingKeys.searchSnapshot))!.value as { pending: unknown };
    expect(saved.pending).toEqual([[run.id, 1, expect.any(Number)]]);
    await store.put(
      trackingKeys.run(run.id),
      { ...(stored.value as object), seq: 1, tags: { t: 'x' } },
      { ifRevision: stored.revision },
    );
    const second = make(store, { searchSnapshotEvery: 1 });
    expect((await second.searchRuns({ filter: "tags.t = 'x'" })).runs).toHaveLength(1);
  });

  it('ignores a snapshot the journal does not confirm, or that is damaged', async () => {
    const { store, counts } = countingStore();
    const ids = await writeRuns(make(store, { searchSnapshotEvery: 0 }), 30);
    const all = async () => {
      counts.runLists = 0;
      counts.runGets = 0;
      const { runs } = await make(store, { searchSnapshotEvery: 0 }).searchRuns({ limit: 100 });
      return runs;
    };
    // a crafted snapshot that would hide every run: wrong check entry, beyond the journal, junk
    const fake = (offset: number, check: JsonValue, runs = '[]'): JsonValue => ({
      format: SEARCH_SNAPSHOT_FORMAT,
      offset,
      check,
      pending: [],
      runs,
    });
    for (const value of [
      fake(5, ['nope', 0]),
      fake(10_000, ['nope', 0]),
      fake(1, null, 'not json'),
      { format: 'other' },
      'junk',
    ]) {
      await store.put(trackingKeys.searchSnapshot, value);
      const reader = make(store);
      expect((await reader.searchRuns({ limit: 100 })).runs).toHaveLength(ids.length);
      expect(await all()).toHaveLength(ids.length);
    }
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
    await settle();
    expect(await backend.metadata.get(trackingKeys.searchSnapshot)).toBeDefined();
    const again = fsBackend({ root });
    const second = createTracker({ metadata: again.metadata, artifacts: again.artifacts });
    const { runs } = await second.searchRuns({ orderBy: ['params.i'] });
    expect(runs.map((r) => r.id)).toEqual(ids);
  });
});

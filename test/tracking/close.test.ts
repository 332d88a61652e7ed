import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { ErrorCodes, isKeelError, StorageError } from '../../src/core/errors.js';
import { fsBackend } from '../../src/fs.js';
import { createKeel } from '../../src/keel.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { createTracker, type TrackerOptions } from '../../src/tracking/tracker.js';
import { repoRoot, runTs } from '../helpers/run-ts.js';

const DIGEST = `sha256:${'cd'.repeat(32)}` as const;
const worker = join(import.meta.dirname, 'workers/close-worker.ts');
const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-close-'));
  dirs.push(dir);
  return dir;
}

/** A memory store that counts writes, fails them while `failing`, and holds puts while `gate` is set. */
function testStore(): MetadataStore & {
  failing: boolean;
  writes: number;
  gate: Promise<void> | undefined;
} {
  const inner = createMemoryMetadataStore();
  const store = {
    failing: false,
    writes: 0,
    gate: undefined as Promise<void> | undefined,
    get: inner.get,
    list: inner.list,
    read: inner.read,
    delete: inner.delete,
    async put(...args: Parameters<MetadataStore['put']>) {
      if (store.gate !== undefined) await store.gate;
      if (store.failing) throw new StorageError('[keel] disk full');
      store.writes++;
      return inner.put(...args);
    },
    async append(...args: Parameters<MetadataStore['append']>) {
      if (store.failing) throw new StorageError('[keel] disk full');
      store.writes++;
      return inner.append(...args);
    },
  };
  return store;
}

/** Holds every put of `store` until the returned function is called. */
function holdPuts(store: ReturnType<typeof testStore>): () => void {
  let open!: () => void;
  store.gate = new Promise((resolve) => {
    open = resolve;
  });
  return () => {
    store.gate = undefined;
    open();
  };
}

function tracker(metadata: MetadataStore, extra: Partial<TrackerOptions> = {}) {
  return createTracker({
    metadata,
    artifacts: createMemoryArtifactStore(),
    // no timer: only close() (or flush/end) writes the buffer
    flushIntervalMs: 0,
    ...extra,
  });
}

function isClosedError(error: unknown): boolean {
  return isKeelError(error, ErrorCodes.conflict) && /tracker is closed/.test(error.message);
}

describe('Tracker.close', () => {
  it('keel.close() writes metrics of a run that never ended: a new keel on the same fs store reads them', async () => {
    const root = tempRoot();
    const first = createKeel({ backend: fsBackend({ root }) });
    const run = await first.tracker.startRun({ experiment: 'shutdown', params: { lr: 0.1 } });
    for (let step = 0; step < 10; step++) run.logMetric('loss', 1 / (step + 1));
    run.logMetrics({ acc: 0.9, f1: 0.8 }, { step: 3 });

    const before = createKeel({ backend: fsBackend({ root }) });
    expect(await before.tracker.metricHistory(run.id, 'loss')).toEqual([]);
    await before.close();

    await first.close();

    const second = createKeel({ backend: fsBackend({ root }) });
    const stored = await second.tracker.getRun(run.id);
    expect(stored.status).toBe('running');
    expect(stored.endTime).toBeUndefined();
    expect(stored.params).toEqual({ lr: 0.1 });
    expect(stored.metrics.loss).toMatchObject({ value: 0.1, step: 9 });
    expect(stored.metrics.acc).toMatchObject({ value: 0.9, step: 3 });
    const history = await second.tracker.metricHistory(run.id, 'loss');
    expect(history.map((point) => point.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await second.tracker.metricHistory(run.id, 'f1')).toHaveLength(1);
    await second.close();
  });

  it('stores a run whose write is still deferred (deferWriteMs), with its metrics', async () => {
    const root = tempRoot();
    const first = createKeel({ backend: fsBackend({ root }) });
    const run = await first.tracker.startRun({
      experiment: 'deferred',
      name: 'step',
      deferWriteMs: 600_000,
      inputs: [{ digest: DIGEST, kind: 'dataset' }],
    });
    run.logMetric('rows', 42);

    const other = createKeel({ backend: fsBackend({ root }) });
    await expect(other.tracker.getRun(run.id)).rejects.toMatchObject({
      code: ErrorCodes.notFound,
    });
    await other.close();

    await first.close();

    const second = createKeel({ backend: fsBackend({ root }) });
    const stored = await second.tracker.getRun(run.id);
    expect(stored).toMatchObject({ name: 'step', status: 'running', inputs: [{ digest: DIGEST }] });
    expect(stored.metrics.rows).toMatchObject({ value: 42, step: 0 });
    expect((await second.tracker.lineage(DIGEST)).consumedBy.map((r) => r.id)).toEqual([run.id]);
    await second.close();
  });

  it('refuses new runs and every write through its handles after close, with ConflictError', async () => {
    const store = testStore();
    const t = tracker(store);
    const run = await t.startRun({ experiment: 'closed' });
    const ended = await t.startRun({ experiment: 'closed' });
    const endedRun = await ended.end();
    await t.close();

    let thrown: unknown;
    try {
      run.logMetric('loss', 1);
    } catch (error) {
      thrown = error;
    }
    expect(isClosedError(thrown)).toBe(true);
    expect(() => run.logMetrics({ loss: 1 })).toThrow(/tracker is closed/);
    const refused = [
      run.logParams({ lr: 1 }),
      run.setTags({ team: 'ml' }),
      run.logInput({ digest: DIGEST }),
      run.logOutput({ digest: DIGEST }),
      run.logArtifact('bytes'),
      run.end(),
      t.startRun({ experiment: 'closed' }),
      t.resumeRun(run.id),
    ];
    for (const result of await Promise.allSettled(refused)) {
      expect(result.status).toBe('rejected');
      expect(isClosedError((result as PromiseRejectedResult).reason)).toBe(true);
    }
    // an ended handle still says its run has ended, and end() still returns the same Run
    expect(() => ended.logMetric('loss', 1)).toThrow(/has ended/);
    expect(await ended.end()).toEqual(endedRun);
    // nothing was buffered since close: flush has nothing to do
    await expect(run.flush()).resolves.toBeUndefined();
    // reads still work, and the run is left running
    expect((await t.getRun(run.id)).status).toBe('running');
    expect((await t.searchRuns({ experiment: 'closed' })).runs).toHaveLength(2);
  });

  it('is idempotent: a second close returns the same promise and writes nothing', async () => {
    const store = testStore();
    const t = tracker(store);
    const run = await t.startRun({ experiment: 'twice' });
    run.logMetric('loss', 0.5);
    const first = t.close();
    expect(t.close()).toBe(first);
    await first;
    const writes = store.writes;
    expect(writes).toBeGreaterThan(0);
    await t.close();
    expect(store.writes).toBe(writes);
    expect(await t.metricHistory(run.id, 'loss')).toHaveLength(1);
  });

  it('forgets handles whose run ended: closing after many ended runs writes nothing', async () => {
    const store = testStore();
    const t = tracker(store);
    for (let i = 0; i < 50; i++) {
      const run = await t.startRun({ experiment: 'many', deferWriteMs: i % 2 === 0 ? 600_000 : 0 });
      run.logMetric('loss', i);
      await run.end();
    }
    const writes = store.writes;
    await t.close();
    expect(store.writes).toBe(writes);
  });

  it('rejects when a flush fails, still flushes the other handles, and a later close retries', async () => {
    const store = testStore();
    const t = tracker(store);
    const good = await t.startRun({ experiment: 'fail' });
    const bad = await t.startRun({ experiment: 'fail', deferWriteMs: 600_000 });
    good.logMetric('loss', 1);
    // only the documents of the bad run cannot be written
    const realPut = store.put;
    store.put = async (...args) => {
      if (args[0].includes(bad.id)) throw new StorageError('[keel] disk full');
      return realPut(...args);
    };
    bad.logMetric('loss', 2);
    await expect(t.close()).rejects.toBeInstanceOf(StorageError);
    expect(await t.metricHistory(good.id, 'loss')).toHaveLength(1);
    store.put = realPut;
    expect(() => bad.logMetric('loss', 3)).toThrow(/tracker is closed/);
    await t.close();
    const stored = await t.getRun(bad.id);
    expect(stored.status).toBe('running');
    expect(stored.metrics.loss).toMatchObject({ value: 2 });
    expect(await t.metricHistory(bad.id, 'loss')).toHaveLength(1);
  });

  it('writes points an earlier background flush failed to write', async () => {
    const store = testStore();
    const t = tracker(store, { flushSize: 2 });
    const run = await t.startRun({ experiment: 'background' });
    store.failing = true;
    run.logMetric('loss', 1);
    run.logMetric('loss', 2);
    // the background flush fails and keeps its points
    await new Promise((resolve) => setTimeout(resolve, 10));
    store.failing = false;
    await t.close();
    expect((await t.metricHistory(run.id, 'loss')).map((p) => p.value)).toEqual([1, 2]);
  });

  it('waits for the writes and starts under way, and flushes the handles they create', async () => {
    const store = testStore();
    const t = tracker(store);
    const run = await t.startRun({ experiment: 'busy' });
    const open = holdPuts(store);
    const params = run.logParams({ lr: 0.1 });
    const starting = t.startRun({ experiment: 'busy', deferWriteMs: 600_000 });
    let closed = false;
    const closing = t.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    open();
    await closing;
    await params;
    const late = await starting;
    // read through another tracker: this one's reads would store a deferred run themselves
    const reader = tracker(store);
    expect((await reader.getRun(run.id)).params).toEqual({ lr: 0.1 });
    expect((await reader.getRun(late.id)).status).toBe('running');
    expect(() => late.logMetric('loss', 1)).toThrow(/tracker is closed/);
  });

  it('waits for an end() under way', async () => {
    const store = testStore();
    const t = tracker(store);
    const run = await t.startRun({ experiment: 'busy' });
    run.logMetric('loss', 1);
    const open = holdPuts(store);
    const ended = run.end('completed');
    let closed = false;
    const closing = t.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(false);
    open();
    await closing;
    expect((await ended).status).toBe('completed');
    const stored = await tracker(store).getRun(run.id);
    expect(stored.status).toBe('completed');
    expect(stored.metrics.loss).toMatchObject({ value: 1 });
  });

  it('keel.close() closes the backend even when the tracker flush fails, and rejects', async () => {
    const store = testStore();
    let backendClosed = 0;
    const keel = createKeel({
      backend: {
        metadata: store,
        artifacts: createMemoryArtifactStore(),
        close: async () => {
          backendClosed++;
        },
      },
    });
    const run = await keel.tracker.startRun({ experiment: 'keel' });
    run.logMetric('loss', 1);
    store.failing = true;
    await expect(keel.close()).rejects.toBeInstanceOf(StorageError);
    expect(backendClosed).toBe(1);
  });
});

describe('Tracker.close in a process', () => {
  it('a process that logs without end() and calls keel.close() leaves its metrics and its deferred run stored', async () => {
    const root = tempRoot();
    const out = runTs(worker, { args: ['exit', root] });
    const { runId } = JSON.parse(out) as { runId: string };
    const keel = createKeel({ backend: fsBackend({ root }) });
    expect((await keel.tracker.getRun(runId)).status).toBe('running');
    expect(await keel.tracker.metricHistory(runId, 'loss')).toHaveLength(100);
    await keel.close();
  });

  it('keeps no ended handle, and keeps an unended one the caller dropped so that close() writes it', () => {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', tsxLoader, worker, 'gc'],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    const result = JSON.parse(out) as {
      collected: number;
      total: number;
      openKept: boolean;
      points: number;
    };
    expect(result.collected).toBe(result.total);
    expect(result.openKept).toBe(true);
    expect(result.points).toBe(1);
  });
});

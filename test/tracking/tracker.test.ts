import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { decodeBase64, encodeBase64 } from '../../src/core/base64.js';
import { sha256 } from '../../src/core/digest.js';
import { StorageError, ValidationError } from '../../src/core/errors.js';
import { createTelemetry } from '../../src/core/telemetry.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { decodeCursor, encodeCursor } from '../../src/tracking/cursor.js';
import { captureEnvironment } from '../../src/tracking/environment.js';
import { decodeMetricBatch, encodeMetricBatch } from '../../src/tracking/metric-batch.js';
import { trackingKeys } from '../../src/tracking/records.js';
import { createTracker, type TrackerOptions } from '../../src/tracking/tracker.js';
import type { TrackerEvents } from '../../src/tracking/types.js';
import { testTelemetry } from '../helpers/otel.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A memory store whose appends and puts fail while `failing` is set. */
function flakyStore(): MetadataStore & { failing: boolean; appends: number } {
  const inner = createMemoryMetadataStore();
  const store = {
    failing: false,
    appends: 0,
    get: inner.get,
    list: inner.list,
    read: inner.read,
    delete: inner.delete,
    async put(...args: Parameters<MetadataStore['put']>) {
      if (store.failing) throw new StorageError('[keel] disk full');
      return inner.put(...args);
    },
    async append(...args: Parameters<MetadataStore['append']>) {
      if (store.failing) throw new StorageError('[keel] disk full');
      store.appends++;
      return inner.append(...args);
    },
  };
  return store;
}

function tracker(extra: Partial<TrackerOptions> = {}) {
  return createTracker({
    metadata: createMemoryMetadataStore(),
    artifacts: createMemoryArtifactStore(),
    flushIntervalMs: 0,
    ...extra,
  });
}

describe('Tracker on memory: flushing', () => {
  it('a failed background flush rejects the next flush(), keeps the points, and a later flush writes them', async () => {
    const metadata = flakyStore();
    const t = createTracker({
      metadata,
      artifacts: createMemoryArtifactStore(),
      flushSize: 5,
      flushIntervalMs: 0,
    });
    const run = await t.startRun({ experiment: 'flaky' });
    metadata.failing = true;
    for (let i = 0; i < 5; i++) run.logMetric('x', i); // size trigger: background flush fails
    await new Promise((resolve) => setTimeout(resolve, 10));
    metadata.failing = false;
    await expect(run.flush()).rejects.toThrow(StorageError);
    await run.flush();
    expect((await t.metricHistory(run.id, 'x')).map((p) => p.value)).toEqual([0, 1, 2, 3, 4]);
  });

  it('a failed flush makes end() reject and leaves the run running; end() again succeeds', async () => {
    const metadata = flakyStore();
    const t = createTracker({
      metadata,
      artifacts: createMemoryArtifactStore(),
      flushIntervalMs: 0,
    });
    const run = await t.startRun({ experiment: 'flaky' });
    run.logMetric('x', 1);
    metadata.failing = true;
    await expect(run.end()).rejects.toThrow(StorageError);
    metadata.failing = false;
    expect((await t.getRun(run.id)).status).toBe('running');
    run.logMetric('x', 2);
    const ended = await run.end();
    expect(ended.status).toBe('completed');
    expect(ended.metrics.x?.value).toBe(2);
  });

  it('a batch whose append landed but whose run update failed is not stored twice', async () => {
    const inner = createMemoryMetadataStore();
    let failPuts = 0;
    const metadata: MetadataStore = {
      ...inner,
      get: inner.get,
      list: inner.list,
      read: inner.read,
      append: inner.append,
      delete: inner.delete,
      async put(key, value, opts) {
        if (failPuts > 0 && key.startsWith(trackingKeys.runsPrefix)) {
          failPuts--;
          throw new StorageError('[keel] flaky');
        }
        return inner.put(key, value, opts);
      },
    };
    const t = createTracker({
      metadata,
      artifacts: createMemoryArtifactStore(),
      flushIntervalMs: 0,
    });
    const run = await t.startRun({ experiment: 'retry' });
    run.logMetric('x', 1);
    failPuts = 1;
    await expect(run.flush()).rejects.toThrow(StorageError);
    await run.flush();
    expect(await t.metricHistory(run.id, 'x')).toHaveLength(1);
    expect((await t.getRun(run.id)).metrics.x?.value).toBe(1);
  });

  it('flushes on a timer', async () => {
    const t = tracker({ flushIntervalMs: 20 });
    const run = await t.startRun({ experiment: 'timer' });
    run.logMetric('x', 1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await t.getRun(run.id)).metrics.x?.value).toBe(1);
    await run.end();
  });

  it('logMetric stays synchronous while earlier flushes are in flight, and order is kept', async () => {
    const t = tracker({ flushSize: 7 });
    const run = await t.startRun({ experiment: 'order' });
    for (let i = 0; i < 1000; i++) run.logMetric('x', i, { step: i });
    await run.end();
    const history = await t.metricHistory(run.id, 'x');
    expect(history.map((p) => p.value)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect((await t.getRun(run.id)).metrics.x?.value).toBe(999);
  });

  it('end() called twice at once ends once', async () => {
    const events: string[] = [];
    const t = tracker({ emit: (event) => void events.push(event) });
    const run = await t.startRun({ experiment: 'twice' });
    const [a, b] = await Promise.all([run.end(), run.end('failed')]);
    expect(a).toBe(b);
    expect(a.status).toBe('completed');
    expect(events.filter((e) => e === 'run:ended')).toHaveLength(1);
  });

  it('records a keel.tracker.log_batch span per flush', async () => {
    const otel = testTelemetry();
    const t = tracker({ telemetry: createTelemetry({ tracer: otel.tracer, meter: otel.meter }) });
    const run = await t.startRun({ experiment: 'spans' });
    run.logMetric('x', 1);
    run.logMetric('y', 2);
    await run.flush();
    await run.flush(); // nothing buffered: no span
    const spans = otel.spans().filter((s) => s.name === 'keel.tracker.log_batch');
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['keel.tracker.points']).toBe(2);
  });

  it('refuses bad tracker options', () => {
    expect(() => tracker({ flushSize: 0 })).toThrow(ValidationError);
    expect(() => tracker({ flushIntervalMs: -1 })).toThrow(ValidationError);
    expect(() => createTracker({} as TrackerOptions)).toThrow(ValidationError);
  });

  it('emits typed events with payloads', async () => {
    const seen: { event: keyof TrackerEvents; payload: unknown }[] = [];
    const t = tracker({ emit: (event, payload) => void seen.push({ event, payload }) });
    const parent = await t.startRun({ experiment: 'ev' });
    const child = await t.startRun({ experiment: 'ev', name: 'c', parentRunId: parent.id });
    child.logMetrics({ a: 1, b: 2 });
    await child.end('killed');
    expect(seen.map((s) => s.event)).toEqual([
      'run:started',
      'run:started',
      'metric:logged',
      'run:ended',
    ]);
    expect(seen[1]?.payload).toEqual({
      runId: child.id,
      experiment: 'ev',
      name: 'c',
      parentRunId: parent.id,
      run: expect.objectContaining({ id: child.id, status: 'running', parentRunId: parent.id }),
    });
    expect(seen[2]?.payload).toEqual({ runId: child.id, count: 2, keys: ['a', 'b'] });
    expect(seen[3]?.payload).toEqual({
      runId: child.id,
      experiment: 'ev',
      status: 'killed',
      run: expect.objectContaining({
        id: child.id,
        status: 'killed',
        metrics: {
          a: expect.objectContaining({ value: 1 }),
          b: expect.objectContaining({ value: 2 }),
        },
      }),
    });
  });
});

describe('Tracker on memory: search cache', () => {
  it('a journal entry whose document write has not landed stays pending until it does', async () => {
    const metadata = createMemoryMetadataStore();
    const artifacts = createMemoryArtifactStore();
    const reader = createTracker({ metadata, artifacts });
    const writer = createTracker({ metadata, artifacts, flushIntervalMs: 0 });
    const run = await writer.startRun({ experiment: 'pending' });
    expect((await reader.searchRuns()).runs).toHaveLength(1);
    // announce seq 1 without writing it yet (a writer between its journal append and its put)
    const stored = (await metadata.get(trackingKeys.run(run.id)))!;
    await metadata.append(trackingKeys.journal, [[run.id, 1]]);
    expect((await reader.searchRuns({ filter: "tags.t = 'x'" })).runs).toHaveLength(0);
    await metadata.put(
      trackingKeys.run(run.id),
      { ...(stored.value as object), seq: 1, tags: { t: 'x' } },
      { ifRevision: stored.revision },
    );
    expect((await reader.searchRuns({ filter: "tags.t = 'x'" })).runs).toHaveLength(1);
  });

  it('searching 2000 runs returns pages that cover every run exactly once', async () => {
    const clock = new ManualClock();
    const t = tracker({ clock });
    const made = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      if (i % 3 === 0) clock.advance(1); // ties on start time are broken by id
      const run = await t.startRun({ experiment: 'many', params: { i } });
      made.add(run.id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.searchRuns({
        limit: 300,
        orderBy: ['attributes.start_time'],
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.runs.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(2000);
    expect(new Set(seen)).toEqual(made);
  });

  it('pages of any size follow the full order exactly (only limit + 1 matches are kept per page)', async () => {
    const t = tracker();
    const runs: { id: string; x: number; m: number }[] = [];
    for (let i = 0; i < 60; i++) {
      const x = (i * 7) % 10; // ties, broken by run id
      const run = await t.startRun({ experiment: 'order', params: { x } });
      const m = ((i * 13) % 17) / 17;
      run.logMetric('m', m, { step: 0 });
      await run.end();
      runs.push({ id: run.id, x, m });
    }
    const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : 1);
    const expected: Record<string, string[]> = {
      'params.x desc': [...runs].sort((a, b) => b.x - a.x || byId(a, b)).map((r) => r.id),
      'metrics.m asc': [...runs].sort((a, b) => a.m - b.m || byId(a, b)).map((r) => r.id),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(expected)),
        fc.integer({ min: 1, max: 25 }),
        async (order, limit) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await t.searchRuns({
              experiment: 'order',
              orderBy: [order],
              limit,
              ...(cursor ? { cursor } : {}),
            });
            expect(page.runs.length).toBeLessThanOrEqual(limit);
            seen.push(...page.runs.map((r) => r.id));
            cursor = page.nextCursor;
          } while (cursor);
          expect(seen).toEqual(expected[order]);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("a new tracker's first search loads many runs written elsewhere (listing path) and stays exact", async () => {
    const metadata = createMemoryMetadataStore();
    const artifacts = createMemoryArtifactStore();
    const writer = createTracker({ metadata, artifacts, flushIntervalMs: 0 });
    const made: string[] = [];
    for (let i = 0; i < 400; i++) {
      const run = await writer.startRun({ experiment: 'bulk', params: { i } });
      if (i % 2) await run.setTags({ odd: 'yes' });
      made.push(run.id);
    }
    const reader = createTracker({ metadata, artifacts });
    expect((await reader.searchRuns({ limit: 1000 })).runs).toHaveLength(400);
    expect(
      (await reader.searchRuns({ filter: "tags.odd = 'yes'", limit: 1000 })).runs,
    ).toHaveLength(200);
  });

  it('returned runs are copies: mutating them does not change later results', async () => {
    const t = tracker();
    await t.startRun({ experiment: 'copy', tags: { a: 'b' } });
    const first = await t.searchRuns();
    first.runs[0]!.tags.a = 'changed';
    expect((await t.searchRuns()).runs[0]?.tags.a).toBe('b');
  });
});

describe('metric batches, cursors and base64', () => {
  it('round-trips every double, including NaN, infinities and -0', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.double(), fc.nat(), fc.nat()), {
          maxLength: 50,
        }),
        (points) => {
          const count = points.length;
          const columns = {
            keys: ['a', 'b', 'c'],
            keyIndex: Uint32Array.from(points.map((p) => p[0])),
            values: Float64Array.from(points.map((p) => p[1])),
            steps: Float64Array.from(points.map((p) => p[2])),
            timestamps: Float64Array.from(points.map((p) => p[3])),
            count,
          };
          const entry = JSON.parse(JSON.stringify(encodeMetricBatch('b1', columns).entry));
          const decoded = decodeMetricBatch('log', entry);
          expect(decoded.batch).toBe('b1');
          expect(decoded.columns.count).toBe(count);
          for (let i = 0; i < count; i++) {
            expect(Object.is(decoded.columns.values[i], points[i]![1])).toBe(true);
            expect(decoded.columns.steps[i]).toBe(points[i]![2]);
            expect(decoded.columns.timestamps[i]).toBe(points[i]![3]);
            const key = decoded.columns.keys[decoded.columns.keyIndex[i]!];
            expect(key).toBe(columns.keys[points[i]![0]]);
          }
        },
      ),
    );
    expect(() =>
      decodeMetricBatch('log', {
        format: 'keel.metrics/1',
        batch: 'b',
        keys: [],
        count: 1,
        data: '',
      }),
    ).toThrow(/malformed/);
  });

  it('base64 matches the standard encoding with and without the native encoder', () => {
    const saved = globalThis.Buffer;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const native = encodeBase64(bytes);
        (globalThis as { Buffer?: unknown }).Buffer = undefined;
        try {
          expect(encodeBase64(bytes)).toBe(native);
          expect(decodeBase64(native)).toEqual(bytes);
        } finally {
          globalThis.Buffer = saved;
        }
        expect(native).toBe(saved.from(bytes).toString('base64'));
      }),
    );
    expect(() => decodeBase64('abc')).toThrow(ValidationError);
  });

  it('cursors decode only for the query that made them', () => {
    const cursor = encodeCursor('q1', [Number.NaN, 'x', undefined, true, -1]);
    const values = decodeCursor(cursor, 'q1', 5);
    expect(values).toEqual([Number.NaN, 'x', undefined, true, -1]);
    expect(() => decodeCursor(cursor, 'q2', 5)).toThrow(/another query/);
    expect(() => decodeCursor(cursor, 'q1', 4)).toThrow(ValidationError);
    expect(() => decodeCursor('%%%', 'q1', 5)).toThrow(ValidationError);
  });
});

describe('environment capture', () => {
  it('reads the project manifest, installed versions and the lock file hash; no git outside a checkout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-env-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'app',
        version: '1.2.3',
        dependencies: { left: '^1.0.0', gone: '2' },
        devDependencies: { left: '9' },
      }),
    );
    await mkdir(join(dir, 'node_modules', 'left'), { recursive: true });
    writeFileSync(
      join(dir, 'node_modules', 'left', 'package.json'),
      JSON.stringify({ version: '1.4.0' }),
    );
    writeFileSync(join(dir, 'package-lock.json'), 'lock');
    const env = await captureEnvironment({
      clock: new ManualClock(),
      cwd: dir,
      env: ['KEEL_TEST_ALLOWED'],
    });
    expect(env.runtime).toMatchObject({
      name: 'node',
      version: process.versions.node,
      platform: process.platform,
      arch: process.arch,
    });
    expect(env.runtime.cpus).toBeGreaterThan(0);
    expect(env.git).toBeUndefined();
    expect(env.project).toEqual({
      name: 'app',
      version: '1.2.3',
      dependencies: { left: { declared: '^1.0.0', installed: '1.4.0' }, gone: { declared: '2' } },
      lockfile: { name: 'package-lock.json', digest: sha256('lock') },
    });
    expect(env.capturedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('reads git commit, branch and dirty state in a checkout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-git-'));
    dirs.push(dir);
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: dir, stdio: 'pipe' }).toString().trim();
    git('init', '-q', '-b', 'trunk');
    writeFileSync(join(dir, 'a.txt'), 'a');
    git('add', 'a.txt');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qm', 'one');
    const commit = git('rev-parse', 'HEAD');
    const clean = await captureEnvironment({ clock: new ManualClock(), cwd: dir });
    expect(clean.git).toEqual({ commit, branch: 'trunk', dirty: false });
    writeFileSync(join(dir, 'a.txt'), 'changed');
    const dirty = await captureEnvironment({ clock: new ManualClock(), cwd: dir });
    expect(dirty.git?.dirty).toBe(true);
    expect(dirty.project).toBeUndefined();
  });

  it('never captures environment variables unless allow-listed, and reduces gracefully without Node modules', async () => {
    process.env.KEEL_TEST_SECRET = 'hunter2';
    process.env.KEEL_TEST_ALLOWED = 'yes';
    try {
      const env = await captureEnvironment({
        clock: new ManualClock(),
        env: ['KEEL_TEST_ALLOWED', 'KEEL_TEST_UNSET'],
      });
      expect(JSON.stringify(env)).not.toContain('hunter2');
      expect(env.env).toEqual({ KEEL_TEST_ALLOWED: 'yes' });
      const plain = await captureEnvironment({ clock: new ManualClock() });
      expect(plain.env).toBeUndefined();
      const original = process.getBuiltinModule;
      (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
      try {
        const reduced = await captureEnvironment({ clock: new ManualClock() });
        expect(reduced.runtime.name).toBe('node');
        expect(reduced.git).toBeUndefined();
        expect(reduced.project).toBeUndefined();
      } finally {
        process.getBuiltinModule = original;
      }
    } finally {
      delete process.env.KEEL_TEST_SECRET;
      delete process.env.KEEL_TEST_ALLOWED;
    }
  });

  it('startRun({ captureEnvironment }) stores the environment on the run', async () => {
    const t = tracker({ cwd: process.cwd() });
    const run = await t.startRun({ experiment: 'env', captureEnvironment: true });
    const stored = await t.getRun(run.id);
    expect(stored.environment?.runtime.name).toBe('node');
    expect(stored.environment?.project?.name).toBe('keel');
    const none = await t.startRun({ experiment: 'env' });
    expect((await t.getRun(none.id)).environment).toBeUndefined();
  });
});

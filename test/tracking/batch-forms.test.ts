import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { encodeBase64 } from '../../src/core/base64.js';
import type { Digest } from '../../src/core/digest.js';
import { ConflictError, StorageError, ValidationError } from '../../src/core/errors.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { decodeMetricBatch, encodeMetricBatch } from '../../src/tracking/metric-batch.js';
import { quickEndRun, quickStartRun } from '../../src/tracking/quick-validate.js';
import { trackingKeys } from '../../src/tracking/records.js';
import { endRunSchema, startRunSchema } from '../../src/tracking/schemas.js';
import { createTracker, type TrackerOptions } from '../../src/tracking/tracker.js';
import type { TrackerEvents } from '../../src/tracking/types.js';

const D1 = `sha256:${'a1'.repeat(32)}` as Digest;
const D2 = `sha256:${'b2'.repeat(32)}` as Digest;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory store that counts writes per key prefix and can fail puts. */
function countingStore(): MetadataStore & { puts: string[]; failPuts: boolean } {
  const inner = createMemoryMetadataStore();
  const store = {
    puts: [] as string[],
    failPuts: false,
    get: inner.get,
    list: inner.list,
    read: inner.read,
    delete: inner.delete,
    append: inner.append,
    async put(...args: Parameters<MetadataStore['put']>) {
      if (store.failPuts) throw new StorageError('[keel] disk full');
      store.puts.push(args[0]);
      return inner.put(...args);
    },
  };
  return store;
}

function setup(extra: Partial<TrackerOptions> = {}) {
  const metadata = countingStore();
  const events: [string, unknown][] = [];
  const tracker = createTracker({
    metadata,
    artifacts: createMemoryArtifactStore(),
    flushIntervalMs: 0,
    emit: (event: keyof TrackerEvents, payload: unknown) => void events.push([event, payload]),
    ...extra,
  } as TrackerOptions);
  const runPuts = () => metadata.puts.filter((key) => key.startsWith(trackingKeys.runsPrefix));
  return { tracker, metadata, events, runPuts };
}

describe('startRun({ inputs }) and end(status, error, { tags, outputs })', () => {
  it('record inputs at creation and outputs and tags at the end, one run-document write each', async () => {
    const { tracker, runPuts } = setup();
    const run = await tracker.startRun({
      experiment: 'e',
      inputs: [
        { digest: D1, name: 'rows', kind: 'dataset' },
        { digest: D1, name: 'rows', kind: 'dataset' },
      ],
    });
    expect(runPuts()).toHaveLength(1);
    const ended = await run.end('completed', undefined, {
      tags: { stage: 'done' },
      outputs: [{ digest: D2, name: 'model' }],
    });
    expect(runPuts()).toHaveLength(2);
    expect(ended).toMatchObject({
      status: 'completed',
      tags: { stage: 'done' },
      inputs: [{ digest: D1, name: 'rows', kind: 'dataset' }],
      outputs: [{ digest: D2, name: 'model' }],
    });
    expect(await tracker.getRun(run.id)).toEqual(ended);
    const lineage = await tracker.lineage(D1);
    expect(lineage.consumedBy.map((r) => r.id)).toEqual([run.id]);
    expect((await tracker.lineage(D2)).producedBy.map((r) => r.id)).toEqual([run.id]);
    // end() is idempotent: later options are ignored
    expect(await run.end('failed', new Error('x'), { tags: { stage: 'other' } })).toEqual(ended);
  });

  it('refuse bad inputs, outputs and tags before writing anything', async () => {
    const { tracker, metadata } = setup();
    await expect(
      tracker.startRun({ experiment: 'e', inputs: [{ digest: 'sha256:nope' as Digest }] }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(metadata.puts).toEqual([]);
    const run = await tracker.startRun({ experiment: 'e' });
    const before = metadata.puts.length;
    await expect(
      run.end('completed', undefined, { outputs: [{ digest: D1, extra: 1 } as never] }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      run.end('completed', undefined, { tags: { n: 1 as unknown as string } }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(run.end('completed', undefined, { bogus: 1 } as never)).rejects.toThrow(
      /end options/,
    );
    expect(metadata.puts.length).toBe(before);
    expect((await tracker.getRun(run.id)).status).toBe('running');
    await run.end();
  });

  it('a write from another handle in between is kept (compare-and-swap falls back to a read)', async () => {
    const { tracker } = setup();
    const run = await tracker.startRun({ experiment: 'e' });
    const other = await tracker.resumeRun(run.id);
    await other.setTags({ from: 'other' });
    await run.setTags({ from: 'first', mine: 'yes' });
    await other.logParams({ lr: 0.1 });
    const ended = await run.end('completed', undefined, { tags: { last: '1' } });
    expect(ended.tags).toEqual({ from: 'first', mine: 'yes', last: '1' });
    expect(ended.params).toEqual({ lr: 0.1 });
    await expect(other.setTags({ late: 'x' })).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('startRun({ deferWriteMs })', () => {
  it('a run that ends before the delay is stored once, already ended, and is seen by reads meanwhile', async () => {
    const { tracker, runPuts, events } = setup();
    const parent = await tracker.startRun({ experiment: 'e' });
    const run = await tracker.startRun({
      experiment: 'e',
      parentRunId: parent.id,
      deferWriteMs: 60_000,
      inputs: [{ digest: D1 }],
    });
    expect(runPuts()).toHaveLength(1); // the parent only
    expect(events.map(([event]) => event)).toEqual(['run:started', 'run:started']);
    const ended = await run.end('completed', undefined, { outputs: [{ digest: D2 }] });
    expect(runPuts()).toHaveLength(2);
    expect(ended).toMatchObject({ status: 'completed', parentRunId: parent.id });
    expect(await tracker.getRun(run.id)).toEqual(ended);
    expect(events.at(-1)).toEqual([
      'run:ended',
      { runId: run.id, experiment: 'e', status: 'completed', run: ended },
    ]);
    expect((await tracker.lineage(D2)).producedBy.map((r) => r.id)).toEqual([run.id]);
    await parent.end();
  });

  it('reads of this tracker store a deferred run first; other trackers see it after the delay', async () => {
    const { tracker, metadata } = setup();
    const reader = createTracker({ metadata, artifacts: createMemoryArtifactStore() });
    const run = await tracker.startRun({ experiment: 'e', deferWriteMs: 40 });
    await expect(reader.getRun(run.id)).rejects.toThrow(/no run/);
    expect((await tracker.getRun(run.id)).status).toBe('running');
    expect((await reader.getRun(run.id)).status).toBe('running');
    const late = await tracker.startRun({ experiment: 'e', deferWriteMs: 40 });
    await sleep(120);
    expect((await reader.getRun(late.id)).status).toBe('running');
    await late.end();
    await run.end();
    expect((await reader.searchRuns({})).runs.map((r) => r.status)).toEqual([
      'completed',
      'completed',
    ]);
  });

  it('writes through the handle store it first; metrics and params land on the stored run', async () => {
    const { tracker, runPuts } = setup();
    const run = await tracker.startRun({ experiment: 'e', deferWriteMs: 60_000 });
    run.logMetric('loss', 0.5);
    await run.logParams({ lr: 0.1 });
    expect(runPuts().length).toBe(2);
    const ended = await run.end();
    expect(ended.params).toEqual({ lr: 0.1 });
    expect(ended.metrics.loss?.value).toBe(0.5);
    expect(await tracker.metricHistory(run.id, 'loss')).toHaveLength(1);
  });

  it('a failed store makes end() reject and keeps the run; end() again stores it', async () => {
    const { tracker, metadata } = setup();
    const run = await tracker.startRun({ experiment: 'e', deferWriteMs: 60_000 });
    metadata.failPuts = true;
    await expect(run.end('failed', new Error('boom'))).rejects.toBeInstanceOf(StorageError);
    metadata.failPuts = false;
    const ended = await run.end('failed', new Error('boom'));
    expect(ended).toMatchObject({ status: 'failed', error: { message: 'boom' } });
    expect(await tracker.getRun(run.id)).toEqual(ended);
  });

  it('a deferred parent is stored before its child', async () => {
    const { tracker, runPuts } = setup();
    const parent = await tracker.startRun({ experiment: 'e', deferWriteMs: 60_000 });
    const child = await tracker.startRun({ experiment: 'e', parentRunId: parent.id });
    expect(runPuts()).toEqual([trackingKeys.run(parent.id), trackingKeys.run(child.id)]);
    await child.end();
    await parent.end();
  });
});

describe('quick validation agrees with the zod schemas', () => {
  /** Mostly valid values, sometimes a near miss or anything at all. */
  const mostly = <T>(valid: fc.Arbitrary<T>, ...invalid: fc.Arbitrary<unknown>[]) =>
    fc.oneof(
      { arbitrary: valid, weight: 8 },
      ...invalid.map((arbitrary) => ({ arbitrary, weight: 1 })),
    );
  const validKey = fc.oneof(
    fc.constantFrom('a', 'lr', 'keel.step', 'x y'),
    fc.string({ minLength: 1, maxLength: 6 }),
  );
  const badKey = fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '',
    'a\u0001',
    'k'.repeat(251),
  );
  const key: fc.Arbitrary<string> = fc.oneof(
    { arbitrary: validKey, weight: 8 },
    { arbitrary: badKey, weight: 1 },
  );
  const name = mostly(
    fc.constantFrom('e', 'churn', 'a b'),
    fc.constantFrom('', ' x', 'x ', 'n'.repeat(257), 'a\u0001'),
    fc.string({ maxLength: 4 }),
  );
  const digest = mostly(
    fc.constantFrom(D1, D2),
    fc.constantFrom('sha256:xyz', D1.toUpperCase()),
    fc.integer(),
  );
  const ref = mostly(
    fc
      .record(
        {
          digest,
          name: mostly(
            fc.string({ minLength: 1, maxLength: 3 }),
            fc.constant(''),
            fc.integer(),
            fc.constant(undefined),
          ),
          kind: mostly(validKey, badKey, fc.constant(undefined)),
          extra: fc.integer(),
        },
        { requiredKeys: [] },
      )
      .map((r) => {
        const { extra, ...rest } = r;
        return extra !== undefined && extra % 7 === 0 ? r : rest;
      }),
    fc.anything(),
  );
  const value = mostly(
    fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
    ),
    fc.constantFrom(
      null,
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      'v'.repeat(6001),
      'v'.repeat(5001),
    ),
    fc.object(),
  );
  const tagValue = mostly(
    fc.string({ maxLength: 3 }),
    fc.constantFrom(1, null, undefined, 't'.repeat(5001)),
  );
  const params = mostly(fc.dictionary(key, value, { maxKeys: 3 }), fc.anything());
  const tags = mostly(fc.dictionary(key, tagValue, { maxKeys: 3 }), fc.anything());
  const refs = mostly(fc.array(ref, { maxLength: 3 }), fc.anything());
  const startOptions = mostly(
    fc
      .record(
        {
          experiment: name,
          name,
          params,
          tags,
          parentRunId: mostly(
            fc.string({ minLength: 1, maxLength: 4 }),
            fc.constantFrom('', 'p'.repeat(257)),
            fc.integer(),
          ),
          captureEnvironment: mostly(fc.boolean(), fc.constant({ env: ['HOME'] }), fc.integer()),
          inputs: refs,
          deferWriteMs: mostly(
            fc.integer({ min: 0, max: 3_600_000 }),
            fc.constantFrom(-1, 3_600_001, 1.5, Number.NaN),
          ),
          extra: fc.anything(),
        },
        { requiredKeys: ['experiment'] },
      )
      .map((o) => {
        const { extra, ...rest } = o;
        return typeof extra === 'number' ? o : rest;
      }),
    fc.anything(),
  );

  it('whatever quickStartRun accepts, startRunSchema accepts, with the same value', () => {
    let accepted = 0;
    fc.assert(
      fc.property(startOptions, (opts) => {
        const quick = quickStartRun(opts);
        if (quick === undefined) return;
        accepted++;
        const parsed = startRunSchema.safeParse(opts);
        expect(parsed.success).toBe(true);
        expect(quick).toEqual(parsed.data);
      }),
      { numRuns: 3000 },
    );
    // the generator must reach the accepting side often, or the property says little
    expect(accepted).toBeGreaterThan(150);
  });

  it('whatever quickEndRun accepts, endRunSchema accepts, with the same value', () => {
    const endOptions = mostly(
      fc.record({ tags, outputs: refs }, { requiredKeys: [] }),
      fc.anything(),
    );
    let accepted = 0;
    fc.assert(
      fc.property(endOptions, (opts) => {
        const quick = quickEndRun(opts);
        if (quick === undefined) return;
        accepted++;
        const parsed = endRunSchema.safeParse(opts);
        expect(parsed.success).toBe(true);
        expect(quick).toEqual(parsed.data);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(150);
  });

  it('accepts the common shapes, and copies them', () => {
    const tags = { team: 'ml' };
    const opts = {
      experiment: 'e',
      name: 'run',
      params: { lr: 0.1, deep: true, opt: 'adam' },
      tags,
      parentRunId: '01arz3ndektsv4rrffq69g5fav',
      captureEnvironment: false,
      inputs: [{ digest: D1, name: 'x', kind: 'dataset' }],
      deferWriteMs: 50,
    };
    const quick = quickStartRun(opts);
    expect(quick).toEqual(opts);
    expect(quick?.tags).not.toBe(tags);
    expect(quickEndRun({ tags, outputs: [{ digest: D2 }] })).toEqual({
      tags,
      outputs: [{ digest: D2 }],
    });
  });
});

describe('compact metric batches', () => {
  it('round-trip any steps and timestamps up to the largest safe integer', () => {
    const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const narrow = fc.integer({ min: 0, max: 70_000 });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 299 }),
            fc.double(),
            fc.oneof(safe, narrow),
            fc.oneof(safe, narrow),
          ),
          { maxLength: 40 },
        ),
        (points) => {
          const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
          const columns = {
            keys,
            keyIndex: Uint32Array.from(points.map((p) => p[0])),
            values: Float64Array.from(points.map((p) => p[1])),
            steps: Float64Array.from(points.map((p) => p[2])),
            timestamps: Float64Array.from(points.map((p) => p[3])),
            count: points.length,
          };
          const { entry, latest } = encodeMetricBatch('b', columns);
          const { columns: back } = decodeMetricBatch('log', JSON.parse(JSON.stringify(entry)));
          for (let i = 0; i < points.length; i++) {
            expect(back.keys[back.keyIndex[i]!]).toBe(`k${points[i]![0]}`);
            expect(Object.is(back.values[i], points[i]![1])).toBe(true);
            expect(back.steps[i]).toBe(points[i]![2]);
            expect(back.timestamps[i]).toBe(points[i]![3]);
          }
          // the latest point per key: highest step, then latest timestamp, later logged wins ties
          for (const point of latest) {
            const same = points.filter((p) => `k${p[0]}` === point.key);
            const best = same.reduce((a, b) =>
              b[2] > a[2] || (b[2] === a[2] && b[3] >= a[3]) ? b : a,
            );
            expect([point.step, point.timestamp]).toEqual([best[2], best[3]]);
            expect(Object.is(point.value, best[1])).toBe(true);
          }
          expect(new Set(latest.map((p) => p.key)).size).toBe(latest.length);
        },
      ),
    );
  });

  it('takes about 10 bytes per point for a training loop (8 for the value)', () => {
    const n = 1000;
    const columns = {
      keys: ['loss', 'acc', 'lr', 'grad_norm'],
      keyIndex: Uint32Array.from({ length: n }, (_, i) => i & 3),
      values: Float64Array.from({ length: n }, () => Math.random()),
      steps: Float64Array.from({ length: n }, (_, i) => 5000 + (i >> 2)),
      timestamps: Float64Array.from({ length: n }, () => 1_700_000_000_000),
      count: n,
    };
    const { entry } = encodeMetricBatch('b', columns);
    expect(entry.steps).toEqual([5000, 1]);
    expect(entry.timestamps).toEqual([1_700_000_000_000, 0]);
    expect(entry.keyWidth).toBe(1);
    expect((entry.data as string).length).toBe(Math.ceil((n * 10) / 3) * 4);
  });

  it('still reads batches in the first layout (keel.metrics/1)', () => {
    const bytes = new Uint8Array(2 * 28);
    const view = new DataView(bytes.buffer);
    for (const [i, v] of [Number.NaN, 2.5].entries()) view.setFloat64(i * 8, v, true);
    for (const [i, v] of [3, 4].entries()) view.setFloat64(16 + i * 8, v, true);
    for (const [i, v] of [1000, 2000].entries()) view.setFloat64(32 + i * 8, v, true);
    for (const [i, v] of [1, 0].entries()) view.setUint32(48 + i * 4, v, true);
    const { columns } = decodeMetricBatch('log', {
      format: 'keel.metrics/1',
      batch: 'old',
      keys: ['a', 'b'],
      count: 2,
      data: encodeBase64(bytes),
    });
    expect(Array.from(columns.values)).toEqual([Number.NaN, 2.5]);
    expect(Array.from(columns.steps)).toEqual([3, 4]);
    expect(Array.from(columns.timestamps)).toEqual([1000, 2000]);
    expect(Array.from(columns.keyIndex)).toEqual([1, 0]);
  });

  it('refuses damaged compact batches with IntegrityError', () => {
    const good = encodeMetricBatch('b', {
      keys: ['a', 'b'],
      keyIndex: Uint32Array.from([0, 1]),
      values: Float64Array.from([1, 2]),
      steps: Float64Array.from([0, 300]),
      timestamps: Float64Array.from([5, 5]),
      count: 2,
    }).entry;
    for (const damaged of [
      { ...good, keyWidth: 3 },
      { ...good, steps: [0, 3] },
      { ...good, steps: [-1, 2] },
      { ...good, timestamps: [5] },
      { ...good, count: 3 },
      { ...good, keys: ['a'] },
      { ...good, data: 'AAAA' },
    ]) {
      expect(() => decodeMetricBatch('log', damaged)).toThrow(/malformed/);
    }
  });
});

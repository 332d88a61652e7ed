/**
 * Reading a reference in steps: the step-wise sort, rows and columns read alike, and a large
 * reference read in slices while the monitor already records (the deferred engine). No timed
 * assertions: slicing is shown by counting steps with a deadline already past.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ValidationError } from '../../src/core/errors.js';
import { createRandom } from '../../src/core/random.js';
import { profile } from '../../src/drift/profile.js';
import { createKeel } from '../../src/keel.js';
import { CalibratedEngine } from '../../src/ops/monitor/calibrated-engine.js';
import {
  DeferredEngine,
  referenceValues,
  SYNC_REFERENCE_VALUES,
} from '../../src/ops/monitor/deferred-engine.js';
import type { CheckResult, DriftEngine } from '../../src/ops/monitor/engine.js';
import { createMonitor } from '../../src/ops/monitor/monitor.js';
import {
  buildColumnModels,
  referenceSteps,
  sortSteps,
} from '../../src/ops/monitor/reference-steps.js';

const keel = createKeel({ backend: memoryBackend() });

function columnsOf(seed: string, n: number): Record<string, unknown[]> {
  const rng = createRandom(seed);
  return {
    x: Array.from({ length: n }, () => rng.next() * 4 - 2),
    k: Array.from({ length: n }, () => rng.int(6)),
    c: Array.from({ length: n }, () => ['a', 'b', 'c'][rng.int(3)]),
  };
}

function rowsOf(columns: Record<string, unknown[]>): Record<string, unknown>[] {
  const n = columns.x!.length;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, values[i]])),
  );
}

function check(engine: DriftEngine): CheckResult {
  const task = engine.startCheck();
  for (;;) {
    const result = task.step(Number.POSITIVE_INFINITY);
    if (result) return result;
  }
}

describe('reading a reference in steps', () => {
  it('sorts like the native sort, across runs and merges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40_000 }), fc.integer(), (n, seed) => {
        const rng = createRandom(`sort-${seed}`);
        // Few distinct values half of the time: ties across run boundaries.
        const values = Float64Array.from({ length: n }, () =>
          seed % 2 ? rng.int(7) : rng.next() * 1e6 - 5e5,
        );
        const expected = Float64Array.from(values).sort();
        const steps = sortSteps(values);
        let next = steps.next();
        while (!next.done) next = steps.next();
        expect(next.value).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });

  it('reads rows, columns and their steps into the same models', () => {
    const columns = columnsOf('same', 30_000);
    const fromColumns = buildColumnModels(columns, 'reference');
    expect(buildColumnModels(rowsOf(columns), 'reference')).toEqual(fromColumns);
    const steps = referenceSteps(columns, 'reference');
    let yields = 0;
    let next = steps.next();
    while (!next.done) {
      yields++;
      next = steps.next();
    }
    expect(next.value).toEqual(fromColumns);
    // Sliced: a few values per step, not the whole reference in one.
    expect(yields).toBeGreaterThan(90_000 / 16_384);
  });

  it('reads a profile column by column, as parseProfile would accept it', () => {
    const columns = columnsOf('profile', 3000);
    const p = profile(columns);
    const models = buildColumnModels(p, 'reference');
    expect(models.columns.map((m) => m.name)).toEqual(['x', 'k', 'c']);
    expect(() =>
      buildColumnModels({ ...p, version: 999 } as unknown as typeof p, 'reference'),
    ).toThrow(ValidationError);
  });

  it('counts the values a reference holds (what decides reading it in the background)', () => {
    expect(referenceValues(columnsOf('n', 100))).toBe(300);
    expect(referenceValues(rowsOf(columnsOf('n', 100)))).toBe(300);
    expect(referenceValues(profile(columnsOf('n', 100)))).toBeGreaterThan(100);
    expect(referenceValues(null)).toBe(0);
    expect(referenceValues({ __proto__: 1 })).toBe(0);
  });
});

describe('deferred engine', () => {
  it('records while reading, in many short steps, and then checks exactly as the engine would', () => {
    const columns = columnsOf('deferred', 20_000);
    // Windows that move in blocks of 100 rows; the rows kept start mid-block (850 - 500).
    const options = { size: 500, perPredictions: 1e6, checkEvery: 100 };
    const deferred = new DeferredEngine(referenceSteps(columns, 'reference'), options);
    const { columns: models, unusable } = buildColumnModels(columns, 'reference');
    const direct = new CalibratedEngine(models, unusable, options);
    const stream = rowsOf(columnsOf('stream', 850));
    let steps = 0;
    for (const [i, row] of stream.entries()) {
      direct.record(row);
      deferred.record(row);
      // A deadline already past: each call does one small unit of work.
      if (i < 10) {
        deferred.prepare(0);
        steps++;
      }
    }
    expect(deferred.ready).toBe(false);
    while (!deferred.prepare(0)) steps++;
    expect(steps).toBeGreaterThan(20);
    expect(deferred.columns).toEqual(['x', 'k', 'c']);
    // The rows recorded before the models existed were kept (the last window of them), at
    // their positions in the stream: the same statistics, and the same budget.
    const a = check(deferred).report;
    const b = check(direct).report;
    const tests = (r: typeof a) =>
      Object.values(r.columns).flatMap((c) => c.tests!.map((t) => [t.statistic, t.pValue]));
    expect(tests(a)).toEqual(tests(b));
    expect(a.budget).toBe(b.budget);
    expect(deferred.mismatched()).toEqual(direct.mismatched());
  });

  it('reads a large reference in the background: createMonitor returns at once, checks wait for it', async () => {
    const columns = columnsOf('monitor', 10_000);
    expect(referenceValues(columns)).toBeGreaterThan(SYNC_REFERENCE_VALUES);
    const monitor = createMonitor({ keel, name: 'big', reference: columns, window: { size: 300 } });
    for (const row of rowsOf(columnsOf('monitor-stream', 300))) monitor.record(row, 0, 0);
    const report = await monitor.check();
    expect(report.tested).toBe(3);
    expect(report.drifted).toBe(false);
    expect(monitor.stats().rows).toBe(300);
    monitor.close();
  });

  it('reports a large reference without a usable column as an error event and from check()', async () => {
    const empty = { a: new Array(30_000).fill(null) };
    const monitor = createMonitor({ keel, name: 'empty', reference: empty });
    const errors: unknown[] = [];
    monitor.on('error', ({ error }) => errors.push(error));
    for (let i = 0; i < 500; i++) monitor.record({ a: i }, 0, 0);
    await expect(monitor.check()).rejects.toThrow(/no column can be monitored/);
    // The reading, and the check scheduled while it ran.
    expect(errors.length).toBeGreaterThanOrEqual(1);
    for (const error of errors) expect(error).toBeInstanceOf(ValidationError);
    // No scheduled check keeps failing: the monitor stopped scheduling.
    const before = errors.length;
    for (let i = 0; i < 500; i++) monitor.record({ a: i }, 0, 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toHaveLength(before);
    expect(monitor.state().checks).toBe(0);
    monitor.close();
  });
});

import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { detectDrift } from '../../src/drift/dataset.js';
import { profile } from '../../src/drift/profile.js';
import { Ddm } from '../../src/drift/streaming/ddm.js';
import { createKeel } from '../../src/keel.js';
import { createMonitor } from '../../src/ops/monitor/monitor.js';
import type { DriftDetected, DriftResolved, MonitorCheck } from '../../src/ops/monitor/types.js';
import { testTelemetry } from '../helpers/otel.js';
import { rows } from './data.js';
import { sleep, until } from './helpers.js';

const keel = createKeel({ backend: memoryBackend() });
const reference = rows(2000, 'reference');
const score = (row: { x: number }): number => (row.x > 0 ? 1 : 0);

describe('monitor: drift (calibrated default)', () => {
  it('stays quiet on stable data and pages once for a shift that lasts (profile reference)', async () => {
    const monitor = createMonitor({
      keel,
      name: 'churn',
      reference: profile(reference),
      window: { size: 1000 },
      checkEvery: 500,
    });
    const checks: MonitorCheck[] = [];
    const detected: DriftDetected[] = [];
    monitor.on('check', (c) => checks.push(c));
    monitor.on('drift:detected', (c) => detected.push(c));
    const predict = monitor.wrap(score);
    // One batch per check: checks due while one is pending are coalesced into it.
    const stable = rows(2000, 'stable');
    for (let b = 0; b < 4; b++) {
      for (const row of stable.slice(b * 500, b * 500 + 500)) predict(row);
      await until(() => checks.length === b + 1);
    }
    expect(detected).toEqual([]);
    expect(checks.every((c) => !c.report.drifted && c.status === 'stable')).toBe(true);
    expect(monitor.state()).toMatchObject({ status: 'stable', episodes: 0, checks: 4 });
    const shifted = rows(1500, 'shifted', 1);
    for (let b = 0; b < 3; b++) {
      for (const row of shifted.slice(b * 500, b * 500 + 500)) predict(row);
      await until(() => checks.length === 5 + b);
    }
    // Every check on the shifted window alarms, but the incident is paged once.
    expect(checks.slice(4).every((c) => c.report.drifted && c.status === 'drifting')).toBe(true);
    expect(detected).toHaveLength(1);
    const page = detected[0]!;
    expect(page.columns).toEqual(expect.arrayContaining(['x', 'y']));
    expect(page.columns).not.toContain('c');
    expect(page.rows).toBe(1000);
    expect(page.predictions).toBe(2500);
    expect(page.episode).toMatchObject({ id: 1, startedAtPrediction: 2500 });
    const x = page.findings.find((f) => f.column === 'x')!;
    expect(x.test).toBe('location');
    expect(x.statistic).toBeGreaterThan(5);
    expect(x.pValue).toBeLessThan(x.threshold);
    expect(x.effects?.wasserstein).toBeGreaterThan(0.3);
    expect(monitor.state()).toMatchObject({
      status: 'drifting',
      episodes: 1,
      episode: { id: 1, columns: expect.arrayContaining(['x', 'y']), alarms: 3 },
    });
    monitor.close();
  });

  it('resolves the episode when the data returns, and opens a new one for the next drift', async () => {
    const monitor = createMonitor({
      keel,
      name: 'episodes',
      reference,
      window: { size: 300 },
      checkEvery: 1_000_000,
    });
    const detected: DriftDetected[] = [];
    const resolved: DriftResolved[] = [];
    monitor.on('drift:detected', (d) => detected.push(d));
    monitor.on('drift:resolved', (r) => resolved.push(r));
    const feed = async (data: ReturnType<typeof rows>): Promise<void> => {
      for (let i = 0; i < data.length; i += 100) {
        for (const row of data.slice(i, i + 100)) monitor.record(row, 0, 1);
        await monitor.check();
      }
    };
    await feed(rows(600, 'calm-1'));
    await feed(rows(600, 'storm-1', 1));
    expect(detected.map((d) => d.episode.id)).toEqual([1]);
    expect(resolved).toEqual([]);
    await feed(rows(900, 'calm-2'));
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.episode).toMatchObject({ id: 1, startedAtPrediction: 700 });
    expect(resolved[0]!.episode.endedAtPrediction).toBeGreaterThanOrEqual(1200 + 300);
    expect(monitor.state()).toMatchObject({ status: 'stable', episodes: 1 });
    expect(monitor.state().episode).toBeUndefined();
    await feed(rows(300, 'storm-2', -1));
    expect(detected.map((d) => d.episode.id)).toEqual([1, 2]);
    expect(monitor.state()).toMatchObject({ status: 'drifting', episode: { id: 2 } });
    monitor.close();
  });

  it('reports every column with its tests, p-values, levels and effect sizes', async () => {
    const monitor = createMonitor({ keel, name: 'm', reference, checkEvery: 1_000_000 });
    for (const row of rows(600, 'now')) monitor.record(row, 0, 1);
    const report = await monitor.check();
    expect(report.preset).toBe('calibrated');
    expect(report.correction).toBe('bonferroni');
    expect(Object.keys(report.columns)).toEqual(['x', 'y', 'c']);
    expect(report.columns.x!.tests!.map((t) => t.test)).toEqual(['location', 'scale', 'missing']);
    expect(report.columns.c!.tests!.map((t) => `${t.test}:${t.label ?? ''}`)).toEqual([
      'share:b',
      'share:c',
      'share:(other)',
      'missing:',
    ]);
    for (const column of Object.values(report.columns)) {
      for (const t of column.tests!) {
        expect(t.pValue).toBeGreaterThanOrEqual(0);
        expect(t.pValue).toBeLessThanOrEqual(1);
        expect(t.threshold).toBeGreaterThan(0);
        expect(t.threshold).toBeLessThan(1e-3);
      }
      expect(column.effects!.jensenshannon).toBeGreaterThanOrEqual(0);
    }
    // The budget of one check: its new predictions over the false-alarm budget.
    expect(report.budget).toBeCloseTo((0.6 * 600) / 1_000_000, 12);
    monitor.close();
  });

  it('minEffect keeps significant but small shifts from alarming', async () => {
    const big = rows(20_000, 'big-reference');
    const tiny = rows(5000, 'tiny', 0.15);
    const plain = createMonitor({
      keel,
      name: 'plain',
      reference: big,
      window: { size: 5000 },
      checkEvery: 1_000_000,
    });
    const floored = createMonitor({
      keel,
      name: 'floored',
      reference: big,
      window: { size: 5000 },
      checkEvery: 1_000_000,
      minEffect: 0.3,
    });
    for (const row of tiny) {
      plain.record(row, 0, 1);
      floored.record(row, 0, 1);
    }
    expect((await plain.check()).drifted).toBe(true);
    const report = await floored.check();
    expect(report.drifted).toBe(false);
    expect(report.columns.x!.effect).toMatchObject({ method: 'wasserstein' });
    expect(report.columns.x!.effect!.statistic).toBeLessThan(0.3);
    plain.close();
    floored.close();
  });

  it('runs the check off the hot path, never inside the wrapped call', async () => {
    const monitor = createMonitor({
      keel,
      name: 'm',
      reference,
      window: { size: 100 },
      checkEvery: 100,
    });
    let checks = 0;
    monitor.on('check', () => checks++);
    const predict = monitor.wrap(score);
    for (const row of rows(100, 'a')) predict(row);
    expect(checks).toBe(0);
    await Promise.resolve();
    expect(checks).toBe(0);
    await until(() => checks === 1);
    monitor.close();
  });

  it('waits for the first 100 rows (or the whole window if smaller) before checking on schedule', async () => {
    const monitor = createMonitor({ keel, name: 'm', reference, checkEvery: 10 });
    let checks = 0;
    monitor.on('check', () => checks++);
    for (const row of rows(99, 'warm')) monitor.record(row, 0, 1);
    await sleep(30);
    expect(checks).toBe(0);
    monitor.record(rows(1, 'one')[0], 0, 1);
    await until(() => checks === 1);
    monitor.close();
  });

  it('accepts a table of columns and runs the same check on demand', async () => {
    const columns = {
      x: reference.map((r) => r.x),
      y: reference.map((r) => r.y),
      c: reference.map((r) => r.c),
    };
    const monitor = createMonitor({ keel, name: 'm', reference: columns, checkEvery: 1_000_000 });
    const predict = monitor.wrap(score);
    for (const row of rows(600, 'now', 1)) predict(row);
    const report = await monitor.check();
    expect(report.drifted).toBe(true);
    expect(monitor.stats()).toMatchObject({ predictions: 600, rows: 600, checks: 1 });
    const empty = createMonitor({ keel, name: 'e', reference });
    await expect(empty.check()).rejects.toThrow(/no predictions recorded yet/);
  });
});

describe('monitor: the evidently preset', () => {
  it("reproduces detectDrift's report on the window, with episodes on top", async () => {
    const monitor = createMonitor({
      keel,
      name: 'ev',
      reference,
      preset: 'evidently',
      window: { size: 500 },
      checkEvery: 1_000_000,
      correction: 'bh',
    });
    const detected: DriftDetected[] = [];
    monitor.on('drift:detected', (d) => detected.push(d));
    const window = rows(500, 'ev-now', 1);
    for (const row of window) monitor.record(row, 0, 1);
    const report = await monitor.check();
    const expected = detectDrift(reference, window, { correction: 'bh' });
    expect(report).toEqual({ ...expected, preset: 'evidently' });
    expect(report.columns.x!.method).toBe('wasserstein');
    await monitor.check();
    expect(detected).toHaveLength(1);
    expect(detected[0]!.findings.map((f) => f.column)).toEqual(detected[0]!.columns);
    monitor.close();
  });

  it('refuses the options of the other preset', () => {
    expect(() => createMonitor({ keel, name: 'm', reference, correction: 'bh' })).toThrow(
      /correction does not apply to preset 'calibrated'.*preset: 'evidently'/,
    );
    expect(() =>
      createMonitor({
        keel,
        name: 'm',
        reference,
        preset: 'evidently',
        falseAlarms: { perPredictions: 1e6 },
      }),
    ).toThrow(/falseAlarms does not apply to preset 'evidently'/);
  });
});

describe('monitor: wrap keeps the function as it was', () => {
  it('keeps sync functions sync, async ones async, and passes results and errors through', async () => {
    const monitor = createMonitor({ keel, name: 'm', reference });
    const row = reference[0]!;
    const sync = monitor.wrap((r: { x: number }, factor: number) => r.x * factor);
    expect(sync(row, 2)).toBe(row.x * 2);
    const asyncFn = monitor.wrap(async (r: { x: number }) => r.x);
    const pending = asyncFn(row);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe(row.x);
    const boom = new Error('model failed');
    const throwing = monitor.wrap((_r: unknown): number => {
      throw boom;
    });
    expect(() => throwing(row)).toThrow(boom);
    const rejecting = monitor.wrap(async (_r: unknown): Promise<number> => {
      throw boom;
    });
    await expect(rejecting(row)).rejects.toBe(boom);
    const self = {
      k: 3,
      f(this: { k: number }, r: { x: number }) {
        return this.k + r.x;
      },
    };
    self.f = monitor.wrap(self.f);
    expect(self.f(row)).toBe(3 + row.x);
    expect(monitor.stats()).toMatchObject({ predictions: 3, errors: 2 });
    monitor.close();
  });

  for (const preset of ['calibrated', 'evidently'] as const) {
    it(`counts inputs that do not match the reference columns, never throwing (${preset})`, async () => {
      const monitor = createMonitor({ keel, name: 'm', reference, preset, checkEvery: 1_000_000 });
      const predict = monitor.wrap((input: unknown) => (input === null ? 'none' : 'some'));
      expect(predict(null)).toBe('none');
      expect(predict('text')).toBe('some');
      expect(predict({ x: 'not a number', y: 1, c: 'a' })).toBe('some');
      expect(predict({ y: 1, c: 7 })).toBe('some');
      // Keys in another order, extra keys and getters are read all the same.
      class Row {
        readonly extra = 1;
        readonly c = 'b';
        readonly y = 2;
        get x(): number {
          return 0.5;
        }
      }
      expect(predict(new Row())).toBe('some');
      for (const row of rows(100, 'ok')) predict(row);
      const checks: MonitorCheck[] = [];
      monitor.on('check', (c) => checks.push(c));
      await monitor.check();
      expect(checks[0]!.mismatched).toEqual({ rows: 4, columns: { x: 2, y: 0, c: 1 } });
      monitor.close();
    });
  }

  it('keeps the values of each row it records (window snapshot of the calibrated engine)', async () => {
    const monitor = createMonitor({
      keel,
      name: 'm',
      reference,
      window: { size: 3 },
      checkEvery: 1_000_000,
    });
    monitor.record({ x: 1, y: 2, c: 'a' }, 0, 1);
    monitor.record({ c: 'b', y: 4, x: 3 }, 0, 1);
    monitor.record({ x: Number.NaN, y: null, c: true }, 0, 1);
    monitor.record({ x: 5, y: 6, c: 'c' }, 0, 1);
    const report = await monitor.check();
    expect(report.columns.x!.missing).toEqual({ reference: 0, current: 1 });
    expect(report.columns.y!.missing).toEqual({ reference: 0, current: 1 });
    // 'true' is a label the reference never had: it is counted in the pooled bin.
    const other = report.columns.c!.tests!.find((t) => t.label === '(other)')!;
    expect(other.statistic).toBeGreaterThan(0);
    monitor.close();
  });
});

describe('monitor: decay', () => {
  it('detects decay from outcomes with DDM, and not while the error rate is steady', () => {
    const monitor = createMonitor({ keel, name: 'm', reference });
    const decays: { detector: string; errorRate: number }[] = [];
    monitor.on('decay:detected', (d) => decays.push(d));
    const predict = monitor.wrap((r: { x: number; id: string }) => (r.x > 0 ? 1 : 0), {
      id: (r) => r.id,
    });
    const data = rows(3000, 'decay');
    data.forEach((row, i) => {
      const id = `p${i}`;
      const output = predict({ ...row, id });
      // 5% errors for the first 2000, then 40%.
      const wrong = i < 2000 ? i % 20 === 0 : i % 5 < 2;
      expect(monitor.recordOutcome(id, wrong ? 1 - output : output)).toBe(true);
      if (i === 1999) expect(decays).toEqual([]);
    });
    expect(decays.length).toBeGreaterThanOrEqual(1);
    expect(decays[0]!.detector).toBe('ddm');
    expect(monitor.recordOutcome('unknown', 1)).toBe(false);
    expect(monitor.stats()).toMatchObject({ outcomes: 3000, unmatchedOutcomes: 1 });
    monitor.close();
  });

  it('takes a detector instance and a custom error function', () => {
    const detector = new Ddm({ warmStart: 5 });
    const monitor = createMonitor({
      keel,
      name: 'm',
      reference,
      decay: {
        detector,
        isError: (out, label) => Math.abs((out as number) - (label as number)) > 0.5,
      },
    });
    let decayed = 0;
    monitor.on('decay:detected', () => decayed++);
    for (let i = 0; i < 200; i++) {
      monitor.record(reference[i], 1, 1, `id${i}`);
      monitor.recordOutcome(`id${i}`, i < 100 ? 1 : 0);
    }
    expect(decayed).toBeGreaterThanOrEqual(1);
  });
});

describe('monitor: telemetry and bad input', () => {
  it('records spans and metrics with the real OpenTelemetry SDK', async () => {
    const t = testTelemetry();
    const k = createKeel({ backend: memoryBackend(), tracer: t.tracer, meter: t.meter });
    const monitor = createMonitor({ keel: k, name: 'churn', reference, checkEvery: 100 });
    const predict = monitor.wrap(score);
    for (const row of rows(100, 't')) predict(row);
    await until(() => monitor.stats().checks === 1);
    const span = t.spans().find((s) => s.name === 'keel.monitor.check');
    expect(span?.attributes['keel.model.name']).toBe('churn');
    expect(typeof span?.attributes['keel.drift.detected']).toBe('boolean');
    const metrics = await t.metrics();
    const count = metrics.find((m) => m.name === 'keel.monitor.predictions');
    expect(count?.value).toBe(100);
    expect(metrics.some((m) => m.name === 'keel.monitor.latency')).toBe(true);
    expect(metrics.some((m) => m.name === 'keel.drift.score')).toBe(true);
    monitor.close();
  });

  it('refuses bad options with ValidationError', () => {
    const bad: unknown[] = [
      { name: '' },
      { name: 'm', checkEvery: 0 },
      { name: 'm', window: { size: -1 } },
      { name: 'm', preset: 'evidently', correction: 'holm' },
      { name: 'm', preset: 'nannyml' },
      { name: 'm', falseAlarms: { perPredictions: 0 } },
      { name: 'm', falseAlarms: { every: 1000 } },
      { name: 'm', minEffect: -1 },
      { name: 'm', decay: { detector: 'nope' } },
    ];
    for (const extra of bad) {
      expect(() => createMonitor({ keel, reference, ...(extra as { name: string }) })).toThrow(
        expect.objectContaining({ code: 'KEEL_VALIDATION' }),
      );
    }
    expect(() => createMonitor({ keel, name: 'm', reference: 42 as never })).toThrow(
      expect.objectContaining({ code: 'KEEL_VALIDATION' }),
    );
    const monitor = createMonitor({ keel, name: 'm', reference });
    expect(() => monitor.wrap(42 as never)).toThrow(/expected a function/);
    expect(() => monitor.recordOutcome(7 as never, 1)).toThrow(/as a string/);
  });

  for (const preset of ['calibrated', 'evidently'] as const) {
    it(`refuses at once a reference without a column it can monitor (${preset})`, () => {
      const unusable: unknown[] = [
        [],
        {},
        [{}, {}],
        { x: [null, null, Number.NaN] },
        { x: [1, 'a', 2, 'b'] },
      ];
      for (const ref of unusable) {
        expect(() => createMonitor({ keel, name: 'm', preset, reference: ref as never })).toThrow(
          expect.objectContaining({
            code: 'KEEL_VALIDATION',
            message: expect.stringMatching(/no column can be (monitored|checked)/),
          }),
        );
      }
    });
  }

  it('needs ten values in a column to monitor it, and says which columns it left out', () => {
    expect(() => createMonitor({ keel, name: 'm', reference: { x: [1, 2, 3] } })).toThrow(
      /x \(too_few_values\).*at least 10/,
    );
    const monitor = createMonitor({
      keel,
      name: 'm',
      reference: { x: reference.map((r) => r.x), sparse: [1, 2, ...new Array(1998).fill(null)] },
    });
    expect(monitor.stats().unmonitored).toEqual({
      sparse: expect.stringMatching(/2 non-missing reference values/),
    });
  });
});

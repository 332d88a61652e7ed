import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { profile } from '../../src/drift/profile.js';
import { Ddm } from '../../src/drift/streaming/ddm.js';
import { createKeel } from '../../src/keel.js';
import { createMonitor, type MonitorCheck } from '../../src/ops/monitor.js';
import { testTelemetry } from '../helpers/otel.js';
import { rows } from './data.js';
import { sleep, until } from './helpers.js';

const keel = createKeel({ backend: memoryBackend() });
const reference = rows(2000, 'reference');
const score = (row: { x: number }): number => (row.x > 0 ? 1 : 0);

describe('monitor: drift', () => {
  it('stays quiet on stable data and detects a 1-sigma shift (profile reference)', async () => {
    const monitor = createMonitor({
      keel,
      name: 'churn',
      reference: profile(reference),
      window: { size: 1000 },
      checkEvery: 500,
    });
    const checks: MonitorCheck[] = [];
    const detected: (MonitorCheck & { columns: string[] })[] = [];
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
    expect(checks.every((c) => !c.report.drifted)).toBe(true);
    const shifted = rows(1000, 'shifted', 1);
    for (let b = 0; b < 2; b++) {
      for (const row of shifted.slice(b * 500, b * 500 + 500)) predict(row);
      await until(() => checks.length === 5 + b);
    }
    expect(detected.length).toBeGreaterThanOrEqual(1);
    const last = detected.at(-1)!;
    expect(last.columns).toEqual(expect.arrayContaining(['x', 'y']));
    expect(last.columns).not.toContain('c');
    expect(last.rows).toBe(1000);
    expect(last.predictions).toBe(3000);
    monitor.close();
  });

  it('accepts a table reference and runs the same check on demand', async () => {
    const monitor = createMonitor({ keel, name: 'm', reference, checkEvery: 1_000_000 });
    const predict = monitor.wrap(score);
    for (const row of rows(600, 'now', 1)) predict(row);
    const report = await monitor.check();
    expect(report.drifted).toBe(true);
    expect(monitor.stats()).toMatchObject({ predictions: 600, rows: 600, checks: 1 });
    const empty = createMonitor({ keel, name: 'e', reference });
    await expect(empty.check()).rejects.toThrow(/no predictions recorded yet/);
  });

  it('runs the check off the hot path, never inside the wrapped call', async () => {
    const monitor = createMonitor({ keel, name: 'm', reference, checkEvery: 10 });
    let checks = 0;
    monitor.on('check', () => checks++);
    const predict = monitor.wrap(score);
    for (const row of rows(10, 'a')) predict(row);
    expect(checks).toBe(0);
    await Promise.resolve();
    expect(checks).toBe(0);
    await sleep(20);
    expect(checks).toBe(1);
    monitor.close();
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

  it('counts inputs that do not match the reference columns and reports them, never throwing', async () => {
    const monitor = createMonitor({ keel, name: 'm', reference, checkEvery: 1_000_000 });
    const predict = monitor.wrap((input: unknown) => (input === null ? 'none' : 'some'));
    expect(predict(null)).toBe('none');
    expect(predict('text')).toBe('some');
    expect(predict({ x: 'not a number', y: 1, c: 'a' })).toBe('some');
    expect(predict({ y: 1, c: 7 })).toBe('some');
    for (const row of rows(100, 'ok')) predict(row);
    const checks: MonitorCheck[] = [];
    monitor.on('check', (c) => checks.push(c));
    await monitor.check();
    expect(checks[0]!.mismatched).toEqual({ rows: 4, columns: { x: 2, y: 0, c: 1 } });
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
      { name: 'm', correction: 'holm' },
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
});

/**
 * Monitor groups on a shared memory store: the merged window is the window of the replicas'
 * rows put together, stale replicas drop out, the group pages once per episode whichever
 * replica judges, and the false-alarm budget is spent once for the group.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { BinnedWindow } from '../../src/ops/monitor/binned-window.js';
import { CalibratedEngine } from '../../src/ops/monitor/calibrated-engine.js';
import {
  MergedWindow,
  summarize,
  summaryFromJson,
  summaryToJson,
} from '../../src/ops/monitor/group-window.js';
import { createMonitor } from '../../src/ops/monitor/monitor.js';
import { buildColumnModels } from '../../src/ops/monitor/reference-steps.js';
import type {
  DriftDetected,
  DriftResolved,
  Monitor,
  MonitorCheck,
  MonitorOptions,
} from '../../src/ops/monitor/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { type Row, rows } from './data.js';

const reference = rows(2000, 'reference');
const NEVER = 3_600_000; // no timer exchange: the tests call share() themselves

function group(
  ids: string[],
  extra: Partial<MonitorOptions> = {},
  staleAfter = 5,
  store: MetadataStore = memoryBackend().metadata,
  clock = new ManualClock(0),
) {
  const keel = createKeel({ backend: { ...memoryBackend(), metadata: store }, clock });
  const monitors = ids.map((id) =>
    createMonitor({
      keel,
      name: 'churn',
      reference,
      window: { size: 300 },
      ...extra,
      replicas: { id, flushMs: NEVER, staleAfter },
    }),
  );
  const seen = {
    detected: [] as DriftDetected[],
    resolved: [] as DriftResolved[],
    checks: [] as MonitorCheck[],
    errors: [] as unknown[],
  };
  for (const m of monitors) {
    m.on('drift:detected', (e) => seen.detected.push(e));
    m.on('drift:resolved', (e) => seen.resolved.push(e));
    m.on('check', (e) => seen.checks.push(e));
    m.on('error', (e) => seen.errors.push(e.error));
  }
  return { keel, store, clock, monitors, seen };
}

/** Feeds each monitor its slice of `data` (round robin in blocks), then one exchange each. */
async function round(monitors: Monitor[], data: Row[]): Promise<void> {
  const per = Math.ceil(data.length / monitors.length);
  monitors.forEach((m, i) => {
    for (const row of data.slice(i * per, (i + 1) * per)) m.record(row, 0, 1);
  });
  for (const m of monitors) await m.share();
}

describe('monitor groups: the merged window', () => {
  it('is the window of every replica’s rows put together (counts, tests, p-values)', async () => {
    const { columns, unusable } = buildColumnModels(reference, 'reference');
    const sizes = [100, 250, 400];
    const streams = [rows(150, 'a'), rows(250, 'b', 0.2), rows(900, 'c')];
    const windows = sizes.map((size) => new BinnedWindow(columns, size));
    windows.forEach((w, i) => {
      for (const row of streams[i]!) w.record(row);
      w.advance(10_000);
    });
    // Through JSON, as peers read each other.
    const parts = windows.map(
      (w, i) => summaryFromJson(summaryToJson(summarize(w, `n${i}`)), columns)!,
    );
    const merged = new MergedWindow(columns);
    merged.load(parts, 750);
    // The same rows in one window: each replica's last `size` rows, concatenated.
    const together = new BinnedWindow(columns, 750);
    streams.forEach((s, i) => {
      for (const row of s.slice(-sizes[i]!)) together.record(row);
    });
    together.advance(10_000);
    expect(merged.rows).toBe(100 + 250 + 400);
    expect(merged.size).toBe(750);
    expect(merged.counts.map((c) => Array.from(c))).toEqual(
      together.counts.map((c) => Array.from(c)),
    );
    expect(Array.from(merged.missing)).toEqual(Array.from(together.missing));
    // So a check of either computes the same statistics and p-values.
    const options = { size: 750, perPredictions: 1_000_000 };
    const checkOf = (engine: CalibratedEngine) => engine.startCheck(true).step(Infinity)!;
    const a = checkOf(new CalibratedEngine(columns, unusable, options, merged));
    const b = checkOf(new CalibratedEngine(columns, unusable, options, together));
    for (const name of Object.keys(b.report.columns)) {
      expect(a.report.columns[name]!.tests).toEqual(b.report.columns[name]!.tests);
    }
  });

  it('refuses a peer payload that is not a window of these columns', () => {
    const { columns } = buildColumnModels(reference, 'reference');
    const w = new BinnedWindow(columns, 10);
    for (const row of rows(10, 'x')) w.record(row);
    w.advance(100);
    const good = summaryToJson(summarize(w, 'n')) as Record<string, unknown>;
    expect(summaryFromJson(good as never, columns)).toBeDefined();
    const hostile: unknown[] = [
      null,
      [],
      { ...good, v: 1 },
      { ...good, rows: 11 },
      { ...good, processed: -1 },
      { ...good, size: Number.NaN },
      { ...good, counts: (good.counts as string[]).map((c) => `${c},0`) },
      { ...good, counts: (good.counts as string[]).map((c) => c.replace(/^\d+/, '-1')) },
      { ...good, counts: (good.counts as string[]).map((c) => c.replace(/^\d+/, '1e3')) },
      { ...good, counts: (good.counts as string[]).map((c) => c.replace(/^\d+/, '')) },
      { ...good, counts: (good.counts as string[]).map((c) => c.replace(/^\d+/, '9'.repeat(20))) },
      { ...good, counts: (good.counts as string[]).map(() => 1) },
      { ...good, missing: [0] },
      { ...good, mismatched: { rows: 0, columns: ['__proto__'] } },
      { ...good, nonce: 'x'.repeat(1000) },
    ];
    for (const payload of hostile) {
      expect(
        summaryFromJson(payload as never, columns),
        JSON.stringify(payload).slice(-200),
      ).toBeUndefined();
    }
  });

  it('judges the merged rows: the check sees every live replica’s window', async () => {
    const { monitors, seen } = group(['a', 'b', 'c']);
    await round(monitors, rows(900, 'stable'));
    const report = await monitors[0]!.check();
    expect(report.drifted).toBe(false);
    expect(monitors[0]!.state().group).toMatchObject({ id: 'a', replicas: 3, rows: 900 });
    expect(seen.checks.at(-1)).toMatchObject({ rows: 900 });
    expect(seen.errors).toEqual([]);
  });
});

describe('monitor groups: one page per episode', () => {
  it('pages once for the group, resolves once, and every replica sees the episode', async () => {
    const { monitors, seen } = group(['a', 'b', 'c']);
    for (let r = 0; r < 4; r++) await round(monitors, rows(300, `stable-${r}`));
    expect(seen.detected).toEqual([]);
    for (let r = 0; r < 6; r++) await round(monitors, rows(300, `shifted-${r}`, 1));
    expect(seen.detected).toHaveLength(1);
    const page = seen.detected[0]!;
    expect(page.rows).toBe(900); // judged on the merged window, not one replica's 300 rows
    expect(page.columns).toEqual(expect.arrayContaining(['x', 'y']));
    for (const m of monitors) await m.share(); // the others read the episode document
    for (const m of monitors) {
      expect(m.state()).toMatchObject({ status: 'drifting', episodes: 1, episode: { id: 1 } });
    }
    for (let r = 0; r < 12; r++) await round(monitors, rows(300, `back-${r}`));
    expect(seen.resolved).toHaveLength(1);
    expect(seen.resolved[0]!.episode).toMatchObject({ id: 1 });
    for (const m of monitors) await m.share();
    for (const m of monitors) expect(m.state()).toMatchObject({ status: 'stable', episodes: 1 });
    // Exactly one replica judged every check.
    const judges = new Set(monitors.map((m) => m.state().group?.judge));
    expect(judges.size).toBe(1);
    expect(monitors.reduce((n, m) => n + m.state().checks, 0)).toBe(seen.checks.length);
    expect(seen.detected).toHaveLength(1);
    expect(seen.errors).toEqual([]);
  });

  it('a stale replica drops out, and a stale judge is replaced without a second page', async () => {
    const { monitors, seen, clock, store } = group(['a', 'b', 'c'], {}, 2);
    const [a, b] = monitors as [Monitor, Monitor, Monitor];
    for (let r = 0; r < 3; r++) await round(monitors, rows(300, `stable-${r}`));
    await a.share(); // a exchanged first in the round: it sees b's and c's last windows now
    expect(a.state().group).toMatchObject({ replicas: 3, rows: 900, judge: 'a' });
    // c goes silent: once its document has not changed for staleAfter x flushMs, it is out.
    clock.advance(2 * NEVER + 1);
    await round([a, b], rows(200, 'stable-ab'));
    await round([a, b], rows(200, 'stable-ab2'));
    expect(a.state().group).toMatchObject({ replicas: 2, rows: 600 });
    const boards: string[] = [];
    for await (const e of store.list('ops/replicas/monitor/churn/')) boards.push(e.key);
    const board = boards.filter((k) => k.split('/').at(-2) === 'replicas');
    expect(board.map((k) => k.split('/').at(-1))).toEqual(['a', 'b']);
    // A shift: a judges and pages; then a dies mid-episode (no close) and b takes over.
    for (let r = 0; r < 4; r++) await round([a, b], rows(200, `shifted-${r}`, 1));
    expect(seen.detected).toHaveLength(1);
    expect(seen.detected[0]!.rows).toBe(600);
    await b.share();
    clock.advance(2 * NEVER + 1);
    for (let r = 0; r < 4; r++) await round([b], rows(300, `shifted-b-${r}`, 1));
    expect(b.state().group).toMatchObject({ replicas: 1, rows: 300, judge: 'b' });
    expect(b.state()).toMatchObject({ status: 'drifting', episode: { id: 1 } });
    expect(seen.detected).toHaveLength(1); // the episode is the group's: no second page
    for (let r = 0; r < 12; r++) await round([b], rows(300, `back-${r}`));
    expect(seen.resolved.map((e) => e.episode.id)).toEqual([1]);
    expect(seen.checks.slice(-1)[0]!.rows).toBe(300);
    expect(seen.errors).toEqual([]);
  });

  it('spends the false-alarm budget once for the group, as a single monitor would', async () => {
    // A loose budget (one false alarm per 5000 predictions) so that false alarms happen.
    const falseAlarms = { perPredictions: 2000 };
    const { monitors, seen } = group(['a', 'b', 'c'], { falseAlarms });
    const single = createMonitor({
      keel: createKeel({ backend: memoryBackend() }),
      name: 'single',
      reference,
      window: { size: 900 },
      checkEvery: 1_000_000_000, // checked by check() after each round, as the group
      falseAlarms,
    });
    const singleChecks: MonitorCheck[] = [];
    single.on('check', (c) => singleChecks.push(c));
    const rounds = 200;
    for (let r = 0; r < rounds; r++) {
      const data = rows(300, `budget-${r}`);
      await round(monitors, data);
      for (const row of data) single.record(row, 0, 1);
      await single.check();
    }
    const predictions = rounds * 300;
    const spent = seen.checks.reduce((s, c) => s + (c.report.budget ?? 0), 0);
    // Each prediction is paid for once, by the judge: 60% of predictions / perPredictions.
    // (The last round's rows of b and c were published after the judge's last check.)
    expect(spent).toBeCloseTo((0.6 * (predictions - 200)) / falseAlarms.perPredictions, 9);
    // In steady state the judge's levels are a single monitor's on a window of the merged
    // size checked as often: the same budget per check and the same overlap between checks.
    const thresholds = (c: MonitorCheck) =>
      Object.values(c.report.columns).flatMap((e) => (e.tests ?? []).map((t) => t.threshold));
    expect(thresholds(seen.checks.at(-1)!)).toEqual(thresholds(singleChecks.at(-1)!));
    // Seeded: alarm onsets (where a false episode can start) stay within the budget, as the
    // single monitor's do; if every replica spent it, the group would have about 3 times more.
    const budget = predictions / falseAlarms.perPredictions;
    expect(onsets(singleChecks)).toBeLessThanOrEqual(budget);
    expect(onsets(seen.checks)).toBeLessThanOrEqual(budget);
    expect(onsets(seen.checks)).toBeLessThanOrEqual(2 * onsets(singleChecks) + 5);
  });
});

/** Checks that alarmed after one that did not: where a false episode can start. */
function onsets(checks: MonitorCheck[]): number {
  return checks.filter((c, i) => c.report.drifted && !(checks[i - 1]?.report.drifted ?? false))
    .length;
}

describe('monitor groups: failures and leaving', () => {
  it('an unreachable store fails the exchange, never a prediction; close() withdraws', async () => {
    const store = memoryBackend().metadata;
    let down = false;
    const flaky: MetadataStore = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (down) throw new Error('store unreachable');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const { monitors, seen } = group(['a', 'b'], {}, 5, flaky);
    const [a, b] = monitors as [Monitor, Monitor];
    await round(monitors, rows(300, 'stable'));
    down = true;
    const predict = a.wrap((row: Row) => row.x);
    expect(predict({ x: 2, y: 1, c: 'a' })).toBe(2);
    await expect(a.share()).rejects.toThrow(/store unreachable/);
    await expect(a.check()).rejects.toThrow(/store unreachable/);
    expect(seen.detected).toEqual([]);
    down = false;
    await round(monitors, rows(300, 'stable-2'));
    expect(a.state().group).toMatchObject({ replicas: 2 });
    b.close();
    await new Promise((r) => setTimeout(r, 20));
    await a.share();
    expect(a.state().group).toMatchObject({ replicas: 1, rows: 300 });
  });
});

describe('monitor groups: options', () => {
  const keel = createKeel({ backend: memoryBackend() });
  const base = { keel, name: 'churn', reference };

  it('refuses bad replicas options with a ValidationError that says what to do', () => {
    const bad: Partial<MonitorOptions>[] = [
      { replicas: { id: '../x' } },
      { replicas: { flushMs: 1 } },
      { replicas: { group: 'a/b' } },
      { replicas: { extra: 1 } as never },
      { replicas: {}, preset: 'evidently' },
      { replicas: {}, name: 'has space' },
    ];
    for (const extra of bad) {
      let caught: unknown;
      try {
        createMonitor({ ...base, ...extra } as MonitorOptions);
      } catch (error) {
        caught = error;
      }
      expect(isKeelError(caught, 'KEEL_VALIDATION'), JSON.stringify(extra)).toBe(true);
    }
    const noStore = { telemetry: keel.telemetry, clock: keel.clock };
    expect(() => createMonitor({ ...base, keel: noStore, replicas: {} })).toThrow(/MetadataStore/);
  });
});

/**
 * Cost of the drift monitor on the serving process, at its defaults (calibrated, window 1000,
 * a check every 100 predictions), for 1, 10 and 100 numerical columns and a 50 000-row
 * reference:
 *
 * - the hot path: `monitor.wrap(predict)(row)` against `predict(row)` in the same run (ns per
 *   call, best of 5 rounds);
 * - checks: the calibrated engine replayed with a check every 100 predictions, each check
 *   driven in the monitor's 3 ms slices; CPU time of the main thread per prediction;
 * - how long the monitor holds the event loop at once: every slice of reading the reference and
 *   of checking, timed one by one (wall time, and wall time less the main thread's waits for a
 *   core, from /proc/thread-self/schedstat), and the event-loop delay a timer sees
 *   (`monitorEventLoopDelay`) while a real monitor reads the reference and serves 20 000
 *   predictions with checks, against the same timers with no monitor.
 *
 * CPU time is the process's (`process.cpuUsage`: the garbage collector's and the compiler's
 * threads included), over whole loops: checks cost the CPU time of recording a stream with a
 * check every 100 predictions less that of recording the same stream without (each the best of
 * 3 rounds).
 *
 *   npx tsx bench/monitor-cost.ts
 *   KEEL_BENCH_GRID=quick npx tsx bench/monitor-cost.ts   # 10 000 reference rows, fewer rows
 *   KEEL_BENCH_COLUMNS=100 npx tsx bench/monitor-cost.ts  # one column count
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createRandom } from '../src/core/random.js';
import { detectDrift } from '../src/drift/dataset.js';
import { createKeel } from '../src/index.js';
import { DeferredEngine } from '../src/ops/monitor/deferred-engine.js';
import { EvidentlyEngine } from '../src/ops/monitor/evidently-engine.js';
import { createMonitor } from '../src/ops/monitor/monitor.js';
import { referenceSteps } from '../src/ops/monitor/reference-steps.js';
import { fmt, normal } from './_monitor-streams.js';

const QUICK = process.env.KEEL_BENCH_GRID === 'quick';
const WIDTHS = process.env.KEEL_BENCH_COLUMNS
  ? [Number(process.env.KEEL_BENCH_COLUMNS)]
  : [1, 10, 100];
const REFERENCE = QUICK ? 10_000 : 50_000;
const SLICE_MS = 3; // the monitor's slice (src/ops/monitor/monitor.ts)
const CHECK_EVERY = 100; // the default: a tenth of the default window
const PREDICTIONS = QUICK ? 20_000 : 100_000;
const LOOP_PREDICTIONS = QUICK ? 5_000 : 20_000;
const rng = createRandom('cost');

/** The main thread's scheduler clocks (Linux): CPU time run, and time spent waiting for a core. */
function schedstat(): { run: number; wait: number } | undefined {
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return { run: Number(run) / 1e6, wait: Number(wait) / 1e6 };
  } catch {
    return undefined;
  }
}
const PROC = schedstat() !== undefined;

/** Milliseconds of CPU this process has used (the garbage collector's threads included). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Milliseconds the main thread has waited for a core (0 where /proc is missing). */
function waitedMs(): number {
  return PROC ? schedstat()!.wait : 0;
}

/** Milliseconds of CPU for a plain 64-bin histogram of `n` values (best of 3 rounds). */
function plainHistogramCpu(n: number): number {
  const values = Float64Array.from({ length: 1 << 16 }, () => rng.next());
  const table = new Uint8Array(4096).map((_, i) => i >> 6);
  const counts = new Float64Array(64);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const c0 = cpuMs();
    for (let i = 0; i < n; i++) counts[table[(values[i & 0xffff]! * 4095) | 0]!]!++;
    best = Math.min(best, cpuMs() - c0);
  }
  if (counts[0] === -1) process.stdout.write('');
  return best;
}

/** Nanoseconds per call (best of 5 rounds: the machine is shared). */
function time(n: number, fn: (i: number) => unknown): number {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 50_000); i++) sink += Number(fn(i));
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += Number(fn(i));
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  if (sink === Number.NEGATIVE_INFINITY) process.stdout.write('');
  return best;
}

/**
 * The longest of a series of slices: wall time, and wall time less the main thread's waits
 * for a core (on a shared machine the kernel can preempt any code for tens of milliseconds).
 */
class Slices {
  wall = 0;
  held = 0;
  count = 0;
  over = 0;
  /** Runs `slice` once with the monitor's deadline; returns what it returned. */
  run<T>(slice: (deadline: number) => T): T {
    const w0 = waitedMs();
    const t0 = performance.now();
    const out = slice(t0 + SLICE_MS);
    const took = performance.now() - t0;
    const held = took - (waitedMs() - w0);
    this.wall = Math.max(this.wall, took);
    this.held = Math.max(this.held, held);
    if (held > 5) this.over++;
    this.count++;
    return out;
  }
}

const keel = createKeel({ backend: memoryBackend() });
const predict = (r: Record<string, number>): number => (r.f0! > 0 ? 1 : 0);
const out: string[] = [];
const row = (...cells: string[]) => out.push(`| ${cells.join(' | ')} |`);

for (const k of WIDTHS) {
  // Rows go through JSON, as a service receives them. No pools of boxed values: a large heap
  // would put the garbage collector's pauses into the figures.
  const rows: Record<string, number>[] = Array.from({ length: 1024 }, () => {
    const r: Record<string, number> = {};
    for (let j = 0; j < k; j++) r[`f${j}`] = normal(rng);
    return JSON.parse(JSON.stringify(r)) as Record<string, number>;
  });
  const reference: Record<string, Float64Array> = {};
  for (let j = 0; j < k; j++) {
    reference[`f${j}`] = Float64Array.from({ length: REFERENCE }, () => normal(rng));
  }
  const shape = `${k} x ${REFERENCE.toLocaleString('en')}`;

  // The hot path, on a monitor whose reference is read (no checks: checkEvery is huge).
  const monitor = createMonitor({ keel, name: `hot-${k}`, reference, checkEvery: 1e9 });
  await monitor.check().catch(() => undefined); // waits for the reading (no rows yet: refused)
  const wrapped = monitor.wrap(predict);
  const n = QUICK ? 100_000 : 300_000;
  const base = time(n, (i) => predict(rows[i & 1023]!));
  const ns = time(n, (i) => wrapped(rows[i & 1023]!));
  monitor.close();
  row(
    `${k}`,
    '`monitor.wrap(predict)(row)` (hot path)',
    `${fmt(ns - base, 0)} ns per prediction over \`predict(row)\` (${fmt(ns, 0)} vs ${fmt(base, 0)} ns)`,
    '<= 1 us',
  );

  // Reading the reference and checking, slice by slice, as the monitor drives them.
  const engine = new DeferredEngine(referenceSteps(reference, 'reference'), {
    size: 1000,
    perPredictions: 1_000_000,
    checkEvery: CHECK_EVERY,
  });
  const reading = new Slices();
  const r0 = cpuMs();
  while (!reading.run((deadline) => engine.prepare(deadline)));
  const readingCpu = cpuMs() - r0;
  // The same stream twice: recording only, then recording with a check every 100 predictions
  // (each driven in slices, as the monitor does).
  // Warm-up: the window fills and the checks' levels settle (each new geometry costs a
  // bisection); the figures below are the steady state.
  for (let t = 1; t <= PREDICTIONS; t++) {
    engine.record(rows[t & 1023]!);
    if (t % CHECK_EVERY === 0) {
      const task = engine.startCheck(false);
      while (task.step(performance.now() + SLICE_MS) === undefined);
    }
  }
  // Best of 3 rounds of each loop (a shared machine inflates single loops by half or more).
  let recordCpu = Number.POSITIVE_INFINITY;
  let bothCpu = Number.POSITIVE_INFINITY;
  let checkSlices = 0;
  for (let round = 0; round < 3; round++) {
    const c0 = cpuMs();
    for (let t = 1; t <= PREDICTIONS; t++) engine.record(rows[t & 1023]!);
    recordCpu = Math.min(recordCpu, cpuMs() - c0);
    checkSlices = 0;
    const c1 = cpuMs();
    for (let t = 1; t <= PREDICTIONS; t++) {
      engine.record(rows[t & 1023]!);
      if (t % CHECK_EVERY === 0) {
        const task = engine.startCheck(false);
        while (task.step(performance.now() + SLICE_MS) === undefined) checkSlices++;
        checkSlices++;
      }
    }
    bothCpu = Math.min(bothCpu, cpuMs() - c1);
  }
  const checkCpu = bothCpu - recordCpu;
  // The baseline, in the same run: a plain histogram of as many values (one table read and one
  // count per value), the least any binning of them can cost.
  const histogram = plainHistogramCpu(PREDICTIONS * k);
  // Once more, each slice timed (reading the scheduler's clocks costs tens of microseconds).
  const checking = new Slices();
  for (let t = 1; t <= PREDICTIONS / 2; t++) {
    engine.record(rows[t & 1023]!);
    if (t % CHECK_EVERY === 0) {
      const task = engine.startCheck(false);
      while (checking.run((deadline) => task.step(deadline)) === undefined);
    }
  }
  row(
    `${k}`,
    `reading the ${shape} reference, ${SLICE_MS} ms slices`,
    `longest slice ${fmt(reading.held)} ms less waits for a core, ${fmt(reading.wall)} ms wall (${reading.over} of ${reading.count} slices over 5 ms); ${fmt(readingCpu, 0)} ms CPU in all`,
    '<= 5 ms at once',
  );
  row(
    `${k}`,
    'recording (the engine part of the hot path)',
    `${fmt((recordCpu * 1e3) / PREDICTIONS, 3)} us CPU per prediction`,
    '<= 1 us',
  );
  row(
    `${k}`,
    `checks every ${CHECK_EVERY} predictions, window 1000`,
    `${fmt((checkCpu * 1e3) / PREDICTIONS, 3)} us CPU per prediction; ${checkSlices} slices over ${PREDICTIONS / CHECK_EVERY} checks; ${fmt(checkCpu / histogram, 1)}x a plain histogram of the same values (${fmt((histogram * 1e3) / PREDICTIONS, 3)} us per prediction)`,
    '<= 1 us',
  );
  row(
    `${k}`,
    'longest slice of a check',
    `${fmt(checking.held)} ms less waits for a core, ${fmt(checking.wall)} ms wall (${checking.over} of ${checking.count} slices over 5 ms)`,
    '<= 5 ms at once',
  );

  // The event loop as a timer sees it: a real monitor created on the reference and fed
  // predictions in batches of 100 between timers, against the same timers with no monitor.
  const loop = async (withMonitor: boolean) => {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const m = withMonitor
      ? createMonitor({ keel, name: `loop-${k}`, reference, window: { size: 1000 } })
      : undefined;
    for (let b = 0; b < LOOP_PREDICTIONS / 100; b++) {
      for (let i = 0; i < 100; i++) m?.record(rows[(b * 100 + i) & 1023]!, 0, 0);
      await new Promise((r) => setTimeout(r, 1));
    }
    if (m) await m.check();
    delay.disable();
    m?.close();
    return { max: delay.max / 1e6, p99: delay.percentile(99) / 1e6 };
  };
  const idle = await loop(false);
  const busy = await loop(true);
  row(
    `${k}`,
    `event-loop delay: \`createMonitor\` on the reference, then ${LOOP_PREDICTIONS.toLocaleString('en')} predictions with checks`,
    `max ${fmt(busy.max)} ms, p99 ${fmt(busy.p99)} ms (same timers, no monitor: max ${fmt(idle.max)} ms, p99 ${fmt(idle.p99)} ms)`,
    '<= 5 ms over the baseline',
  );

  if (k === WIDTHS[WIDTHS.length - 1] && k >= 100) {
    const evidently = new EvidentlyEngine(
      reference,
      1000,
      (r, c, o) => detectDrift(r, c, o),
      {},
      'reference',
    );
    for (let t = 0; t < 1000; t++) evidently.record(rows[t & 1023]!);
    const e0 = performance.now();
    evidently.startCheck().step(Number.POSITIVE_INFINITY);
    row(
      `${k}`,
      '`evidently` preset: one check (not sliced; for comparison)',
      `${fmt(performance.now() - e0, 0)} ms`,
      '',
    );
  }
}
await keel.close();

process.stdout.write('| columns | benchmark | keel | goal |\n|---:|---|---|---|\n');
for (const r of out) process.stdout.write(`${r}\n`);

/**
 * Cost of the drift monitor on the serving process, 100 numerical columns: the hot path
 * (`monitor.wrap(predict)(row)` against `predict(row)` in the same run), checks (CPU per
 * prediction), and how long the monitor ever holds the event loop: every slice of reading a
 * 100 x 50 000 reference and of checking, timed one by one (wall and CPU time: the machine is
 * shared, so wall time includes waits for a core), and the event-loop delay a timer sees
 * (`monitorEventLoopDelay`) against the same measurement with no monitor.
 *
 *   npx tsx bench/monitor-cost.ts
 *   KEEL_BENCH_GRID=quick npx tsx bench/monitor-cost.ts   # smaller reference and fewer rows
 */
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
const K = 100;
const REFERENCE = QUICK ? 10_000 : 50_000;
const SLICE_MS = 3; // the monitor's slice (src/ops/monitor/monitor.ts)
const rng = createRandom('cost');
// No pools of boxed values here: a large heap would put the garbage collector's pauses into
// the event-loop figures. Rows go through JSON, as a service receives them.
const rows: Record<string, number>[] = Array.from({ length: 1024 }, () => {
  const r: Record<string, number> = {};
  for (let j = 0; j < K; j++) r[`f${j}`] = normal(rng);
  return JSON.parse(JSON.stringify(r)) as Record<string, number>;
});
const big: Record<string, Float64Array> = {};
for (let j = 0; j < K; j++)
  big[`f${j}`] = Float64Array.from({ length: REFERENCE }, () => normal(rng));
const out: string[] = [];
const row = (name: string, keel: string, baseline: string, overhead: string, goal: string) =>
  out.push(`| ${name} | ${keel} | ${baseline} | ${overhead} | ${goal} |`);

/** Nanoseconds per call (best of 3 rounds: the machine is shared). */
function time(n: number, fn: (i: number) => unknown): number {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 50_000); i++) sink += Number(fn(i));
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += Number(fn(i));
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  if (sink === Number.NEGATIVE_INFINITY) process.stdout.write('');
  return best;
}

/** Milliseconds of CPU used by this process so far. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `slice` until it returns true; the longest slice in wall and CPU time, and the count. */
function slices(slice: (deadline: number) => boolean): {
  wall: number;
  cpu: number;
  count: number;
  totalCpu: number;
} {
  let wall = 0;
  let cpu = 0;
  let count = 0;
  let totalCpu = 0;
  for (;;) {
    const c0 = cpuMs();
    const t0 = performance.now();
    const done = slice(t0 + SLICE_MS);
    const took = performance.now() - t0;
    const used = cpuMs() - c0;
    wall = Math.max(wall, took);
    cpu = Math.max(cpu, used);
    totalCpu += used;
    count++;
    if (done) return { wall, cpu, count, totalCpu };
  }
}

const keel = createKeel({ backend: memoryBackend() });
const N = QUICK ? 50_000 : 300_000;
const predict = (r: Record<string, number>): number => (r.f0! > 0 ? 1 : 0);
const base = time(N, (i) => predict(rows[i & 1023]!));
// The least any recorder does: read the row's 100 values once (same run, same rows).
const copy = new Float64Array(K);
const read = time(N, (i) => {
  const values = Object.values(rows[i & 1023]!);
  for (let j = 0; j < values.length; j++) copy[j] = values[j] as number;
  return copy[0];
});
row(
  "reading a row's 100 values (`Object.values` into a Float64Array): the floor of any recorder",
  `${Math.round(read)} ns`,
  `\`predict(row)\`: ${Math.round(base)} ns`,
  '',
  '(reference for the rows below)',
);
const small: Record<string, number[]> = {};
for (let j = 0; j < K; j++) small[`f${j}`] = Array.from(big[`f${j}`]!.subarray(0, 150));
for (const preset of ['calibrated', 'evidently'] as const) {
  const monitor = createMonitor({
    keel,
    name: `hot-${preset}`,
    reference: small,
    preset,
    checkEvery: 1e9,
  });
  const wrapped = monitor.wrap(predict);
  const ns = time(N, (i) => wrapped(rows[i & 1023]!));
  row(
    `\`monitor.wrap(predict)(row)\`, 100 numerical columns, ${preset}`,
    `${Math.round(ns)} ns`,
    `\`predict(row)\`: ${Math.round(base)} ns`,
    `${Math.round(ns - base)} ns`,
    '<= 1 us per prediction',
  );
  monitor.close();
}

// Reading the reference and checking, slice by slice, as the monitor drives them.
const engine = new DeferredEngine(referenceSteps(big, 'reference'), {
  size: 1000,
  perPredictions: 1_000_000,
});
const t0 = performance.now();
const reading = slices((deadline) => engine.prepare(deadline));
row(
  `reading a ${K} x ${REFERENCE.toLocaleString('en')} reference (slices of ${SLICE_MS} ms)`,
  `longest slice ${fmt(reading.wall)} ms wall, ${fmt(reading.cpu)} ms CPU`,
  `${reading.count} slices, ${fmt(reading.totalCpu, 0)} ms CPU, ${fmt(performance.now() - t0, 0)} ms wall in all`,
  '',
  '<= 5 ms at once',
);
const predictions = QUICK ? 20_000 : 100_000;
let checkCpu = 0;
let longestWall = 0;
let longestCpu = 0;
let checkSlices = 0;
const recordStart = cpuMs();
for (let t = 1; t <= predictions; t++) engine.record(rows[t & 1023]!);
const recordCpu = cpuMs() - recordStart;
// Replay the same stream with checks every 100 predictions.
const checked = new DeferredEngine(referenceSteps(big, 'reference'), {
  size: 1000,
  perPredictions: 1_000_000,
});
slices((deadline) => checked.prepare(deadline));
for (let t = 1; t <= predictions; t++) {
  checked.record(rows[t & 1023]!);
  if (t % 100 === 0) {
    const task = checked.startCheck(false);
    const s = slices((deadline) => task.step(deadline) !== undefined);
    checkCpu += s.totalCpu;
    longestWall = Math.max(longestWall, s.wall);
    longestCpu = Math.max(longestCpu, s.cpu);
    checkSlices += s.count;
  }
}
row(
  'recording (hot path part of the engine), 100 columns',
  `${fmt((recordCpu * 1e3) / predictions, 2)} us CPU per prediction`,
  '',
  '',
  '<= 1 us per prediction',
);
row(
  `checks every 100 predictions, window 1000, ${K} x ${REFERENCE.toLocaleString('en')} reference`,
  `${fmt((checkCpu * 1e3) / predictions, 2)} us CPU per prediction`,
  `${checkSlices} slices over ${predictions / 100} checks`,
  '',
  '<= 1 us per prediction',
);
row(
  'longest slice of a check',
  `${fmt(longestWall)} ms wall, ${fmt(longestCpu)} ms CPU`,
  '',
  '',
  '<= 5 ms at once',
);

// The event loop as a timer sees it: the real monitor, created on the big reference and fed
// 10 000 predictions in batches, against the same timers with no monitor.
async function loopDelay(withMonitor: boolean): Promise<{ max: number; p99: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const monitor = withMonitor
    ? createMonitor({ keel, name: 'loop', reference: big, window: { size: 1000 } })
    : undefined;
  for (let b = 0; b < (QUICK ? 20 : 100); b++) {
    for (let i = 0; i < 100; i++) monitor?.record(rows[(b * 100 + i) & 1023]!, 0, 0);
    await new Promise((r) => setTimeout(r, 2));
  }
  if (monitor) await monitor.check();
  delay.disable();
  monitor?.close();
  return { max: delay.max / 1e6, p99: delay.percentile(99) / 1e6 };
}
const idle = await loopDelay(false);
const busy = await loopDelay(true);
row(
  `event-loop delay (\`monitorEventLoopDelay\`): creating a monitor on ${K} x ${REFERENCE.toLocaleString('en')} reference rows, then 10 000 predictions with checks`,
  `max ${fmt(busy.max)} ms, p99 ${fmt(busy.p99)} ms`,
  `same timers, no monitor: max ${fmt(idle.max)} ms, p99 ${fmt(idle.p99)} ms`,
  '',
  '<= 5 ms over the baseline',
);

const evidently = new EvidentlyEngine(
  big,
  1000,
  (r, c, o) => detectDrift(r, c, o),
  {},
  'reference',
);
for (let t = 0; t < 1000; t++) evidently.record(rows[t & 1023]!);
const e0 = performance.now();
evidently.startCheck().step(Number.POSITIVE_INFINITY);
row(
  'evidently preset: one check, same data (one step)',
  `${fmt(performance.now() - e0, 0)} ms`,
  '',
  '',
  '(not sliced; for comparison)',
);
await keel.close();

process.stdout.write('| benchmark | keel | baseline | overhead | goal |\n|---|---|---|---:|---|\n');
for (const r of out) process.stdout.write(`${r}\n`);

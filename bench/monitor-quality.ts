/**
 * Quality and cost of the drift monitor, for the calibrated default and the `evidently` preset:
 * false alarms on stable streams (episodes per 1M predictions, exact Poisson 95% interval, share
 * of deployments above 10 per 1M), detection of known changes (probability within a horizon,
 * Wilson 95% interval, median delay), and the cost of the hot path and of checks. Seeded: the
 * same command prints the same quality tables.
 *
 *   npx tsx bench/monitor-quality.ts                          # core configurations (~20 min here)
 *   npx tsx bench/monitor-quality.ts alarms detection cost    # some sections only
 *   KEEL_BENCH_MONITOR=full npx tsx bench/monitor-quality.ts  # the whole grid of issue 15 (hours)
 *   KEEL_BENCH_MONITOR=quick npx tsx bench/monitor-quality.ts # a smoke run (about a minute)
 *
 * Streams are drawn from pools of 2^20 values per distribution (the reference from the same
 * pool, so "stable" is exact) and fed row by row to the monitor's engines (the calibrated
 * engine or the `evidently` one, with the monitor's episode tracker), as `createMonitor` composes
 * them, minus the timer that spreads checks over ticks (test/ops/monitor-statistics.test.ts
 * checks that steps do not change results).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createRandom, type Random } from '../src/core/random.js';
import { detectDrift } from '../src/drift/dataset.js';
import { regularizedGammaP, regularizedGammaQ } from '../src/drift/distributions/gamma.js';
import { normalQuantile } from '../src/drift/distributions/normal-quantile.js';
import { createKeel } from '../src/index.js';
import { CalibratedEngine } from '../src/ops/monitor/calibrated-engine.js';
import type { CheckResult, DriftEngine } from '../src/ops/monitor/engine.js';
import { Episodes } from '../src/ops/monitor/episodes.js';
import { EvidentlyEngine } from '../src/ops/monitor/evidently-engine.js';
import { createMonitor } from '../src/ops/monitor/monitor.js';
import { buildColumnModels } from '../src/ops/monitor/reference-steps.js';

type Dist = 'normal' | 't3' | 'poisson' | 'labels2' | 'labels50';
type Preset = 'calibrated' | 'evidently';
const MODE = process.env.KEEL_BENCH_MONITOR ?? 'core';
const sections = process.argv.slice(2);
const want = (s: string): boolean => sections.length === 0 || sections.includes(s);
const ERT = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Data: pools of values, sampled with replacement.

const POOL = 1 << 20;
const pools = new Map<string, unknown[]>();

function pool(name: string, make: (rng: Random) => unknown): unknown[] {
  let p = pools.get(name);
  if (!p) {
    const rng = createRandom(`pool-${name}`);
    p = Array.from({ length: POOL }, () => make(rng));
    pools.set(name, p);
  }
  return p;
}

function normal(rng: Random): number {
  return normalQuantile((rng.nextUint32() + 0.5) / 4294967296);
}

function basePool(dist: Dist): unknown[] {
  switch (dist) {
    case 'normal':
      return pool('normal', normal);
    case 't3':
      return pool(
        't3',
        (r) => normal(r) / Math.sqrt((normal(r) ** 2 + normal(r) ** 2 + normal(r) ** 2) / 3),
      );
    case 'poisson':
      return pool('poisson2', (r) => poisson(r, 2));
    case 'labels2':
      return pool('labels2', (r) => (r.next() < 0.5 ? 'yes' : 'no'));
    case 'labels50':
      return pool('labels50', (r) => `label-${r.int(50)}`);
  }
}

function poisson(rng: Random, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

function sample(rng: Random, values: unknown[]): unknown {
  return values[rng.nextUint32() >>> 12];
}

function referenceTable(rng: Random, pools: unknown[][], n: number): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  pools.forEach((p, j) => {
    out[`c${j}`] = Array.from({ length: n }, () => sample(rng, p));
  });
  return out;
}

function engineFor(
  preset: Preset,
  reference: Record<string, unknown[]>,
  size: number,
): DriftEngine {
  if (preset === 'evidently') {
    return new EvidentlyEngine(reference, size, (r, c, o) => detectDrift(r, c, o), {}, 'reference');
  }
  const { columns, unusable } = buildColumnModels(reference, 'reference');
  return new CalibratedEngine(columns, unusable, { size, perPredictions: ERT });
}

function runCheck(engine: DriftEngine): CheckResult {
  const task = engine.startCheck();
  let result = task.step(Number.POSITIVE_INFINITY);
  while (result === undefined) result = task.step(Number.POSITIVE_INFINITY);
  return result;
}

/** Streams rows into an engine; calls `onEpisode` for every `drift:detected`. */
function stream(opts: {
  preset: Preset;
  rng: Random;
  stable: unknown[][];
  n: number;
  size: number;
  predictions: number;
  change?: { at: number; column: number; to: unknown[] };
  onEpisode: (t: number, columns: readonly string[]) => boolean | undefined;
}): void {
  const { rng, stable } = opts;
  const engine = engineFor(opts.preset, referenceTable(rng, stable, opts.n), opts.size);
  const every = opts.preset === 'calibrated' ? Math.max(1, Math.round(opts.size / 10)) : 500;
  const episodes = new Episodes(opts.size);
  const k = stable.length;
  const names = stable.map((_, j) => `c${j}`);
  const row: Record<string, unknown> = {};
  for (let t = 1; t <= opts.predictions; t++) {
    const c = opts.change;
    for (let j = 0; j < k; j++) {
      row[names[j]!] = sample(rng, c && t > c.at && j === c.column ? c.to : stable[j]!);
    }
    engine.record(row);
    if (t % every === 0 && Math.min(t, opts.size) >= engine.minRows) {
      const result = runCheck(engine);
      const change = episodes.observe({
        alarms: result.alarms,
        quiet: result.quiet,
        predictions: t,
        at: '',
      });
      if (change?.kind === 'started' && opts.onEpisode(t, result.alarms) === true) return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Intervals.

/** Exact (Garwood) 95% interval of a Poisson mean from a count. */
function poissonInterval(count: number): [number, number] {
  const solve = (f: (x: number) => number): number => {
    let lo = 0;
    let hi = 10 + 10 * count;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > 0) hi = mid;
      else lo = mid;
    }
    return (lo + hi) / 2;
  };
  // P(X >= count | lower) = 0.025 and P(X <= count | upper) = 0.025.
  const lower = count === 0 ? 0 : solve((x) => regularizedGammaP(count, x) - 0.025);
  const upper = solve((x) => 0.025 - regularizedGammaQ(count + 1, x));
  return [lower, upper];
}

/** Wilson 95% interval of a proportion. */
function wilson(hits: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = hits / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const fmt = (x: number, digits = 2): string => x.toFixed(digits);

// ---------------------------------------------------------------------------------------------
// False alarms.

interface AlarmConfig {
  preset: Preset;
  dist: Dist;
  n: number;
  size: number;
  columns: number;
  deployments: number;
  predictions: number;
}

function alarmConfigs(): AlarmConfig[] {
  const c = (
    preset: Preset,
    dist: Dist,
    n: number,
    size: number,
    columns: number,
    deployments: number,
    predictions: number,
  ): AlarmConfig => ({ preset, dist, n, size, columns, deployments, predictions });
  if (MODE === 'quick') {
    return [
      c('calibrated', 'normal', 1000, 1000, 10, 4, 100_000),
      c('evidently', 'normal', 1000, 1000, 1, 2, 50_000),
    ];
  }
  if (MODE === 'full') {
    const out: AlarmConfig[] = [];
    for (const dist of ['normal', 't3', 'poisson', 'labels2', 'labels50'] as const)
      for (const n of [200, 1000, 5000, 50_000])
        for (const size of [100, 500, 1000, 5000])
          for (const columns of [1, 10, 100])
            out.push(c('calibrated', dist, n, size, columns, 6, 500_000));
    return out;
  }
  const out: AlarmConfig[] = [];
  for (const dist of ['normal', 't3', 'poisson', 'labels2', 'labels50'] as const) {
    out.push(c('calibrated', dist, 1000, 1000, 10, 10, 400_000));
  }
  for (const [dist, n, size] of [
    ['normal', 200, 100],
    ['normal', 200, 5000],
    ['normal', 50_000, 100],
    ['normal', 50_000, 5000],
    ['normal', 5000, 500],
    ['t3', 200, 1000],
    ['poisson', 200, 100],
    ['poisson', 50_000, 5000],
    ['labels2', 200, 5000],
    ['labels2', 5000, 100],
    ['labels50', 200, 100],
    ['labels50', 50_000, 1000],
  ] as const) {
    out.push(c('calibrated', dist, n, size, 1, 20, 250_000));
  }
  out.push(c('calibrated', 'normal', 1000, 1000, 100, 6, 500_000));
  out.push(c('calibrated', 'labels2', 1000, 1000, 100, 6, 500_000));
  // Start-up: many short deployments, half of each spent filling the window.
  out.push(c('calibrated', 'normal', 1000, 5000, 10, 1000, 10_000));
  out.push(c('calibrated', 'labels50', 200, 1000, 10, 2000, 2_000));
  // The evidently preset, for comparison (its alarms are frequent: fewer predictions suffice).
  for (const [dist, n, size, columns] of [
    ['normal', 1000, 1000, 1],
    ['normal', 200, 100, 1],
    ['normal', 5000, 100, 1],
    ['labels50', 5000, 1000, 1],
    ['normal', 1000, 1000, 10],
    ['t3', 5000, 1000, 10],
  ] as const) {
    out.push(c('evidently', dist, n, size, columns, 10, 20_000));
  }
  return out;
}

function falseAlarms(): void {
  const rows: string[] = [];
  let index = 0;
  for (const cfg of alarmConfigs()) {
    const started = performance.now();
    const perDeployment: number[] = [];
    for (let d = 0; d < cfg.deployments; d++) {
      const rng = createRandom(`alarms-${index}-${d}`);
      const stable = Array.from({ length: cfg.columns }, () => basePool(cfg.dist));
      let count = 0;
      stream({
        preset: cfg.preset,
        rng,
        stable,
        n: cfg.n,
        size: cfg.size,
        predictions: cfg.predictions,
        onEpisode: () => {
          count++;
          return undefined;
        },
      });
      perDeployment.push(count);
    }
    index++;
    const total = perDeployment.reduce((a, b) => a + b, 0);
    const millions = (cfg.deployments * cfg.predictions) / 1e6;
    const [lo, hi] = poissonInterval(total);
    const above = perDeployment.filter((x) => (x / cfg.predictions) * 1e6 > 10).length;
    const line = `| ${cfg.preset} | ${cfg.dist} | ${cfg.n} | ${cfg.size} | ${cfg.columns} | ${cfg.deployments} x ${cfg.predictions.toLocaleString('en')} | ${total} | **${fmt(total / millions)}** [${fmt(lo / millions)}, ${fmt(hi / millions)}] | ${fmt((100 * above) / cfg.deployments, 0)}% |`;
    rows.push(line);
    process.stderr.write(`${line}  (${fmt((performance.now() - started) / 1000, 0)} s)\n`);
  }
  process.stdout.write(
    '\n### False alarms on stable streams (`drift:detected` episodes per 1M predictions)\n\n',
  );
  process.stdout.write(
    '| preset | data | reference | window | columns | deployments x predictions | episodes | per 1M [95% CI] | deployments > 10 per 1M |\n|---|---|---:|---:|---:|---|---:|---|---:|\n',
  );
  for (const r of rows) process.stdout.write(`${r}\n`);
}

// ---------------------------------------------------------------------------------------------
// Detection.

type Alternative = 'shift 0.5 sd' | 'shift 0.25 sd' | 'labels 50/50 -> 60/40' | 'variance x 1.5';

const alternatives: {
  name: Alternative;
  dist: Dist;
  horizon: number;
  goal: number;
  to: () => unknown[];
}[] = [
  {
    name: 'shift 0.5 sd',
    dist: 'normal',
    horizon: 1000,
    goal: 0.95,
    to: () => pool('normal+0.5', (r) => normal(r) + 0.5),
  },
  {
    name: 'shift 0.25 sd',
    dist: 'normal',
    horizon: 2000,
    goal: 0.9,
    to: () => pool('normal+0.25', (r) => normal(r) + 0.25),
  },
  {
    name: 'labels 50/50 -> 60/40',
    dist: 'labels2',
    horizon: 5000,
    goal: 0.9,
    to: () => pool('labels2-60', (r) => (r.next() < 0.6 ? 'yes' : 'no')),
  },
  {
    name: 'variance x 1.5',
    dist: 'normal',
    horizon: 5000,
    goal: 0.8,
    to: () => pool('normal-var1.5', (r) => normal(r) * Math.sqrt(1.5)),
  },
];

function detection(): void {
  const rows: string[] = [];
  const streams = (preset: Preset): number =>
    MODE === 'quick'
      ? 20
      : MODE === 'full'
        ? preset === 'calibrated'
          ? 1000
          : 200
        : preset === 'calibrated'
          ? 400
          : 100;
  for (const alt of alternatives) {
    for (const n of [1000, 5000]) {
      for (const preset of ['calibrated', 'evidently'] as const) {
        const started = performance.now();
        const count = streams(preset);
        const delays: number[] = [];
        let hits = 0;
        let early = 0;
        for (let s = 0; s < count; s++) {
          const rng = createRandom(`detect-${alt.name}-${n}-${s}`);
          const stable = Array.from({ length: 10 }, () => basePool(alt.dist));
          const at = 3000 + rng.int(500);
          let delay = -1;
          stream({
            preset,
            rng,
            stable,
            n,
            size: 1000,
            predictions: at + alt.horizon,
            change: { at, column: 3, to: alt.to() },
            onEpisode: (t, columns) => {
              if (t <= at) {
                early++;
                return true; // an episode open before the change would hide it: counted as missed
              }
              if (columns.includes('c3')) {
                delay = t - at;
                return true;
              }
              return undefined;
            },
          });
          if (delay >= 0) {
            hits++;
            delays.push(delay);
          }
        }
        delays.sort((a, b) => a - b);
        const [lo, hi] = wilson(hits, count);
        const median = delays.length ? String(delays[Math.floor(delays.length / 2)]) : '-';
        const line = `| ${alt.name} | ${n} | ${preset} | ${count} | **${fmt(hits / count)}** [${fmt(lo)}, ${fmt(hi)}] | ${median} | ${early} | >= ${alt.goal} within ${alt.horizon} |`;
        rows.push(line);
        process.stderr.write(`${line}  (${fmt((performance.now() - started) / 1000, 0)} s)\n`);
      }
    }
  }
  process.stdout.write(
    '\n### Detection: change in 1 of 10 columns, window 1000 (probability within the horizon)\n\n',
  );
  process.stdout.write(
    '| change | reference | preset | streams | detected [95% CI] | median delay | episodes before the change | goal |\n|---|---:|---|---:|---|---:|---:|---|\n',
  );
  for (const r of rows) process.stdout.write(`${r}\n`);
}

// ---------------------------------------------------------------------------------------------
// Cost.

async function cost(): Promise<void> {
  const keel = createKeel({ backend: memoryBackend() });
  const k = 100;
  const rng = createRandom('cost');
  const normals = basePool('normal');
  const small: Record<string, number[]> = {};
  for (let j = 0; j < k; j++)
    small[`f${j}`] = Array.from({ length: 5000 }, () => sample(rng, normals) as number);
  const rows: Record<string, number>[] = Array.from({ length: 1024 }, () => {
    const r: Record<string, number> = {};
    for (let j = 0; j < k; j++) r[`f${j}`] = sample(rng, normals) as number;
    return r;
  });
  const predict = (r: Record<string, number>): number => (r.f0! > 0 ? 1 : 0);
  const time = (n: number, fn: (i: number) => unknown): number => {
    let sink = 0;
    for (let i = 0; i < Math.min(n, 50_000); i++) sink += Number(fn(i));
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += Number(fn(i));
    const ns = Number(process.hrtime.bigint() - start) / n;
    if (sink === Number.NEGATIVE_INFINITY) process.stdout.write('');
    return ns;
  };
  const out: string[] = [];
  const N = MODE === 'quick' ? 50_000 : 300_000;
  const base = time(N, (i) => predict(rows[i & 1023]!));
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
    out.push(
      `| \`monitor.wrap(predict)(row)\`, 100 numerical columns, ${preset} | ${Math.round(ns)} ns | \`predict(row)\`: ${Math.round(base)} ns | ${Math.round(ns - base)} ns | <= 1 us per prediction |`,
    );
    monitor.close();
  }

  // Checks against a 100 x 50 000 reference: cost per prediction and the longest step.
  const bigN = MODE === 'quick' ? 10_000 : 50_000;
  const big: Record<string, Float64Array> = {};
  for (let j = 0; j < k; j++)
    big[`f${j}`] = Float64Array.from({ length: bigN }, () => sample(rng, normals) as number);
  let t0 = performance.now();
  const { columns, unusable } = buildColumnModels(big, 'reference');
  const engine = new CalibratedEngine(columns, unusable, { size: 1000, perPredictions: ERT });
  const creation = performance.now() - t0;
  const predictions = MODE === 'quick' ? 20_000 : 100_000;
  let checkMs = 0;
  let longest = 0;
  let steps = 0;
  for (let t = 1; t <= predictions; t++) {
    engine.record(rows[t & 1023]!);
    if (t % 100 === 0) {
      const task = engine.startCheck();
      for (;;) {
        const s = performance.now();
        const result = task.step(s + 3);
        const took = performance.now() - s;
        checkMs += took;
        steps++;
        longest = Math.max(longest, took);
        if (result) break;
      }
    }
  }
  out.push(
    `| calibrated checks, 100 columns x ${bigN.toLocaleString('en')} reference rows, window 1000, every 100 | ${fmt((checkMs * 1e3) / predictions, 3)} us per prediction | | | <= 1 us per prediction |`,
  );
  out.push(
    `| longest step of a check (the monitor yields to the event loop after each) | ${fmt(longest)} ms (${steps} steps) | | | <= 5 ms |`,
  );
  out.push(
    `| monitor creation (bins of 100 columns x ${bigN.toLocaleString('en')} rows) | ${fmt(creation, 0)} ms | | | reported |`,
  );

  // The event loop as a timer sees it, through the real monitor.
  const monitor = createMonitor({ keel, name: 'loop', reference: big, window: { size: 1000 } });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let checks = 0;
  monitor.on('check', () => checks++);
  for (let b = 0; b < (MODE === 'quick' ? 20 : 100); b++) {
    for (let i = 0; i < 100; i++) monitor.record(rows[(b * 100 + i) & 1023]!, 0, 0);
    await new Promise((r) => setTimeout(r, 1));
  }
  await monitor.check(); // after the scheduled ones (checks falling due together are coalesced)
  delay.disable();
  monitor.close();
  out.push(
    `| event-loop delay while the monitor checks (\`monitorEventLoopDelay\`, max) | ${fmt(delay.max / 1e6)} ms (${checks} checks) | | | <= 5 ms |`,
  );

  const evidently = new EvidentlyEngine(
    big,
    1000,
    (r, c, o) => detectDrift(r, c, o),
    {},
    'reference',
  );
  for (let t = 0; t < 1000; t++) evidently.record(rows[t & 1023]!);
  t0 = performance.now();
  evidently.startCheck().step(Number.POSITIVE_INFINITY);
  out.push(
    `| evidently preset: one check, same data (one step) | ${fmt(performance.now() - t0, 0)} ms | | | (for comparison) |`,
  );

  process.stdout.write(
    '\n### Cost (100 columns)\n\n| benchmark | keel | baseline | overhead | goal |\n|---|---|---|---:|---|\n',
  );
  for (const r of out) process.stdout.write(`${r}\n`);
  await keel.close();
}

const began = performance.now();
process.stdout.write(`mode ${MODE}; ERT ${ERT.toLocaleString('en')}\n`);
if (want('cost')) await cost();
if (want('detection')) detection();
if (want('alarms')) falseAlarms();
process.stdout.write(`\n(${fmt((performance.now() - began) / 60000, 1)} min)\n`);

/**
 * Quality of the drift monitor, for the calibrated default and the `evidently` preset: false
 * alarms on stable streams (episodes per 1M predictions, exact Poisson 95% interval, share of
 * deployments above 10 per 1M, worst deployment) and detection of known changes (probability
 * within a horizon, Wilson 95% interval, median delay). Seeded by configuration: any subset,
 * shard or order of configurations prints the same rows.
 *
 *   npx tsx bench/monitor-quality.ts                        # representative subset (core)
 *   npx tsx bench/monitor-quality.ts alarms                 # one section (alarms, detection)
 *   KEEL_BENCH_GRID=full npx tsx bench/monitor-quality.ts alarms   # the whole grid of issue 15
 *   KEEL_BENCH_GRID=quick npx tsx bench/monitor-quality.ts  # a smoke run (about a minute)
 *   KEEL_BENCH_JOBS=4 ...                                   # configurations over 4 processes
 *   KEEL_BENCH_FILTER=poisson ...                           # configurations whose key contains it
 *   KEEL_BENCH_COLUMNS=1,10 ...                             # false-alarm rows with these widths
 *   KEEL_BENCH_DEPLOYMENTS=20 ...                           # deployments per full-grid row (10)
 *   KEEL_BENCH_SKIP=11 ...                                  # resume: leave out the first 11 rows
 *
 * The full grid is references 200 / 1000 / 5000 / 50 000 x windows 100 / 500 / 1000 / 5000 x
 * 1, 10 and 100 columns x normal, t(3), Poisson(2), 2 and 50 equally likely labels, each 10
 * deployments (references drawn) x 500 000 predictions, start-up included (each deployment
 * starts with an empty window): 240 configurations, about 1.2 billion predictions (several
 * hours of CPU per core). Cost: bench/monitor-cost.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRandom } from '../src/core/random.js';
import {
  basePool,
  DISTS,
  type Dist,
  ERT,
  fmt,
  normal,
  type Pool,
  type Preset,
  poissonInterval,
  pool,
  stream,
  wilson,
} from './_monitor-streams.js';

const GRID = process.env.KEEL_BENCH_GRID ?? 'core';
const JOBS = Math.max(1, Number(process.env.KEEL_BENCH_JOBS ?? 1));
const SHARD = process.env.KEEL_BENCH_SHARD;
const FILTER = process.env.KEEL_BENCH_FILTER ?? '';
const WIDTHS = process.env.KEEL_BENCH_COLUMNS?.split(',').map(Number);
// Deployments are seeded by their index: 20 deployments repeat the 10 of a default run, and add 10.
const DEPLOYMENTS = Number(process.env.KEEL_BENCH_DEPLOYMENTS ?? 10);
// Rows already run (to resume an interrupted grid): the first SKIP of the selection are left out.
const SKIP = Number(process.env.KEEL_BENCH_SKIP ?? 0);
const sections = process.argv.slice(2);
const want = (s: string): boolean => sections.length === 0 || sections.includes(s);

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
  if (GRID === 'quick') {
    return [
      c('calibrated', 'normal', 1000, 1000, 10, 4, 100_000),
      c('calibrated', 'poisson', 200, 100, 1, 4, 100_000),
      c('evidently', 'normal', 1000, 1000, 1, 2, 50_000),
    ];
  }
  if (GRID === 'full') {
    const out: AlarmConfig[] = [];
    for (const columns of [1, 10, 100])
      for (const dist of DISTS)
        for (const n of [200, 1000, 5000, 50_000])
          for (const size of [100, 500, 1000, 5000])
            out.push(c('calibrated', dist, n, size, columns, DEPLOYMENTS, 500_000));
    return out;
  }
  const out: AlarmConfig[] = [];
  for (const dist of DISTS) out.push(c('calibrated', dist, 1000, 1000, 10, 10, 400_000));
  for (const [dist, n, size] of [
    ['normal', 200, 100],
    ['normal', 200, 5000],
    ['normal', 50_000, 100],
    ['normal', 50_000, 5000],
    ['normal', 5000, 500],
    ['t3', 200, 1000],
    ['poisson', 200, 100],
    ['poisson', 200, 5000],
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

function alarmRow(cfg: AlarmConfig, key: string): string {
  const perDeployment: number[] = [];
  for (let d = 0; d < cfg.deployments; d++) {
    const rng = createRandom(`${key}-${d}`);
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
  const total = perDeployment.reduce((a, b) => a + b, 0);
  const millions = (cfg.deployments * cfg.predictions) / 1e6;
  const [lo, hi] = poissonInterval(total);
  const rate = (x: number): number => (x / cfg.predictions) * 1e6;
  const above = perDeployment.filter((x) => rate(x) > 10).length;
  const worst = Math.max(...perDeployment);
  return `| ${cfg.preset} | ${cfg.dist} | ${cfg.n} | ${cfg.size} | ${cfg.columns} | ${cfg.deployments} x ${cfg.predictions.toLocaleString('en')} | ${total} | **${fmt(total / millions)}** [${fmt(lo / millions)}, ${fmt(hi / millions)}] | ${fmt((100 * above) / cfg.deployments, 0)}% | ${fmt(rate(worst), 1)} |`;
}

const ALARMS_HEADER =
  '\n### False alarms on stable streams (`drift:detected` episodes per 1M predictions)\n\n' +
  '| preset | data | reference | window | columns | deployments x predictions | episodes | per 1M [95% CI] | deployments > 10 per 1M | worst deployment, per 1M |\n' +
  '|---|---|---:|---:|---:|---|---:|---|---:|---:|\n';

// ---------------------------------------------------------------------------------------------
// Detection.

interface Alternative {
  name: string;
  dist: Dist;
  horizon: number;
  goal: number;
  to: () => Pool;
}

const alternatives: Alternative[] = [
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

interface DetectionConfig {
  alt: Alternative;
  n: number;
  preset: Preset;
  streams: number;
}

function detectionConfigs(): DetectionConfig[] {
  const out: DetectionConfig[] = [];
  const streams = (preset: Preset): number =>
    GRID === 'quick'
      ? 20
      : GRID === 'full'
        ? preset === 'calibrated'
          ? 1000
          : 200
        : preset === 'calibrated'
          ? 400
          : 100;
  for (const alt of alternatives)
    for (const n of [1000, 5000])
      for (const preset of ['calibrated', 'evidently'] as const)
        out.push({ alt, n, preset, streams: streams(preset) });
  return out;
}

function detectionRow(cfg: DetectionConfig): string {
  const { alt, n, preset, streams: count } = cfg;
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
  return `| ${alt.name} | ${n} | ${preset} | ${count} | **${fmt(hits / count)}** [${fmt(lo)}, ${fmt(hi)}] | ${median} | ${early} | >= ${alt.goal} within ${alt.horizon} |`;
}

const DETECTION_HEADER =
  '\n### Detection: change in 1 of 10 columns, window 1000 (probability within the horizon)\n\n' +
  '| change | reference | preset | streams | detected [95% CI] | median delay | episodes before the change | goal |\n' +
  '|---|---:|---|---:|---|---:|---:|---|\n';

// ---------------------------------------------------------------------------------------------
// Jobs: every row of every table is one job, run here or in a child process.

interface Job {
  section: 'detection' | 'alarms';
  key: string;
  run: () => string;
}

function jobs(): Job[] {
  const out: Job[] = [];
  if (want('detection')) {
    for (const cfg of detectionConfigs()) {
      const key = `detect-${cfg.alt.name}-${cfg.n}-${cfg.preset}`;
      out.push({ section: 'detection', key, run: () => detectionRow(cfg) });
    }
  }
  if (want('alarms')) {
    for (const cfg of alarmConfigs().filter((a) => !WIDTHS || WIDTHS.includes(a.columns))) {
      const key = `alarms-${cfg.preset}-${cfg.dist}-${cfg.n}-${cfg.size}-${cfg.columns}`;
      out.push({ section: 'alarms', key, run: () => alarmRow(cfg, key) });
    }
  }
  return out.filter((j) => j.key.includes(FILTER)).slice(SKIP);
}

interface Done {
  section: Job['section'];
  index: number;
  line: string;
}

async function runAll(all: Job[]): Promise<Done[]> {
  if (JOBS === 1) {
    return all.map((job, index) => {
      const started = performance.now();
      const line = job.run();
      process.stderr.write(`${line}  (${fmt((performance.now() - started) / 1000, 0)} s)\n`);
      return { section: job.section, index, line };
    });
  }
  const script = fileURLToPath(import.meta.url);
  const children = Array.from({ length: JOBS }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...sections], {
      env: { ...process.env, KEEL_BENCH_SHARD: `${i}/${JOBS}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    return new Promise<Done[]>((resolve, reject) => {
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`shard ${i}/${JOBS} exited with ${code}`));
        else
          resolve(
            out
              .trim()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Done),
          );
      });
    });
  });
  return (await Promise.all(children)).flat();
}

const began = performance.now();
const all = jobs();
if (SHARD) {
  // A child: run every JOBS-th job, print one JSON line per row.
  const [i, n] = SHARD.split('/').map(Number) as [number, number];
  all.forEach((job, index) => {
    if (index % n !== i) return;
    const started = performance.now();
    const line = job.run();
    process.stderr.write(`${line}  (${fmt((performance.now() - started) / 1000, 0)} s)\n`);
    process.stdout.write(`${JSON.stringify({ section: job.section, index, line })}\n`);
  });
} else {
  process.stdout.write(`grid ${GRID}; ERT ${ERT.toLocaleString('en')}; ${all.length} rows\n`);
  const done = (await runAll(all)).sort((a, b) => a.index - b.index);
  for (const [section, header] of [
    ['detection', DETECTION_HEADER],
    ['alarms', ALARMS_HEADER],
  ] as const) {
    const lines = done.filter((d) => d.section === section);
    if (lines.length === 0) continue;
    process.stdout.write(header);
    for (const d of lines) process.stdout.write(`${d.line}\n`);
  }
  process.stdout.write(`\n(${fmt((performance.now() - began) / 60000, 1)} min)\n`);
}

/**
 * Seeded streams for the monitor benches: pools of values per distribution, references drawn
 * from them, rows fed to the monitor's engines with the monitor's episode tracker (as
 * `createMonitor` composes them, minus the timer that spreads checks over ticks), and the
 * confidence intervals the tables print.
 */
import { createRandom, type Random } from '../src/core/random.js';
import { detectDrift } from '../src/drift/dataset.js';
import { regularizedGammaP, regularizedGammaQ } from '../src/drift/distributions/gamma.js';
import { normalQuantile } from '../src/drift/distributions/normal-quantile.js';
import { CalibratedEngine } from '../src/ops/monitor/calibrated-engine.js';
import type { CheckResult, DriftEngine } from '../src/ops/monitor/engine.js';
import { Episodes } from '../src/ops/monitor/episodes.js';
import { EvidentlyEngine } from '../src/ops/monitor/evidently-engine.js';
import { buildColumnModels } from '../src/ops/monitor/reference-steps.js';

export type Dist = 'normal' | 't3' | 'poisson' | 'labels2' | 'labels50';
export type Preset = 'calibrated' | 'evidently';
export const DISTS: readonly Dist[] = ['normal', 't3', 'poisson', 'labels2', 'labels50'];
/** The default false-alarm budget: one per this many predictions. */
export const ERT = 1_000_000;

const POOL = 1 << 20;
/** Values to sample: numbers unboxed (a draw is one memory read, not two), labels as they are. */
export type Pool = Float64Array | readonly unknown[];
const pools = new Map<string, Pool>();

/** A pool of 2^20 values drawn once per name (stable and shifted streams sample from pools). */
export function pool(name: string, make: (rng: Random) => unknown): Pool {
  let p = pools.get(name);
  if (!p) {
    const rng = createRandom(`pool-${name}`);
    const values = Array.from({ length: POOL }, () => make(rng));
    p = values.every((v) => typeof v === 'number') ? Float64Array.from(values as number[]) : values;
    pools.set(name, p);
  }
  return p;
}

/** A standard normal value. */
export function normal(rng: Random): number {
  return normalQuantile((rng.nextUint32() + 0.5) / 4294967296);
}

/** The pool of a stable distribution. */
export function basePool(dist: Dist): Pool {
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

/** One value of a pool, uniformly. */
export function sample(rng: Random, values: Pool): unknown {
  return values[rng.nextUint32() >>> 12];
}

function referenceTable(rng: Random, pools: Pool[], n: number): Record<string, unknown[]> {
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
  checkEvery: number,
): DriftEngine {
  if (preset === 'evidently') {
    return new EvidentlyEngine(reference, size, (r, c, o) => detectDrift(r, c, o), {}, 'reference');
  }
  const { columns, unusable } = buildColumnModels(reference, 'reference');
  return new CalibratedEngine(columns, unusable, { size, perPredictions: ERT, checkEvery });
}

function runCheck(engine: DriftEngine): CheckResult {
  const task = engine.startCheck(false);
  let result = task.step(Number.POSITIVE_INFINITY);
  while (result === undefined) result = task.step(Number.POSITIVE_INFINITY);
  return result;
}

/** Streams rows into an engine; calls `onEpisode` for every `drift:detected` (true: stop). */
export function stream(opts: {
  preset: Preset;
  rng: Random;
  stable: Pool[];
  n: number;
  size: number;
  predictions: number;
  change?: { at: number; column: number; to: Pool };
  onEpisode: (t: number, columns: readonly string[]) => boolean | undefined;
}): void {
  const { rng, stable } = opts;
  const every = opts.preset === 'calibrated' ? Math.max(1, Math.round(opts.size / 10)) : 500;
  const engine = engineFor(opts.preset, referenceTable(rng, stable, opts.n), opts.size, every);
  const episodes = new Episodes(opts.size);
  const k = stable.length;
  const row: Record<string, unknown> = {};
  const fill = rowFiller(k);
  const pools = [...stable];
  for (let t = 1; t <= opts.predictions; t++) {
    const c = opts.change;
    if (c && t === c.at + 1) pools[c.column] = c.to;
    fill(row, rng, pools);
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

/**
 * Draws one row, column c0 first: `row.c0 = sample(rng, pools[0]); ...`, compiled once per width
 * (a store to a named property is several times cheaper than one to a computed key, and the
 * 100-column rows of the full grid are 100 stores per prediction).
 */
function rowFiller(k: number): (row: Record<string, unknown>, rng: Random, pools: Pool[]) => void {
  let body = '';
  for (let j = 0; j < k; j++) body += `row.c${j} = pools[${j}][rng.nextUint32() >>> 12];\n`;
  return new Function('row', 'rng', 'pools', body) as (
    row: Record<string, unknown>,
    rng: Random,
    pools: Pool[],
  ) => void;
}

/** Exact (Garwood) 95% interval of a Poisson mean from a count. */
export function poissonInterval(count: number): [number, number] {
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
export function wilson(hits: number, n: number): [number, number] {
  const z = 1.959963984540054;
  const p = hits / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** A number with fixed digits. */
export const fmt = (x: number, digits = 2): string => x.toFixed(digits);

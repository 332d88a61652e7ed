/**
 * Statistical properties of the calibrated monitor, on seeded data: the false-alarm budget
 * holds, p-values are valid under "no drift", shifts are found, and a check split into many
 * small steps computes exactly what one step does. Margins are wide (each bound is at least
 * twice its expectation, or several standard deviations away), so no seed can make them flaky.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRandom, type Random } from '../../src/core/random.js';
import { normalCdf, normalSf } from '../../src/drift/distributions/normal.js';
import {
  MAX_GAIN,
  testLevel,
  upcrossingShare,
  windowCorrelation,
} from '../../src/ops/monitor/budget.js';
import { evaluateColumn, levelCacheSize, quietLevel } from '../../src/ops/monitor/calibrated.js';
import { CalibratedEngine } from '../../src/ops/monitor/calibrated-engine.js';
import type { CheckResult } from '../../src/ops/monitor/engine.js';
import { Episodes } from '../../src/ops/monitor/episodes.js';
import { buildColumnModels } from '../../src/ops/monitor/reference-steps.js';

type Kind = 'normal' | 'poisson' | 'labels';

function draw(rng: Random, kind: Kind, shift = 0): unknown {
  if (kind === 'normal') {
    const u = 1 - rng.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next()) + shift;
  }
  if (kind === 'poisson') {
    const limit = Math.exp(-(2 + shift));
    let k = 0;
    let p = rng.next();
    while (p > limit) {
      k++;
      p *= rng.next();
    }
    return k;
  }
  const r = rng.next() + shift;
  return r < 0.5 ? 'a' : r < 0.8 ? 'b' : r < 0.95 ? 'c' : 'd';
}

function table(rng: Random, kinds: readonly Kind[], n: number): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  kinds.forEach((kind, j) => {
    out[`c${j}`] = Array.from({ length: n }, () => draw(rng, kind));
  });
  return out;
}

function runTask(
  engine: CalibratedEngine,
  deadline = Number.POSITIVE_INFINITY,
): { result: CheckResult; steps: number } {
  const task = engine.startCheck();
  let steps = 1;
  let result = task.step(deadline);
  while (result === undefined) {
    steps++;
    result = task.step(deadline);
  }
  return { result, steps };
}

/** Streams `predictions` rows; returns the episodes opened, and the prediction of each. */
function stream(opts: {
  seed: string;
  kinds: readonly Kind[];
  n: number;
  size: number;
  every: number;
  perPredictions: number;
  predictions: number;
  change?: { at: number; column: number; shift: number };
}): number[] {
  const rng = createRandom(opts.seed);
  const { columns, unusable } = buildColumnModels(table(rng, opts.kinds, opts.n), 'reference');
  const engine = new CalibratedEngine(columns, unusable, {
    size: opts.size,
    perPredictions: opts.perPredictions,
  });
  const episodes = new Episodes(opts.size);
  const opened: number[] = [];
  const row: Record<string, unknown> = {};
  for (let t = 1; t <= opts.predictions; t++) {
    opts.kinds.forEach((kind, j) => {
      const c = opts.change;
      row[`c${j}`] = draw(rng, kind, c && t > c.at && j === c.column ? c.shift : 0);
    });
    engine.record(row);
    if (t % opts.every === 0 && Math.min(t, opts.size) >= engine.minRows) {
      const { result } = runTask(engine);
      const change = episodes.observe({ ...result, predictions: t, at: '' });
      if (change?.kind === 'started') opened.push(t);
    }
  }
  return opened;
}

describe('calibrated monitor: the false-alarm budget', () => {
  it('opens at most one episode per perPredictions stable predictions, start-up included', () => {
    // A budget small enough to be measured: 1 per 2000 predictions, 40 deployments of 6000
    // (each with its own reference) = 120 expected at most.
    let episodes = 0;
    for (let d = 0; d < 40; d++) {
      episodes += stream({
        seed: `budget-${d}`,
        kinds: ['normal', 'poisson', 'labels'],
        n: 300,
        size: 200,
        every: 20,
        perPredictions: 2000,
        predictions: 6000,
      }).length;
    }
    expect(episodes).toBeLessThanOrEqual(240);
    // Not vacuous: the budget is spent, not hoarded (a 100x too strict level would give ~0).
    expect(episodes).toBeGreaterThan(12);
  });

  it('gives valid p-values under no drift: P(p < level) <= level for every test', () => {
    const rng = createRandom('null-p-values');
    const below: Record<string, { five: number; one: number; n: number }> = {};
    for (let trial = 0; trial < 300; trial++) {
      const kinds: Kind[] = ['normal', 'poisson', 'labels'];
      const { columns, unusable } = buildColumnModels(table(rng, kinds, 200), 'reference');
      const engine = new CalibratedEngine(columns, unusable, { size: 150, perPredictions: 1e6 });
      const row: Record<string, unknown> = {};
      for (let t = 0; t < 150; t++) {
        kinds.forEach((kind, j) => {
          row[`c${j}`] = draw(rng, kind);
        });
        engine.record(row);
      }
      engine.window.advance(150);
      columns.forEach((model, j) => {
        const { entry } = evaluateColumn(engine.window, j, {
          budget: 1e-4,
          columns: 3,
          levels: columns.map((c) => new Float64Array(levelCacheSize(c)).fill(Number.NaN)),
          allEffects: true,
          tests: 9,
          previous: undefined,
          minEffect: undefined,
          thresholds: undefined,
        });
        for (const t of entry.tests!) {
          if (t.test === 'missing') continue;
          const key = `${model.name}:${t.test}`;
          below[key] ??= { five: 0, one: 0, n: 0 };
          const b = below[key];
          b.n++;
          if (t.pValue < 0.05) b.five++;
          if (t.pValue < 0.01) b.one++;
        }
      });
    }
    for (const [key, b] of Object.entries(below)) {
      // Binomial(n, 0.05): mean 5%, sd <= 1.3 points at n = 300; 10% is 4 sd away.
      expect(b.five / b.n, key).toBeLessThan(0.1);
      expect(b.one / b.n, key).toBeLessThan(0.035);
    }
    // Location and scale of the normal column are neither broken nor vacuous.
    expect(below['c0:location']!.five).toBeGreaterThan(3);
    expect(below['c0:scale']!.five).toBeGreaterThan(3);
  });
});

describe('calibrated monitor: detection', () => {
  it('finds a 0.5 sd shift in 1 of 10 columns within 1000 predictions (window 1000, reference 1000)', () => {
    let found = 0;
    for (let s = 0; s < 12; s++) {
      const opened = stream({
        seed: `detect-${s}`,
        kinds: new Array<Kind>(10).fill('normal'),
        n: 1000,
        size: 1000,
        every: 100,
        perPredictions: 1_000_000,
        predictions: 3000,
        change: { at: 2000 + 7 * s, column: 3, shift: 0.5 },
      });
      if (opened.some((t) => t > 2000 + 7 * s && t <= 3000 + 7 * s)) found++;
      expect(opened.filter((t) => t <= 2000)).toEqual([]);
    }
    // The measured power is above 0.99 (docs/benchmarks.md); 10 of 12 leaves room for seeds.
    expect(found).toBeGreaterThanOrEqual(10);
  });

  it('finds a change in the share of one label, and in the counts of a discrete column', () => {
    const labels = stream({
      seed: 'labels',
      kinds: ['labels', 'labels', 'labels'],
      n: 2000,
      size: 1000,
      every: 100,
      perPredictions: 1_000_000,
      predictions: 3000,
      change: { at: 1000, column: 1, shift: 0.15 },
    });
    expect(labels.length).toBe(1);
    expect(labels[0]).toBeGreaterThan(1000);
    const counts = stream({
      seed: 'poisson',
      kinds: ['poisson', 'poisson'],
      n: 2000,
      size: 1000,
      every: 100,
      perPredictions: 1_000_000,
      predictions: 3000,
      change: { at: 1000, column: 0, shift: 0.5 },
    });
    expect(counts.length).toBe(1);
    expect(counts[0]).toBeGreaterThan(1000);
  });
});

describe('calibrated monitor: checks in small steps', () => {
  it('computes the same report in many steps as in one', () => {
    const rng = createRandom('steps');
    const kinds: Kind[] = ['normal', 'labels', 'poisson', 'normal'];
    const reference = table(rng, kinds, 500);
    const { columns, unusable } = buildColumnModels(reference, 'reference');
    const whole = new CalibratedEngine(columns, unusable, { size: 3000, perPredictions: 1e6 });
    const sliced = new CalibratedEngine(columns, unusable, { size: 3000, perPredictions: 1e6 });
    const row: Record<string, unknown> = {};
    for (let round = 0; round < 3; round++) {
      for (let t = 0; t < 2500; t++) {
        kinds.forEach((kind, j) => {
          row[`c${j}`] = draw(rng, kind, j === 0 && round === 2 ? 0.3 : 0);
        });
        whole.record(row);
        sliced.record(row);
      }
      const a = runTask(whole);
      // A deadline in the past: every step does the least it can.
      const b = runTask(sliced, Number.NEGATIVE_INFINITY);
      expect(a.steps).toBe(1);
      expect(b.steps).toBeGreaterThan(4);
      expect(b.result).toEqual(a.result);
    }
  });
});

describe('calibrated monitor: levels from the up-crossing probability', () => {
  it('never lets a test up-cross more often than its share of the budget', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-9, max: 1e-2, noNaN: true }),
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        fc.double({ min: 2, max: 7, noNaN: true }),
        (target, rho, previousZ) => {
          const level = testLevel(target, rho, previousZ);
          expect(level.alpha).toBeGreaterThanOrEqual(target * (1 - 1e-9));
          expect(level.alpha).toBeLessThanOrEqual(target * MAX_GAIN * (1 + 1e-9));
          expect(level.z).toBeCloseTo(-normalQuantileOf(level.alpha / 2), 6);
          // The level's own rounding: rho down to 1e-4, the previous threshold up to 1e-3 (both
          // make the share larger, i.e. the level safer).
          const r = Math.floor(rho * 1e4) / 1e4;
          const v = Math.ceil(previousZ * 1e3) / 1e3;
          const upcrossing =
            2 * normalSf(level.z) * Math.max(1 / MAX_GAIN, upcrossingShare(level.z, v, r));
          expect(upcrossing).toBeLessThanOrEqual(target * (1 + 1e-3));
        },
      ),
      { numRuns: 60 },
    );
    expect(testLevel(1e-6)).toEqual({ alpha: 1e-6, z: expect.closeTo(4.8916, 3) });
  });

  it('computes the up-crossing share of a bivariate normal (checked by simulation)', () => {
    const rng = createRandom('upcrossing');
    const normal = (): number =>
      Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const rho = 0.9;
    let exceed = 0;
    let up = 0;
    for (let i = 0; i < 400_000; i++) {
      const y0 = normal();
      const y1 = rho * y0 + Math.sqrt(1 - rho * rho) * normal();
      if (y1 > 2) {
        exceed++;
        if (y0 < 2) up++;
      }
    }
    // About 9000 exceedances: the share's sd is about 0.005.
    expect(Math.abs(up / exceed - upcrossingShare(2, 2, rho))).toBeLessThan(0.025);
    expect(upcrossingShare(4, 4, 0)).toBe(1);
  });

  it('knows how correlated two checks of the same reference are', () => {
    expect(windowCorrelation(1001, 1000, 1000, 1000)).toBeCloseTo(1, 12);
    // Disjoint windows still share the reference: half the variance when n = m.
    expect(windowCorrelation(1001, 1000, 1000, 0)).toBeCloseTo(0.4995, 3);
    expect(windowCorrelation(1e12, 1000, 1000, 0)).toBeCloseTo(0, 6);
    expect(windowCorrelation(1e12, 1000, 1000, 900)).toBeCloseTo(0.9, 6);
  });
});

describe('episodes', () => {
  it('open on the first alarm, absorb later ones, and resolve after a whole quiet window', () => {
    const e = new Episodes(100);
    const at = (predictions: number, alarms: string[], quiet = alarms.length === 0) =>
      e.observe({ alarms, quiet, predictions, at: `t${predictions}` });
    expect(at(50, [])).toBeUndefined();
    expect(at(100, ['x'])).toMatchObject({ kind: 'started', episode: { id: 1, columns: ['x'] } });
    expect(at(150, ['y'])).toBeUndefined();
    expect(e.current).toMatchObject({ columns: ['x', 'y'], alarms: 2 });
    // Quiet, but the data that alarmed is still in the window.
    expect(at(200, [])).toBeUndefined();
    // Not alarming, but not quiet either (near the threshold): the quiet window starts again.
    expect(at(230, [], false)).toBeUndefined();
    expect(at(300, [])).toBeUndefined();
    expect(e.status).toBe('drifting');
    expect(at(330, [])).toMatchObject({
      kind: 'resolved',
      episode: { id: 1, endedAt: 't330', endedAtPrediction: 330 },
    });
    expect(e.status).toBe('stable');
    expect(at(340, ['z'])).toMatchObject({ kind: 'started', episode: { id: 2 } });
    expect(e.count).toBe(2);
  });

  it('counts a test as quiet only well below its threshold', () => {
    // Two normal units below a threshold of 5: p >= 2 P(Z > 3).
    expect(quietLevel(5, 100)).toBeCloseTo(2 * normalSf(3), 12);
    expect(quietLevel(2.5, 1000)).toBeCloseTo(2 * normalSf(0.5), 12);
    // And never significant at 5% over all the tests, whatever the margin.
    expect(quietLevel(5, 3)).toBe(0.05 / 3);
    expect(quietLevel(30, 1000)).toBe(0.05 / 1000);
  });
});

function normalQuantileOf(p: number): number {
  // Bisection on the survival function (independent of the module under test).
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * @module
 * One check of the calibrated monitor, column by column on the binned window: each test's
 * statistic, its p-value under "no drift" (exact Dirichlet-multinomial moments with a
 * skewness-aware tail for the score tests, exact beta-binomial tails for shares), its level
 * from the false-alarm budget, and the column's effect sizes.
 */
import {
  betaBinomialTwoSided,
  linearMoments,
  pearson3TwoSided,
} from '../../drift/distributions/dirichlet-multinomial.js';
import { normalSf } from '../../drift/distributions/normal.js';
import type { CountedWindow } from './binned-window.js';
import { testLevel, windowCorrelation } from './budget.js';
import type { ColumnModel, TestSpec } from './columns.js';
import type { MonitorColumnEntry, MonitorEffects, MonitorTestResult } from './types.js';

/** Where the previous check left the window (for the correlation between checks). */
export interface CheckGeometry {
  /** Rows binned when the check ran. */
  end: number;
  /** Rows in the window. */
  rows: number;
  /** Per column: non-missing values in the window. */
  present: Float64Array;
  /** Per column, per test: the normal threshold the test had. */
  z: Float64Array[];
}

/** What one column's evaluation needs besides the window. */
export interface ColumnCheckContext {
  /** Expected false alarms this check may spend, over all columns. */
  budget: number;
  /** Number of monitored columns (the budget is shared equally). */
  columns: number;
  /** The previous check (undefined at the first). */
  previous: CheckGeometry | undefined;
  /** Columns alarm only with an effect at least this (undefined: no floor). */
  minEffect: number | undefined;
  /**
   * Per column, per test: the inputs and outputs of the last level computed (target, rho,
   * previous z, alpha, z, quiet level) and of the last null moments (score tests: m, mean, sd,
   * skewness, kurtosis) or outcome (share tests: m, k, alpha, statistic, p-value); once the
   * window is full the same inputs recur at every check.
   */
  levels: Float64Array[];
  /** Compute every column's effect sizes (otherwise only those of alarming columns). */
  allEffects: boolean;
  /** Tests of all columns together (the quiet level is Bonferroni-adjusted over them). */
  tests: number;
  /**
   * Per column: where to write the tests' thresholds (reused from check to check; never the
   * arrays of `previous`). A new array when undefined.
   */
  thresholds: Float64Array[] | undefined;
}

/** One column's outcome at a check. */
export interface ColumnOutcome {
  /** The column's entry of the report. */
  entry: MonitorColumnEntry;
  /** Per test: the normal threshold used (for the next check's correlation). */
  z: Float64Array;
  /** Every test of the column is far from its threshold (see {@link quietLevel}). */
  quiet: boolean;
}

/** The length of a column's level cache in {@link ColumnCheckContext.levels}. */
export function levelCacheSize(model: ColumnModel): number {
  return model.tests.length * CACHE;
}

const CACHE = 11;

/** How far below its alarm threshold (in normal units) a test must be to count as quiet. */
export const QUIET_MARGIN = 2;
/** A quiet test's p-value is also at least this over the number of tests (Bonferroni). */
const QUIET_FAMILY = 0.05;

/**
 * The p-value a test must reach to count as quiet, for its alarm level `alpha` and normal
 * threshold `z`: at least {@link QUIET_MARGIN} normal units below the threshold and not
 * significant at 5% over all `tests`. The hysteresis keeps a statistic that hovers near its
 * threshold (an unusual reference) in one episode instead of paging again and again.
 *
 * @example
 * ```ts
 * quietLevel(4.9, 21); // 2 P(Z > 2.9), about 0.0037
 * ```
 */
export function quietLevel(z: number, tests: number): number {
  return Math.max(2 * normalSf(Math.max(0, z - QUIET_MARGIN)), QUIET_FAMILY / Math.max(1, tests));
}

/**
 * Evaluates column `j` of the window: all its tests, their levels and the effect sizes.
 */
export function evaluateColumn(
  window: CountedWindow,
  j: number,
  ctx: ColumnCheckContext,
): ColumnOutcome {
  const model = window.columns[j]!;
  const counts = window.counts[j]!;
  const rows = window.rows;
  const missing = window.missing[j]!;
  const present = rows - missing;
  const numeric = model.edges !== undefined;
  let effects: MonitorEffects | undefined =
    ctx.allEffects || ctx.minEffect !== undefined ? effectsOf(model, counts, present) : undefined;
  const effect = effects === undefined ? 0 : numeric ? effects.wasserstein! : effects.jensenshannon;
  const effectOk = ctx.minEffect === undefined || effect >= ctx.minEffect;
  const prev = ctx.previous;
  const shared =
    prev === undefined
      ? 0
      : Math.max(0, prev.end - Math.max(prev.end - prev.rows, window.processed - rows));
  const cache = ctx.levels[j]!;
  const specs = model.tests;
  const z = ctx.thresholds?.[j] ?? new Float64Array(specs.length);
  // Read once: the context is the same object for every column of a check.
  const columns = ctx.columns;
  const budget = ctx.budget;
  const tests = new Array<MonitorTestResult>(specs.length);
  const total = model.total;
  // The correlation with the previous check: one for the tests of present values, one for
  // the test of missing values (what a test counts, and over how many rows, is all it uses).
  let rhoPresent = Number.NaN;
  let rhoMissing = Number.NaN;
  const correlated = prev !== undefined && ctx.minEffect === undefined;
  if (correlated) {
    const sharedPresent = rows > 0 ? (shared * present) / rows : 0;
    rhoPresent = windowCorrelation(total, prev.present[j]!, present, sharedPresent);
    const all = model.missing.missing + model.missing.present + 1;
    rhoMissing = windowCorrelation(all, prev.rows, rows, shared);
  }
  const previousZ = correlated ? prev.z[j] : undefined;
  let drifted = false;
  let quiet = true;
  let best = 0;
  let bestRatio = Number.POSITIVE_INFINITY;
  for (let t = 0; t < specs.length; t++) {
    const spec = specs[t]!;
    const target = (spec.weight / columns) * budget;
    const missingTest = spec.kind === 'missing';
    const m = missingTest ? rows : present;
    const rho = missingTest ? rhoMissing : rhoPresent;
    const zBefore = correlated ? (previousZ?.[t] ?? Number.NaN) : Number.NaN;
    const c = t * CACHE;
    if (!(cache[c] === target && same(cache[c + 1]!, rho) && same(cache[c + 2]!, zBefore))) {
      const level = Number.isNaN(rho) ? testLevel(target) : testLevel(target, rho, zBefore);
      cache[c] = target;
      cache[c + 1] = rho;
      cache[c + 2] = zBefore;
      cache[c + 3] = level.alpha;
      cache[c + 4] = level.z;
      cache[c + 5] = quietLevel(level.z, ctx.tests);
    }
    const alpha = cache[c + 3]!;
    z[t] = cache[c + 4]!;
    testOf(spec, model, counts, m, missing, alpha, cache, c + 6);
    const statistic = result[0]!;
    const pValue = result[1]!;
    const hit = pValue < alpha && effectOk;
    if (hit) drifted = true;
    if (!(pValue >= cache[c + 5]!)) quiet = false;
    // Two literal shapes, no spread: this runs for every test of every column at every check.
    tests[t] =
      spec.kind === 'share'
        ? { test: spec.kind, label: spec.label, statistic, pValue, threshold: alpha, drifted: hit }
        : { test: spec.kind, statistic, pValue, threshold: alpha, drifted: hit };
    // The most significant test relative to its level (the first one on ties).
    const ratio = pValue / alpha;
    if (t === 0 || ratio < bestRatio) {
      best = t;
      bestRatio = ratio;
    }
  }
  const top = tests[best]!;
  if (effects === undefined && drifted) effects = effectsOf(model, counts, present);
  const method = top.label === undefined ? top.test : `${top.test}:${top.label}`;
  const current = { reference: model.missing.missing, current: missing };
  const entry: MonitorColumnEntry =
    ctx.minEffect === undefined
      ? {
          method,
          statistic: top.statistic,
          pValue: top.pValue,
          threshold: top.threshold,
          drifted,
          kind: 'p_value',
          missing: current,
          type: model.type,
          tests,
        }
      : {
          method,
          statistic: top.statistic,
          pValue: top.pValue,
          threshold: top.threshold,
          drifted,
          kind: 'p_value',
          missing: current,
          type: model.type,
          effect: { method: numeric ? 'wasserstein' : 'jensenshannon', statistic: effect },
          tests,
        };
  if (effects) entry.effects = effects;
  return { entry, z, quiet };
}

/** Equal, NaN included (NaN marks "no previous check"). */
function same(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** A test's statistic and p-value, written by {@link testOf} (no object per test). */
const result = new Float64Array(2);

function testOf(
  spec: TestSpec,
  model: ColumnModel,
  counts: Float64Array,
  m: number,
  missing: number,
  alpha: number,
  cache: Float64Array,
  at: number,
): void {
  if (spec.kind === 'location' || spec.kind === 'scale') {
    if (m === 0) {
      answer(0, 1);
      return;
    }
    const s = dot(counts, spec.scores);
    if (cache[at] !== m) {
      const mo = linearMoments(spec.sums, m);
      cache[at] = m;
      cache[at + 1] = mo.mean;
      cache[at + 2] = Math.sqrt(mo.variance);
      cache[at + 3] = mo.skewness;
      cache[at + 4] = mo.excessKurtosis;
    }
    const sd = cache[at + 2]!;
    if (!(sd > 0)) {
      answer(0, 1);
      return;
    }
    const statistic = (s - cache[at + 1]!) / sd;
    answer(statistic, pearson3TwoSided(statistic, cache[at + 3]!, cache[at + 4]!, 10 * alpha));
    return;
  }
  let k: number;
  let alphaB: number;
  let betaB: number;
  if (spec.kind !== 'share') {
    k = missing;
    alphaB = model.missing.missing + 0.5;
    betaB = model.missing.present + 0.5;
  } else {
    k = counts[spec.bin]!;
    alphaB = spec.prior?.alpha ?? model.a[spec.bin]!;
    betaB = spec.prior?.beta ?? model.total - alphaB;
  }
  if (m === 0) {
    answer(0, 1);
    return;
  }
  // A share test's outcome depends on (k, m, alpha) alone: in a steady stream (no missing
  // values, a window full) they recur from check to check.
  if (cache[at] === m && cache[at + 1] === k && cache[at + 2] === alpha) {
    answer(cache[at + 3]!, cache[at + 4]!);
    return;
  }
  cache[at] = m;
  cache[at + 1] = k;
  cache[at + 2] = alpha;
  const A = alphaB + betaB;
  const p = alphaB / A;
  const variance = (m * p * (1 - p) * (A + m)) / (A + 1);
  const statistic = variance > 0 ? (k - m * p) / Math.sqrt(variance) : 0;
  // The normal approximation screens; the exact tail decides whenever it could matter.
  const approx = Math.min(1, 2 * normalSf(Math.abs(statistic)));
  const pValue =
    approx > Math.max(0.01, 10 * alpha) ? approx : betaBinomialTwoSided(k, m, alphaB, betaB);
  cache[at + 3] = statistic;
  cache[at + 4] = pValue;
  answer(statistic, pValue);
}

/**
 * The sum of x[b] y[b], in four running sums: each addition then waits for the one four
 * steps back, not for the last (a check computes two such sums per column).
 */
function dot(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let b = 0;
  for (; b + 3 < n; b += 4) {
    s0 += x[b]! * y[b]!;
    s1 += x[b + 1]! * y[b + 1]!;
    s2 += x[b + 2]! * y[b + 2]!;
    s3 += x[b + 3]! * y[b + 3]!;
  }
  for (; b < n; b++) s0 += x[b]! * y[b]!;
  return s0 + s1 + (s2 + s3);
}

function answer(statistic: number, pValue: number): void {
  result[0] = statistic;
  result[1] = pValue;
}

function effectsOf(model: ColumnModel, counts: Float64Array, present: number): MonitorEffects {
  const ref = model.reference;
  let refTotal = 0;
  for (let b = 0; b < ref.length; b++) refTotal += ref[b]!;
  if (present === 0 || refTotal === 0) {
    return { jensenshannon: 0, ...(model.edges !== undefined ? { wasserstein: 0 } : {}) };
  }
  let js = 0;
  for (let b = 0; b < ref.length; b++) {
    const p = ref[b]! / refTotal;
    const q = counts[b]! / present;
    const mid = (p + q) / 2;
    if (p > 0) js += p * Math.log2(p / mid);
    if (q > 0) js += q * Math.log2(q / mid);
  }
  const jensenshannon = Math.sqrt(Math.max(0, js / 2));
  if (model.edges === undefined || model.centers === undefined) return { jensenshannon };
  let fr = 0;
  let fw = 0;
  let w = 0;
  for (let b = 0; b < ref.length - 1; b++) {
    fr += ref[b]! / refTotal;
    fw += counts[b]! / present;
    w += Math.abs(fr - fw) * (model.centers[b + 1]! - model.centers[b]!);
  }
  return { jensenshannon, wasserstein: w / model.std! };
}

/**
 * @module
 * The false-alarm budget of the calibrated monitor, spent per prediction: a check that covers
 * `delta` new predictions may spend `delta / ert` expected false alarms, shared among the tests
 * by weight. A drift episode can only start at a check where some test alarms while it did
 * not alarm at the check before (an up-crossing), so each test's level is set so that its
 * up-crossing probability, not its alarm probability, fits its share: consecutive checks on
 * overlapping windows are strongly correlated, and the correlation is known exactly.
 */
import { normalSf } from '../../drift/distributions/normal.js';
import { normalQuantile } from '../../drift/distributions/normal-quantile.js';

/** The most a test's level may grow over its plain (Bonferroni) share. */
export const MAX_GAIN = 8;

/**
 * Correlation of a Dirichlet-multinomial linear statistic at two checks: `previous` and
 * `current` values counted, `shared` of them in both windows, reference weight `total`.
 * Draws are exchangeable: a draw with itself contributes the score's variance, two distinct
 * draws the reference's shared noise (1 / (total + 1) of it).
 *
 * @example
 * ```ts
 * windowCorrelation(1001, 1000, 1000, 900); // about 0.95
 * ```
 */
export function windowCorrelation(
  total: number,
  previous: number,
  current: number,
  shared: number,
): number {
  if (previous <= 0 || current <= 0) return 0;
  const within = 1 / total;
  const between = 1 / (total * (total + 1));
  // (No closure here: this runs for every test of every column at every check.)
  const before = previous * within + previous * (previous - 1) * between;
  const now = current * within + current * (current - 1) * between;
  const covariance = shared * within + (previous * current - shared) * between;
  return Math.min(1, covariance / Math.sqrt(before * now));
}

/**
 * P(Y1 > u, Y0 < v) / P(Y1 > u) for standard normals with correlation `rho`: the share of
 * exceedances of `u` that are up-crossings from below `v`.
 *
 * @example
 * ```ts
 * upcrossingShare(4.5, 4.5, 0.95); // about 0.5
 * ```
 */
export function upcrossingShare(u: number, v: number, rho: number): number {
  if (!(rho > 0)) return 1;
  if (rho >= 1) return u > v ? 1 : 0;
  const s = Math.sqrt(1 - rho * rho);
  // Integrate phi(u + y) Phi((v - rho (u + y)) / s) over y >= 0, relative to phi(u), by
  // composite Simpson: the factor exp(-u y - y^2 / 2) is below 1e-13 past `top`.
  const top = Math.min(30 / Math.max(u, 1), 12);
  const n = 64;
  const h = top / n;
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const y = i * h;
    const f = Math.exp(-u * y - (y * y) / 2) * normalCdf((v - rho * (u + y)) / s);
    sum += f * (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2);
  }
  const integral = ((sum * h) / 3) * Math.exp(-(u * u) / 2) * INV_SQRT_2PI;
  const tail = normalSf(u);
  return tail > 0 ? Math.min(1, integral / tail) : 1;
}

/** A test's level at one check, and the two-sided normal threshold it corresponds to. */
export interface TestLevel {
  /** The level: the test alarms when its p-value is below it. */
  alpha: number;
  /** The two-sided normal threshold with that level. */
  z: number;
}

/**
 * The level of a two-sided test whose up-crossing probability must not exceed `target`, given
 * the correlation `rho` with its statistic at the previous check and the threshold `previousZ`
 * it had there (none: the first check, where any alarm counts).
 *
 * The up-crossing probability 2 P(Y1 > z, Y0 < previousZ) falls as z rises, so z is found by
 * bisection; the level never exceeds `MAX_GAIN` times `target`.
 *
 * @example
 * ```ts
 * testLevel(1e-6, 0.95, 4.9); // alpha about 1.8e-6
 * ```
 */
export function testLevel(target: number, rho?: number, previousZ?: number): TestLevel {
  const plain = Math.min(target, 1);
  if (rho === undefined || previousZ === undefined || !(rho > 0) || target >= 0.1) {
    return { alpha: plain, z: zOf(plain) };
  }
  const r = Math.floor(Math.min(rho, 1) * 1e4) / 1e4;
  const v = Math.ceil(previousZ * 1e3) / 1e3;
  // Columns with the same geometry (weight, rows present) share their inputs: one bisection
  // serves them all (100 columns while the window fills: 3 bisections a check, not 300).
  const key = `${target}|${r}|${v}`;
  const known = memo.get(key);
  if (known) return known;
  if (memo.size >= MEMO_SIZE) memo.clear();
  const level = bisectLevel(target, plain, r, v);
  memo.set(key, level);
  return level;
}

const MEMO_SIZE = 4096;
const memo = new Map<string, TestLevel>();

function bisectLevel(target: number, plain: number, r: number, v: number): TestLevel {
  const upcrossing = (z: number): number =>
    2 * normalSf(z) * Math.max(1 / MAX_GAIN, upcrossingShare(z, v, r));
  let hi = zOf(plain);
  let lo = zOf(Math.min(0.5, plain * MAX_GAIN));
  for (let i = 0; i < 14; i++) {
    const mid = (lo + hi) / 2;
    if (upcrossing(mid) <= target) hi = mid;
    else lo = mid;
  }
  return { alpha: 2 * normalSf(hi), z: hi };
}

const INV_SQRT_2PI = 0.3989422804014327;

function zOf(alpha: number): number {
  return alpha > 0 ? -normalQuantile(alpha / 2) : Number.POSITIVE_INFINITY;
}

function normalCdf(x: number): number {
  return normalSf(-x);
}

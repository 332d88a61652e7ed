/**
 * @module
 * The error function and the standard normal distribution, accurate in the tails (Cephes
 * `ndtr.c`, as `scipy.special.ndtr` / `scipy.stats.norm` use it).
 */
import { p1evl, polevl } from './polevl.js';

// Cephes ndtr.c coefficients: erfc on [1, 8) (P/Q) and [8, inf) (R/S), erf on [0, 1] (T/U).
const P = [
  2.461969814735305e-10, 0.5641895648310689, 7.463210564422699, 48.63719709856814,
  196.5208329560771, 526.4451949954773, 934.5285271719576, 1027.5518868951572, 557.5353353693994,
];
const Q = [
  13.228195115474499, 86.70721408859897, 354.9377788878199, 975.7085017432055, 1823.9091668790973,
  2246.3376081871097, 1656.6630919416134, 557.5353408177277,
];
const R = [
  0.5641895835477551, 1.275366707599781, 5.019050422511805, 6.160210979930536, 7.4097426995044895,
  2.9788666537210022,
];
const S = [
  2.2605286322011726, 9.396035249380015, 12.048953980809666, 17.08144507475659, 9.608968090632859,
  3.369076451000815,
];
const T = [
  9.604973739870516, 90.02601972038427, 2232.005345946843, 7003.325141128051, 55592.30130103949,
];
const U = [
  33.56171416475031, 521.3579497801527, 4594.323829709801, 22629.000061389095, 49267.39426086359,
];
/** Cephes MAXLOG = log(DBL_MAX). */
const MAXLOG = 709.782712893384;

/**
 * The error function erf(x) (Cephes `erf`).
 *
 * @example
 * ```ts
 * erf(1); // 0.8427007929497148
 * ```
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return -erf(-x);
  if (Math.abs(x) > 1) return 1 - erfc(x);
  const z = x * x;
  return (x * polevl(z, T)) / p1evl(z, U);
}

/**
 * The complementary error function erfc(x) = 1 - erf(x), with full relative accuracy for
 * large x (Cephes `erfc`; underflows to 0 beyond x ~ 26.6).
 *
 * @example
 * ```ts
 * erfc(10); // 2.0884875837625446e-45
 * ```
 */
export function erfc(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = a < 0 ? -a : a;
  if (x < 1) return 1 - erf(a);
  let z = -a * a;
  if (z < -MAXLOG) return a < 0 ? 2 : 0;
  z = Math.exp(z);
  let p: number;
  let q: number;
  if (x < 8) {
    p = polevl(x, P);
    q = p1evl(x, Q);
  } else {
    p = polevl(x, R);
    q = p1evl(x, S);
  }
  let y = (z * p) / q;
  if (a < 0) y = 2 - y;
  if (y !== 0) return y;
  return a < 0 ? 2 : 0;
}

/**
 * The standard normal CDF Phi(x) (Cephes `ndtr`, as `scipy.stats.norm.cdf`). Accurate
 * relative to its value in the lower tail.
 *
 * @example
 * ```ts
 * normalCdf(-1.959963984540054); // 0.025
 * ```
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const t = x * Math.SQRT1_2;
  const z = Math.abs(t);
  if (z < Math.SQRT1_2) return 0.5 + 0.5 * erf(t);
  const y = 0.5 * erfc(z);
  return t > 0 ? 1 - y : y;
}

/**
 * The standard normal survival function 1 - Phi(x), accurate in the upper tail
 * (`scipy.stats.norm.sf(x)` = `ndtr(-x)`).
 *
 * @example
 * ```ts
 * normalSf(30); // 4.906713927147908e-198
 * ```
 */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

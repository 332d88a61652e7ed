/**
 * @module
 * The distribution of the two-sided one-sample Kolmogorov-Smirnov statistic D_n for finite n
 * (`scipy.stats.kstwo`, SciPy's `_kolmogn`), which `ks_2samp` uses for its large-sample
 * p-value, and the one-sided Smirnov distribution (`scipy.special.smirnov`).
 *
 * Sources: Simard & L'Ecuyer, "Computing the Two-Sided Kolmogorov-Smirnov Distribution",
 * J. Stat. Softw. 39(11), 2011 (the choice of method by n and n x^2); Marsaglia, Tsang & Wang,
 * J. Stat. Softw. 8(18), 2003 (Durbin matrix); Pomeranz, CACM 17(12), 1974; Pelz & Good,
 * JRSS B 38(2), 1976; Birnbaum & Tingey, Ann. Math. Statist. 22, 1951 and van Mulbregt,
 * arXiv:1802.06966 (Smirnov sums). Ported from scipy/stats/_ksstats.py and
 * scipy/special/cephes/kolmogorov.c (SciPy 1.10).
 */
import { logGamma } from './gamma.js';

const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const MIN_LOG = -708;
const SQRT3 = Math.sqrt(3);
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
/** Cephes MINLOG = log(2^-1022). */
const CEPHES_MINLOG = -708.3964185322641;
const STIRLING_COEFFS = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 8.417508417508417e-4,
  -5.952380952380953e-4, 7.936507936507937e-4, -0.002777777777777778, 0.08333333333333333,
];

/**
 * Survival function P(D_n >= x) of the two-sided Kolmogorov-Smirnov statistic for a sample of
 * size n: `scipy.stats.kstwo.sf(x, n)`.
 *
 * @example
 * ```ts
 * kolmogorovSmirnovSf(0.0264, 5739); // 0.000658798495965...
 * ```
 */
export function kolmogorovSmirnovSf(x: number, n: number): number {
  return kolmogn(n, x, false);
}

/**
 * CDF P(D_n <= x) of the two-sided Kolmogorov-Smirnov statistic: `scipy.stats.kstwo.cdf(x, n)`.
 *
 * @example
 * ```ts
 * kolmogorovSmirnovCdf(0.5, 10); // 0.99222259
 * ```
 */
export function kolmogorovSmirnovCdf(x: number, n: number): number {
  return kolmogn(n, x, true);
}

/**
 * Survival function of the one-sided Smirnov statistic D_n^+: `scipy.special.smirnov(n, x)`.
 *
 * @example
 * ```ts
 * smirnovSf(10, 0.3); // 0.1354635556
 * ```
 */
export function smirnovSf(n: number, x: number): number {
  return smirnov(n, x);
}

function clip01(p: number): number {
  return Math.min(Math.max(p, 0), 1);
}

function select(cdfProb: number, sfProb: number, cdf: boolean): number {
  return clip01(cdf ? cdfProb : sfProb);
}

function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  const t = rn / n;
  for (const c of STIRLING_COEFFS) poly = poly * t + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** SciPy `_kolmogn`: picks the method by n and n x^2 as Simard & L'Ecuyer recommend. */
function kolmogn(n: number, x: number, cdf: boolean): number {
  if (Number.isNaN(x) || !(n > 0) || !Number.isInteger(n)) return Number.NaN;
  if (x >= 1) return select(1, 0, cdf);
  if (x <= 0) return select(0, 1, cdf);
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return select(0, 1, cdf);
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return select(prob, 1 - prob, cdf);
  }
  if (t >= n - 1) {
    const prob = 2 * (1 - x) ** n;
    return select(1 - prob, prob, cdf);
  }
  if (x >= 0.5) {
    const prob = 2 * smirnov(n, x);
    return select(1 - prob, prob, cdf);
  }
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) {
      const prob = durbinMatrix(n, x);
      return select(prob, 1 - prob, cdf);
    }
    if (nxsquared <= 4) {
      const prob = pomeranz(n, x);
      return select(prob, 1 - prob, cdf);
    }
    const prob = 2 * smirnov(n, x);
    return select(1 - prob, prob, cdf);
  }
  if (!cdf) {
    if (nxsquared >= 370) return 0;
    if (nxsquared >= 2.2) return clip01(2 * smirnov(n, x));
  }
  let cdfProb: number;
  if (nxsquared >= 18) cdfProb = 1;
  else if (n <= 100_000 && n * x ** 1.5 <= 1.4) cdfProb = durbinMatrix(n, x);
  else cdfProb = pelzGood(n, x);
  return select(cdfProb, 1 - cdfProb, cdf);
}

/** Durbin's matrix algorithm in Marsaglia-Tsang-Wang's form (SciPy `_kolmogn_DMTW`): the CDF. */
function durbinMatrix(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (v[j - 1] as number) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)] as number;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] as number;
  let pwr: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) pwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      pwr = matmul(pwr, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)] as number) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) / EP128;
      hExpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = pwr[(k - 1) * m + (k - 1)] as number;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt !== 0) p *= 2 ** expnt;
  return clip01(p);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l] as number;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++)
        out[i * m + j] = (out[i * m + j] as number) + ail * (b[l * m + j] as number);
    }
  }
  return out;
}

function pomeranzJ1J2(
  i: number,
  n: number,
  ll: number,
  ceilf: number,
  roundf: number,
): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pomeranz's recursion (SciPy `_kolmogn_Pomeranz`): the CDF. */
function pomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] as number) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] as number) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] as number) * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      const base = k1 - V0s;
      // conv = numpy.convolve(V0[base:base+ln2], pwrs[:ln2]); keep conv[convStart:convStart+convLen].
      let max = 0;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c;
        let s = 0;
        const lo = Math.max(0, idx - (ln2 - 1));
        const hi = Math.min(idx, ln2 - 1);
        for (let a = lo; a <= hi; a++) s += (V0[base + a] as number) * (pwrs[idx - a] as number);
        V1[c] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < EM128) {
        for (let c = 0; c < V1.length; c++) V1[c] = (V1[c] as number) * EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s] as number;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans *= 2 ** expnt;
  return clip01(ans);
}

/** The Pelz-Good asymptotic expansion of the CDF (SciPy `_kolmogn_PelzGood`). */
function pelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [
      1,
      k1a + k1b * msquared,
      k2a + k2b * msquared + k2c * mfour,
      k3a + k3b * msquared + k3c * mfour + k3d * msix,
    ];
    for (let i = 0; i < 4; i++) K[i] = (K[i] as number) * qpower + (coeffs[i] as number);
  }
  const divisors = [z, 6 * zfour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = ((K[i] as number) * q * SQRT2PI) / (divisors[i] as number);
  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = SQRT3 * z;
  for (let k = maxk; k > 0; k--) {
    const ksquared = k * k;
    const qpwer = q ** ksquared;
    const kspi = Math.PI * k;
    k2extra += ksquared * qpwer;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer;
  }
  k2extra *= (PI_SQUARED * SQRT2PI) / (-36 * zthree);
  K[2] = (K[2] as number) + k2extra;
  k3extra *= (PI_SQUARED * SQRT2PI) / (216 * zsix);
  K[3] = (K[3] as number) + k3extra;
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (K[i] as number) / (n * 1) ** (i / 2);
  return sum;
}

/**
 * One-sided Smirnov survival function P(D_n^+ >= x): the Birnbaum-Tingey sum
 * x sum_{j=0}^{floor(n(1-x))} C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1), or 1 minus the
 * short upper sum when that has at most three terms (cephes `_smirnov3`). Terms are
 * computed in logarithms, with n x split exactly into a double-double.
 */
function smirnov(n: number, x: number): number {
  if (Number.isNaN(x) || !(n > 0) || x < 0 || x > 1) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const [nxHi, nxLo] = twoProduct(n, x);
  let nxfl = Math.floor(nxHi);
  let alpha = nxHi - nxfl + nxLo;
  if (alpha < 0) {
    nxfl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    nxfl += 1;
    alpha = 0;
  }
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const cdf = x * (1 + x) ** (n - 1);
    return clip01(1 - cdf);
  }
  if (-2 * n * x * x < CEPHES_MINLOG) return 0;
  if (nxfl >= n - 1) return clip01((1 - x) ** n);
  if (n > 1_000_000) return Math.exp(-((6 * n * x + 1) ** 2) / 18 / n);
  const nUpperTerms = n - n1mxceil + 1;
  const useUpper =
    (nUpperTerms <= 1 && x < 0.5) || (n >= 10 && nUpperTerms <= 3 && x <= 0.5 / Math.sqrt(n));
  const start = useUpper ? n : 0;
  const step = useUpper ? -1 : 1;
  const nTerms = useUpper ? nUpperTerms : n1mxfl + 1;
  let sum = 0;
  // log C(n, v) for the few terms of the upper sum, updated term by term.
  let logC = 0;
  for (let j = 0; j < nTerms; j++) {
    const v = start + j * step;
    // n (x + v/n) and n (1 - x - v/n), from the exact n x; they add up to n.
    const np = nxHi + v + nxLo;
    const nq = n - v - nxHi - nxLo;
    let term: number;
    if (useUpper) {
      if (j > 0) logC += Math.log((v + 1) / (n - v));
      term = Math.exp(logC + (n - v) * Math.log(Math.abs(nq / n)) + (v - 1) * Math.log(np / n));
      if (nq < 0 && (n - v) % 2 === 1) term = -term;
    } else {
      // A_v = C(n, v) p^v q^(n-v) / p with p = x + v/n, q = 1 - p: a binomial probability,
      // computed with Loader's saddle-point form so that large n keeps full accuracy.
      term = binomialPmf(v, n, np, nq) / (np / n);
    }
    sum += term;
    if (
      term !== 0 &&
      4 * (nTerms - j) * Math.abs(term) < 2.220446049250313e-16 * sum &&
      j !== nTerms - 1
    )
      break;
    if (term === 0 && j > n / 2) break;
  }
  const prob = x * sum;
  return clip01(useUpper ? 1 - prob : prob);
}

/**
 * Binomial probability C(n, k) p^k q^(n-k) given n p and n q (which add up to n), by
 * Loader's algorithm ("Fast and Accurate Computation of Binomial Probabilities", 2000),
 * as R's `dbinom_raw`: relative accuracy near machine precision for any n.
 */
function binomialPmf(k: number, n: number, np: number, nq: number): number {
  if (k === 0) {
    const p = np / n;
    return Math.exp(p < 0.1 ? -bd0(n, nq) - np : n * Math.log1p(-p));
  }
  if (k === n) {
    const q = nq / n;
    return Math.exp(q < 0.1 ? -bd0(n, np) - nq : n * Math.log1p(-q));
  }
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, np) - bd0(n - k, nq);
  const lf = LOG_2PI + Math.log(k) + Math.log1p(-k / n);
  return Math.exp(lc - 0.5 * lf);
}

/** log(n!) - log(sqrt(2 pi n) (n/e)^n), the error of Stirling's formula (integer n). */
function stirlerr(n: number): number {
  if (n <= 15) return logGamma(n + 1) - (n + 0.5) * Math.log(n) + n - LOG_2PI / 2;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** x log(x / m) + m - x, without cancellation when x is close to m (Loader's bd0). */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let s = (x - m) * v;
    let ej = 2 * x * v;
    v = v * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/** Dekker's exact product: a * b = hi + lo. */
function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const lo = ah * bh - hi + ah * bl + al * bh + al * bl;
  return [hi, lo];
}

function split(a: number): [number, number] {
  const c = 134217729 * a;
  const hi = c - (c - a);
  return [hi, a - hi];
}

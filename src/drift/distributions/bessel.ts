/**
 * @module
 * The modified Bessel function of the second kind K_nu(x) for real x > 0 and 0 <= nu < 1/2,
 * as `scipy.special.kv` computes it: D. E. Amos' ZBKNU (ACM TOMS 644, 1986) specialised to a
 * real argument and one order, keeping Amos' order of operations (including his complex
 * division) so that results agree with SciPy to the last bits. The Cramér-von Mises limiting
 * distribution needs K_1/4.
 */
import { logGamma } from './gamma.js';

const TOL = 2.220446049250313e-16;
// ZBESK: ELIM = 2.303 (K log10(2) - 3) with K = 1021; ALIM = ELIM - 2.303 * 52 log10(2).
const LOG10_2 = Math.log10(2);
// biome-ignore lint/suspicious/noApproximativeNumericConstant: Amos defines his thresholds with this rounded ln(10)
const AMOS_LN10 = 2.303;
const ELIM = AMOS_LN10 * (1021 * LOG10_2 - 3.0);
const ALIM = ELIM + Math.max(-(LOG10_2 * 52 * AMOS_LN10), -41.45);
const RTHPI = 1.2533141373155003;
const FPI = 1.8976999933151775;
const TTH = 0.6666666666666666;

/**
 * K_nu(x) for 0 <= nu < 0.5 and real x (`scipy.special.kv(nu, x)`): Amos' series for
 * x <= 2, Miller's backward recurrence normalised by Temme's sum above; 0 where K underflows.
 *
 * @example
 * ```ts
 * besselK(0.25, 1); // 0.4307397744485814
 * ```
 */
export function besselK(nu: number, x: number): number {
  if (Number.isNaN(x) || Number.isNaN(nu) || x < 0) return Number.NaN;
  if (x === 0) return Number.POSITIVE_INFINITY;
  const v = Math.abs(nu);
  if (!(v < 0.5)) return Number.NaN;
  if (x > 710 * (1 + v)) return 0;
  return x <= 2 ? seriesK(v, x) : millerK(v, x);
}

/** ZBKNU label 10-70: the series for |z| <= 2 with N = 1, KODE = 1. */
function seriesK(dnu: number, z: number): number {
  const caz = z;
  const rcaz = 1.0 / caz;
  const str0 = z * rcaz;
  const rzr = (str0 + str0) * rcaz;
  const dnu2 = Math.abs(dnu) > TOL ? dnu * dnu : 0;
  let fc = 1.0;
  let smur = Math.log(rzr);
  const fmur = smur * dnu;
  const cshr = Math.sinh(fmur);
  const cchr = Math.cosh(fmur);
  if (dnu !== 0) {
    fc = dnu * Math.PI;
    fc = fc / Math.sin(fc);
    smur = cshr / dnu;
  }
  const a2 = 1.0 + dnu;
  const t2 = Math.exp(-amosLogGamma(a2));
  let t1 = 1.0 / (t2 * fc);
  let g1: number;
  if (Math.abs(dnu) > 0.1) {
    g1 = (t1 - t2) / (dnu + dnu);
  } else {
    const CC = [
      0.5772156649015329, -0.04200263503409524, -0.04219773455554433, 0.0072189432466631,
      -2.1524167411495098e-4, -2.013485478078824e-5, 1.133027231981696e-6, 6.116095104481416e-9,
    ];
    let ak = 1.0;
    let s = CC[0] as number;
    for (let k = 1; k < 8; k++) {
      ak *= dnu2;
      const tm = (CC[k] as number) * ak;
      s += tm;
      if (Math.abs(tm) < TOL) break;
    }
    g1 = -s;
  }
  const g2 = (t1 + t2) * 0.5;
  let fr = fc * (cchr * g1 + smur * g2);
  const str = Math.exp(fmur);
  let pr = (0.5 * str) / t2;
  // ZDIV(0.5, 0, str, 0): Amos divides through the modulus.
  const bm = 1.0 / Math.abs(str);
  const ptr = 0.5 * (str * bm) * bm;
  let qr = ptr / t1;
  let s1r = fr;
  let ak = 1.0;
  let a1 = 1.0;
  let ckr = 1.0;
  let bk = 1.0 - dnu2;
  if (caz < TOL) return s1r;
  const czr = 0.25 * (z * z);
  t1 = 0.25 * caz * caz;
  do {
    fr = (fr * ak + pr + qr) / bk;
    let r = 1.0 / (ak - dnu);
    pr = pr * r;
    r = 1.0 / (ak + dnu);
    qr = qr * r;
    const st = ckr * czr;
    const rak = 1.0 / ak;
    ckr = st * rak;
    s1r = ckr * fr + s1r;
    a1 = a1 * t1 * rak;
    bk = bk + ak + ak + 1.0;
    ak = ak + 1.0;
  } while (a1 > TOL);
  return s1r;
}

/** ZBKNU label 110-240: Miller's algorithm for |z| > 2 with N = 1, KODE = 1 (INU = 0). */
function millerK(dnu: number, z: number): number {
  if (z > ALIM) return 0;
  const caz = z;
  const sq = Math.sqrt(z);
  const bm = 1.0 / Math.abs(sq);
  let coefr = RTHPI * (sq * bm) * bm;
  coefr = coefr * (Math.exp(-z) * 1.0);
  const dnu2 = Math.abs(dnu) > TOL ? dnu * dnu : 0;
  let ak = Math.abs(Math.cos(Math.PI * dnu));
  let fhs = Math.abs(0.25 - dnu2);
  let t1 = 52 * LOG10_2 * 3.321928094;
  t1 = Math.min(Math.max(t1, 12.0), 60.0);
  const t2 = TTH * t1 - 6.0;
  t1 = 0;
  let fk: number;
  if (t2 > caz) {
    const a2 = Math.sqrt(caz);
    ak = (FPI * ak) / (TOL * Math.sqrt(a2));
    ak = (Math.log(ak) + (caz * 1.0) / (1.0 + 0.008 * caz)) / 1.0;
    fk = (0.12125 * ak * ak) / caz + 1.5;
  } else {
    const etest = ak / (Math.PI * caz * TOL);
    fk = 1.0;
    if (!(etest < 1.0)) {
      let fks = 2.0;
      let ckr = caz + caz + 2.0;
      let p1r = 0.0;
      let p2r = 1.0;
      let converged = false;
      for (let i = 1; i <= 30; i++) {
        ak = fhs / fks;
        const cbr = ckr / (fk + 1.0);
        const ptr = p2r;
        p2r = cbr * p2r - p1r * ak;
        p1r = ptr;
        ckr = ckr + 2.0;
        fks = fks + fk + fk + 2.0;
        fhs = fhs + fk + fk;
        fk = fk + 1.0;
        if (etest < Math.abs(p2r) * fk) {
          converged = true;
          break;
        }
      }
      if (!converged) return Number.NaN;
      fk = fk + 1.909859317102744 * t1 * Math.sqrt(t2 / caz);
      fhs = Math.abs(0.25 - dnu2);
    }
  }
  const k = Math.trunc(Math.fround(fk));
  fk = k;
  let fks = fk * fk;
  let p1r = 0.0;
  let p2r = TOL;
  let csr = p2r;
  for (let i = 1; i <= k; i++) {
    const a1 = fks - fk;
    const akk = (fks + fk) / (a1 + fhs);
    const rak = 2.0 / (fk + 1.0);
    const cbr = (fk + z) * rak;
    const ptr = p2r;
    p2r = (ptr * cbr - p1r) * akk;
    p1r = ptr;
    csr = csr + p2r;
    fks = a1 - fk + 1.0;
    fk = fk - 1.0;
  }
  const tm = Math.abs(csr);
  const ptr = 1.0 / tm;
  const s1r = p2r * ptr;
  csr = csr * ptr;
  const str = coefr * s1r;
  return str * csr;
}

/**
 * Amos' DGAMLN for non-integer z > 0: the asymptotic series of log Gamma after shifting z
 * up to 7 (Amos' ZMIN for IEEE doubles). Integers use the exact log-factorial.
 */
function amosLogGamma(z: number): number {
  if (Number.isInteger(z) && z <= 101) return logGamma(z);
  const CF = [
    0.08333333333333333, -0.002777777777777778, 7.936507936507937e-4, -5.952380952380953e-4,
    8.417508417508417e-4, -0.0019175269175269176, 0.00641025641025641, -0.029550653594771242,
    0.17964437236883057, -1.3924322169059011, 13.402864044168393, -156.84828462600203,
    2193.1033333333335, -36108.77125372499, 691472.268851313, -1.5238221539407415e7,
    3.8290075139141417e8, -1.0882266035784391e10, 3.4732028376500226e11, -1.2369602142269275e13,
    4.887880647930793e14, -2.1320333960919372e16,
  ];
  const CON = 1.8378770664093456;
  const wdtol = TOL;
  const nz = Math.trunc(Math.fround(z));
  const zmin = 7;
  let zdmy = z;
  let zinc = 0;
  if (z < zmin) {
    zinc = zmin - nz;
    zdmy = z + zinc;
  }
  let zp = 1.0 / zdmy;
  const t1 = (CF[0] as number) * zp;
  let s = t1;
  if (!(zp < wdtol)) {
    const zsq = zp * zp;
    const tst = t1 * wdtol;
    for (let k = 1; k < 22; k++) {
      zp = zp * zsq;
      const trm = (CF[k] as number) * zp;
      if (Math.abs(trm) < tst) break;
      s = s + trm;
    }
  }
  if (zinc === 0) {
    const tlg = Math.log(z);
    return z * (tlg - 1.0) + 0.5 * (CON - tlg) + s;
  }
  let prod = 1.0;
  for (let i = 1; i <= Math.trunc(Math.fround(zinc)); i++) prod = prod * (z + (i - 1));
  const tlg = Math.log(zdmy);
  return zdmy * (tlg - 1.0) - Math.log(prod) + 0.5 * (CON - tlg) + s;
}

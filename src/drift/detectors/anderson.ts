/**
 * @module
 * The k-sample Anderson-Darling test for two samples (`scipy.stats.anderson_ksamp([ref, cur])`,
 * SciPy 1.10, `midrank=True`): Scholz & Stephens' A2akN (JASA 82(399), 1987, eq. 7), its
 * standardisation, and the significance level interpolated from their Table 2 by a quadratic
 * fit of log(significance) on the critical values, capped to [0.001, 0.25] as SciPy does.
 */
import { ValidationError } from '../../core/errors.js';
import { pairwiseSum } from '../distributions/summation.js';
import type { NumericSample } from '../sample.js';
import { defineDetector, type SampleDetector } from './common.js';

const B0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const B1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const B2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
const SIG = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];

/**
 * Anderson-Darling k-sample statistic (k = 2) and SciPy's capped significance level for two
 * sorted samples. A single distinct value overall gives statistic 0 and p-value 1.
 *
 * @throws {ValidationError} when the samples hold fewer than 4 values in all (and two distinct).
 *
 * @example
 * ```ts
 * andersonKSample(Float64Array.of(1, 2, 3, 4), Float64Array.of(5, 6, 7, 8)).pValue; // 0.0105950029295603...
 * ```
 */
export function andersonKSample(
  x: Float64Array,
  y: Float64Array,
): { statistic: number; pValue: number } {
  const samples = [x, y];
  const k = 2;
  const n = [x.length, y.length];
  const N = x.length + y.length;
  // Pooled distinct values with their multiplicity and the midrank base Bj.
  const zstar: number[] = [];
  const lj: number[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    const v =
      j >= y.length || (i < x.length && (x[i] as number) <= (y[j] as number))
        ? (x[i] as number)
        : (y[j] as number);
    let t = 0;
    while (i < x.length && x[i] === v) {
      i++;
      t++;
    }
    while (j < y.length && y[j] === v) {
      j++;
      t++;
    }
    zstar.push(v);
    lj.push(t);
  }
  const L = zstar.length;
  if (L < 2) return { statistic: 0, pValue: 1 };
  if (N < 4) {
    // The variance of A2akN divides by (N - 2)(N - 3): SciPy returns NaN here.
    throw new ValidationError(
      `[keel] cannot run the anderson drift test on ${N} values in all: it needs at least 4 ` +
        '(the statistic is standardised by a variance that needs them); use ks for tiny samples',
      { details: { method: 'anderson', reference: x.length, current: y.length } },
    );
  }
  const allDistinct = L === N;
  const bj = new Float64Array(L);
  let left = 0;
  for (let l = 0; l < L; l++) {
    bj[l] = left + (allDistinct ? 1 : (lj[l] as number)) / 2;
    left += lj[l] as number;
  }
  let a2akn = 0;
  for (let s = 0; s < k; s++) {
    const sample = samples[s] as Float64Array;
    const ni = n[s] as number;
    const inner = new Float64Array(L);
    let p = 0;
    for (let l = 0; l < L; l++) {
      const v = zstar[l] as number;
      const start = p;
      while (p < sample.length && sample[p] === v) p++;
      const fij = p - start;
      const mij = p - fij / 2;
      const ljv = allDistinct ? 1 : (lj[l] as number);
      const b = bj[l] as number;
      inner[l] = ((ljv / N) * (N * mij - b * ni) ** 2) / (b * (N - b) - (N * ljv) / 4);
    }
    a2akn += pairwiseSum(inner) / ni;
  }
  a2akn *= (N - 1) / N;
  const H = 1 / (n[0] as number) + 1 / (n[1] as number);
  // hs_cs = cumsum(1 / arange(N - 1, 1, -1)); h = hs_cs[-1] + 1; g = sum(hs_cs / arange(2, N)).
  const hsCs = new Float64Array(Math.max(N - 2, 0));
  let acc = 0;
  for (let m = 0; m < N - 2; m++) {
    acc += 1 / (N - 1 - m);
    hsCs[m] = acc;
  }
  const h = (N > 2 ? (hsCs[N - 3] as number) : 0) + 1;
  const ratios = new Float64Array(hsCs.length);
  for (let m = 0; m < hsCs.length; m++) ratios[m] = (hsCs[m] as number) / (m + 2);
  const g = pairwiseSum(ratios);
  const a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * H;
  const b = (2 * g - 4) * k ** 2 + 8 * h * k + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6;
  const c = (6 * h + 2 * g - 2) * k ** 2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * H + 4 * h;
  const d = (2 * h + 6) * k ** 2 - 4 * h * k;
  const sigmasq = (a * N ** 3 + b * N ** 2 + c * N + d) / ((N - 1) * (N - 2) * (N - 3));
  const m = k - 1;
  const A2 = (a2akn - m) / Math.sqrt(sigmasq);
  const critical = B0.map(
    (b0, idx) => b0 + (B1[idx] as number) / Math.sqrt(m) + (B2[idx] as number) / m,
  );
  let p: number;
  if (A2 < Math.min(...critical)) p = Math.max(...SIG);
  else if (A2 > Math.max(...critical)) p = Math.min(...SIG);
  else {
    const coef = polyfit2(critical, SIG.map(Math.log));
    p = Math.exp(((coef[0] as number) * A2 + (coef[1] as number)) * A2 + (coef[2] as number));
  }
  return { statistic: A2, pValue: p };
}

/** `anderson`: Anderson-Darling k-sample; drift when its (capped) significance < 0.05. */
export const anderson: SampleDetector = defineDetector({
  name: 'anderson',
  supports: 'numerical',
  kind: 'p_value',
  defaultThreshold: 0.05,
  compute(reference, current) {
    return andersonKSample((reference as NumericSample).sorted, (current as NumericSample).sorted);
  },
});

/**
 * `numpy.polyfit(x, y, 2)`: least squares on the column-scaled Vandermonde matrix, solved by
 * Householder QR. Returns [c2, c1, c0].
 */
function polyfit2(x: readonly number[], y: readonly number[]): number[] {
  const rows = x.length;
  const cols = 3;
  const A: number[][] = x.map((v) => [v * v, v, 1]);
  const scale = [0, 1, 2].map((c) => Math.sqrt(A.reduce((s, r) => s + (r[c] as number) ** 2, 0)));
  for (const r of A) for (let c = 0; c < cols; c++) r[c] = (r[c] as number) / (scale[c] as number);
  const rhs = [...y];
  for (let c = 0; c < cols; c++) {
    let norm = 0;
    for (let r = c; r < rows; r++) norm += (A[r]?.[c] as number) ** 2;
    norm = Math.sqrt(norm);
    const alpha = (A[c]?.[c] as number) > 0 ? -norm : norm;
    const v = new Array<number>(rows).fill(0);
    for (let r = c; r < rows; r++) v[r] = A[r]?.[c] as number;
    v[c] = (v[c] as number) - alpha;
    let vv = 0;
    for (let r = c; r < rows; r++) vv += (v[r] as number) ** 2;
    if (vv === 0) continue;
    for (let cc = c; cc < cols; cc++) {
      let dot = 0;
      for (let r = c; r < rows; r++) dot += (v[r] as number) * (A[r]?.[cc] as number);
      const f = (2 * dot) / vv;
      for (let r = c; r < rows; r++)
        (A[r] as number[])[cc] = (A[r]?.[cc] as number) - f * (v[r] as number);
    }
    let dot = 0;
    for (let r = c; r < rows; r++) dot += (v[r] as number) * (rhs[r] as number);
    const f = (2 * dot) / vv;
    for (let r = c; r < rows; r++) rhs[r] = (rhs[r] as number) - f * (v[r] as number);
  }
  const coef = new Array<number>(cols).fill(0);
  for (let c = cols - 1; c >= 0; c--) {
    let s = rhs[c] as number;
    for (let cc = c + 1; cc < cols; cc++) s -= (A[c]?.[cc] as number) * (coef[cc] as number);
    coef[c] = s / (A[c]?.[c] as number);
  }
  return coef.map((v, c) => v / (scale[c] as number));
}

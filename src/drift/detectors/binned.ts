/**
 * @module
 * Binned distances between the reference and current distributions: `psi`, `kl`,
 * `jensenshannon`, `hellinger`, `linf`, `tvd`, on keel's reference binning (default) or
 * Evidently's (parity mode, `binning: 'evidently'`).
 */
import {
  type BinnedCounts,
  categoryBins,
  distinctValues,
  evidentlyNumericBins,
  histogramCounts,
  mergeSorted,
  referenceBins,
  sturgesEdges,
} from '../binning.js';
import { ldexp, maxAbsSorted, normalizingExponent } from '../distributions/scaling.js';
import { pairwiseSum } from '../distributions/summation.js';
import type { Sample } from '../sample.js';
import { assertFewLevels, defineDetector, type SampleDetector } from './common.js';

/** Proportions of each bin: counts divided by their (NumPy) sum. */
export function proportions(counts: Float64Array): Float64Array {
  const total = pairwiseSum(counts);
  return counts.map((c) => c / total);
}

/**
 * Evidently's zero replacement (done for each side separately): zeros become
 * min(nonzero) / 1e6 when min(nonzero) <= 1e-4, else 1e-4.
 */
export function fillZeros(p: Float64Array): Float64Array {
  let min = Number.POSITIVE_INFINITY;
  for (const v of p) if (v !== 0 && v < min) min = v;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return p.map((v) => (v === 0 ? fill : v));
}

/** Population stability index sum (p - q) ln(p / q), after {@link fillZeros} on each side. */
export function psiOf(p: Float64Array, q: Float64Array): number {
  const pf = fillZeros(p);
  const qf = fillZeros(q);
  return pairwiseSum(pf.map((v, i) => (v - (qf[i] as number)) * Math.log(v / (qf[i] as number))));
}

/** Kullback-Leibler divergence sum p ln(p / q) (reference relative to current), zeros filled. */
export function klOf(p: Float64Array, q: Float64Array): number {
  const pf = fillZeros(p);
  const qf = fillZeros(q);
  return pairwiseSum(pf.map((v, i) => v * Math.log(v / (qf[i] as number))));
}

/**
 * `scipy.spatial.distance.jensenshannon(p, q, base)`: the Jensen-Shannon distance (square root
 * of the divergence); natural log when `base` is omitted.
 */
export function jensenShannonOf(p: Float64Array, q: Float64Array, base?: number): number {
  const ps = pairwiseSum(p);
  const qs = pairwiseSum(q);
  const pn = p.map((v) => v / ps);
  const qn = q.map((v) => v / qs);
  const m = pn.map((v, i) => (v + (qn[i] as number)) / 2.0);
  const left = pn.map((v, i) => relEntr(v, m[i] as number));
  const right = qn.map((v, i) => relEntr(v, m[i] as number));
  let js = pairwiseSum(left) + pairwiseSum(right);
  if (base !== undefined) js /= Math.log(base);
  // Rounding can leave a tiny negative divergence for near-identical distributions.
  return Math.sqrt(Math.max(js / 2.0, 0));
}

/** Hellinger distance sqrt(sum (sqrt p - sqrt q)^2) / sqrt 2, in [0, 1]. */
export function hellingerOf(p: Float64Array, q: Float64Array): number {
  const d = p.map((v, i) => (Math.sqrt(v) - Math.sqrt(q[i] as number)) ** 2);
  return Math.sqrt(pairwiseSum(d)) / Math.SQRT2;
}

/** L-infinity distance max |p - q|. */
export function linfOf(p: Float64Array, q: Float64Array): number {
  let max = 0;
  for (let i = 0; i < p.length; i++)
    max = Math.max(max, Math.abs((p[i] as number) - (q[i] as number)));
  return max;
}

/** Total variation distance 0.5 sum |p - q|. */
export function tvdOf(p: Float64Array, q: Float64Array): number {
  return 0.5 * pairwiseSum(p.map((v, i) => Math.abs(v - (q[i] as number))));
}

/** Bin counts of two samples with keel's reference binning (numerical) or one bin per category. */
export function binSamples(reference: Sample, current: Sample, name: string): BinnedCounts {
  if (reference.kind === 'numerical' && current.kind === 'numerical') {
    return referenceBins(reference.sorted, current.sorted);
  }
  return categoricalBins(reference, current, name);
}

/** `psi`: population stability index; drift when >= 0.1 (0.25 is a major shift). */
export const psi: SampleDetector = binnedDetector(
  'psi',
  (p, q) => psiOf(p, q),
  (b) => {
    return psiOf(divide(b.reference, b.sizes[0]), divide(b.current, b.sizes[1]));
  },
);

/** `kl`: Kullback-Leibler divergence of reference from current; drift when >= 0.1. */
export const kl: SampleDetector = binnedDetector(
  'kl',
  (p, q) => klOf(p, q),
  (b) => {
    // Evidently calls scipy.stats.entropy, which renormalises the filled proportions.
    const pf = fillZeros(divide(b.reference, b.sizes[0]));
    const qf = fillZeros(divide(b.current, b.sizes[1]));
    const ps = pairwiseSum(pf);
    const qs = pairwiseSum(qf);
    const pn = pf.map((v) => (1.0 * v) / ps);
    const qn = qf.map((v) => (1.0 * v) / qs);
    return pairwiseSum(pn.map((v, i) => relEntr(v, qn[i] as number)));
  },
);

/** `jensenshannon`: Jensen-Shannon distance, base 2, in [0, 1]; drift when >= 0.1. */
export const jensenshannon: SampleDetector = binnedDetector(
  'jensenshannon',
  (p, q) => jensenShannonOf(p, q, 2),
  (b) => jensenShannonOf(divide(b.reference, b.sizes[0]), divide(b.current, b.sizes[1])),
);

/** `hellinger`: Hellinger distance; drift when >= 0.1. */
export const hellinger: SampleDetector = binnedDetector(
  'hellinger',
  (p, q) => hellingerOf(p, q),
  (b, ref, cur) => evidentlyHellinger(ref, cur, b),
);

/** `linf`: largest difference of bin proportions; drift when >= 0.1. */
export const linf: SampleDetector = binnedDetector(
  'linf',
  (p, q) => linfOf(p, q),
  (b) => linfOf(divide(b.reference, b.sizes[0]), divide(b.current, b.sizes[1])),
);

/** `tvd`: total variation distance; drift when >= 0.1. */
export const tvd: SampleDetector = binnedDetector(
  'tvd',
  (p, q) => tvdOf(p, q),
  (b) => tvdOf(divide(b.reference, b.sizes[0]), divide(b.current, b.sizes[1])),
);

interface EvidentlyBins extends BinnedCounts {
  sizes: [number, number];
}

function binnedDetector(
  name: string,
  metric: (p: Float64Array, q: Float64Array) => number,
  evidently: (bins: EvidentlyBins, reference: Sample, current: Sample) => number,
): SampleDetector {
  return defineDetector({
    name,
    supports: 'both',
    kind: 'distance',
    defaultThreshold: 0.1,
    compute(reference, current, binning) {
      if (binning === 'evidently') {
        return {
          statistic: evidently(evidentlyBins(reference, current, name), reference, current),
        };
      }
      const bins = binSamples(reference, current, name);
      return { statistic: metric(proportions(bins.reference), proportions(bins.current)) };
    },
  });
}

function categoricalBins(reference: Sample, current: Sample, name: string): BinnedCounts {
  const r = reference.kind === 'categorical' ? reference : undefined;
  const c = current.kind === 'categorical' ? current : undefined;
  if (!r || !c) throw new Error('unreachable: samples were made categorical');
  const bins = categoryBins(r.counts, c.counts);
  assertFewLevels(name, bins.labels.length, r.size + c.size);
  return bins;
}

/** Evidently `get_binned_data`: counts and the sample sizes that make them proportions. */
function evidentlyBins(reference: Sample, current: Sample, name: string): EvidentlyBins {
  if (reference.kind === 'numerical' && current.kind === 'numerical') {
    const b = evidentlyNumericBins(reference.sorted, current.sorted);
    return { ...b, sizes: [reference.sorted.length, current.sorted.length] };
  }
  const b = categoricalBins(reference, current, name);
  const sizes: [number, number] = [
    reference.kind === 'categorical' ? reference.size : 0,
    current.kind === 'categorical' ? current.size : 0,
  ];
  return { reference: b.reference, current: b.current, sizes };
}

/**
 * Evidently's Hellinger distance: numerical samples use density histograms on Sturges edges
 * of the distinct values of both samples, sqrt(1 - sum sqrt(f g) w); categorical samples
 * sqrt(1 - sum sqrt(p q)).
 */
function evidentlyHellinger(reference: Sample, current: Sample, bins: EvidentlyBins): number {
  let s = 0;
  if (reference.kind === 'numerical' && current.kind === 'numerical') {
    const keys = distinctValues(mergeSorted(reference.sorted, current.sorted));
    const edges = sturgesEdges(keys);
    // sqrt(f g) w is scale-invariant but f and g are not: bins 1e300 wide have densities whose
    // product underflows. Widths from the edges rescaled by a power of two give the same bits
    // where nothing underflows.
    const k = normalizingExponent(maxAbsSorted(edges));
    const scaled = edges.map((e) => ldexp(e, k));
    const h1 = density(histogramCounts(reference.sorted, edges), scaled);
    const h2 = density(histogramCounts(current.sorted, edges), scaled);
    const bw =
      ((scaled[scaled.length - 1] as number) - (scaled[0] as number)) / (scaled.length - 1);
    for (let i = 0; i < h1.length; i++) s += Math.sqrt((h1[i] as number) * (h2[i] as number)) * bw;
  } else {
    const p = divide(bins.reference, bins.sizes[0]);
    const q = divide(bins.current, bins.sizes[1]);
    for (let i = 0; i < p.length; i++) s += Math.sqrt((p[i] as number) * (q[i] as number));
  }
  s = Math.min(Math.max(s, 0), 1);
  return Math.sqrt(1 - s);
}

/** `numpy.histogram(..., density=True)`: count / bin width / total. */
function density(counts: number[], edges: number[]): number[] {
  const total = pairwiseSum(counts);
  return counts.map((c, i) => c / ((edges[i + 1] as number) - (edges[i] as number)) / total);
}

function divide(counts: Float64Array, size: number): Float64Array {
  return counts.map((c) => c / size);
}

/** `scipy.special.rel_entr`: x ln(x / y), 0 when x = 0. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

/**
 * @module
 * Histogram binning with NumPy's semantics (`numpy.histogram_bin_edges` with the `doane` and
 * `sturges` rules, `numpy.linspace` edges, `numpy.histogram` counts: half-open bins, the last
 * one closed), and the two binnings of the binned distances: keel's "reference" binning and
 * Evidently's (parity mode).
 */
import { ldexp, maxAbsSorted, rescaleExponent, scaleValues } from './distributions/scaling.js';
import { pairwiseSum } from './distributions/summation.js';

/** Bin edges and the count of values in each bin. */
export interface Histogram {
  /** Ascending bin edges (`counts.length + 1` of them). */
  edges: number[];
  /** Values per bin: [e_i, e_i+1) for every bin but the last, which is closed. */
  counts: number[];
}

/** Paired bin counts of a reference and a current sample. */
export interface BinnedCounts {
  /** Reference count per bin. */
  reference: Float64Array;
  /** Current count per bin. */
  current: Float64Array;
}

/**
 * `numpy.histogram_bin_edges(values, bins='doane')` for sorted finite values. Moments use
 * NumPy's pairwise sums (on the sorted order, so the last bits may differ from NumPy on the
 * raw order; the bin count only changes if the rule lands within an ulp of an integer).
 *
 * @example
 * ```ts
 * doaneEdges(Float64Array.of(1, 2, 3, 4, 10)); // [1, 2.8, 4.6, 6.4, 8.2, 10]
 * ```
 */
export function doaneEdges(sorted: Float64Array): number[] {
  const n = sorted.length;
  const first = sorted[0] as number;
  const last = sorted[n - 1] as number;
  if (first === last) return equalWidthEdges(first, last, 0);
  // Doane's bin count is scale-invariant: compute it (and the edges) on values rescaled by a
  // power of two, bit-identical to NumPy where NumPy does not overflow, finite where it would.
  const k = rescaleExponent(maxAbsSorted(sorted));
  const x = scaleValues(sorted, k);
  let width = 0;
  if (n > 2) {
    const sg1 = Math.sqrt((6.0 * (n - 2)) / ((n + 1.0) * (n + 3)));
    const mu = pairwiseSum(x) / n;
    const dev = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = (x[i] as number) - mu;
      dev[i] = d * d;
    }
    const sigma = Math.sqrt(pairwiseSum(dev) / n);
    if (sigma > 0) {
      for (let i = 0; i < n; i++) dev[i] = (((x[i] as number) - mu) / sigma) ** 3;
      const g1 = pairwiseSum(dev) / n;
      width = ptp(x) / (1.0 + Math.log2(n) + Math.log2(1.0 + Math.abs(g1) / sg1));
    }
  }
  return unscaleEdges(equalWidthEdges(x[0] as number, x[n - 1] as number, width), k, first, last);
}

/**
 * `numpy.histogram_bin_edges(values, bins='sturges')` for sorted finite values:
 * width = ptp / (log2(n) + 1).
 *
 * @example
 * ```ts
 * sturgesEdges(Float64Array.of(0, 1, 2, 3)); // [0, 1, 2, 3]
 * ```
 */
export function sturgesEdges(sorted: Float64Array): number[] {
  const n = sorted.length;
  const first = sorted[0] as number;
  const last = sorted[n - 1] as number;
  if (first === last) return equalWidthEdges(first, last, 0);
  // As doaneEdges: the range may overflow (1e308 - -1e308), its power-of-two rescaling cannot.
  const k = rescaleExponent(maxAbsSorted(sorted));
  const a = ldexp(first, k);
  const b = ldexp(last, k);
  return unscaleEdges(equalWidthEdges(a, b, (b - a) / (Math.log2(n) + 1.0)), k, first, last);
}

/**
 * Counts of sorted values per bin with `numpy.histogram` semantics for explicit edges
 * (values outside [edges[0], edges[last]] are not counted).
 *
 * @example
 * ```ts
 * histogramCounts(Float64Array.of(0, 1, 1, 2, 3), [0, 1, 2, 3]); // [1, 2, 2]
 * ```
 */
export function histogramCounts(sorted: Float64Array, edges: readonly number[]): number[] {
  const k = edges.length;
  const cum = new Array<number>(k);
  for (let i = 0; i < k - 1; i++) cum[i] = searchLeft(sorted, edges[i] as number);
  cum[k - 1] = searchRight(sorted, edges[k - 1] as number);
  const counts = new Array<number>(k - 1);
  for (let i = 0; i < k - 1; i++) counts[i] = (cum[i + 1] as number) - (cum[i] as number);
  return counts;
}

/**
 * Doane histogram of sorted values: `numpy.histogram(values, bins='doane')`.
 *
 * @example
 * ```ts
 * doaneHistogram(Float64Array.of(1, 2, 3, 4, 10)); // { edges: [1, 2.8, 4.6, 6.4, 8.2, 10], counts: [2, 2, 0, 0, 1] }
 * ```
 */
export function doaneHistogram(sorted: Float64Array): Histogram {
  const edges = doaneEdges(sorted);
  return { edges, counts: histogramCounts(sorted, edges) };
}

/**
 * keel's default binning of numerical samples: Doane edges on the reference, NumPy counts,
 * two open outer bins for current values below the first and above the last edge, then the
 * bins empty in both samples dropped.
 *
 * @example
 * ```ts
 * referenceBins(Float64Array.of(0, 1, 2, 3), Float64Array.of(-1, 1, 5));
 * // reference [0, 1, 1, 2, 0], current [1, 0, 1, 0, 1]
 * ```
 */
export function referenceBins(reference: Float64Array, current: Float64Array): BinnedCounts {
  return referenceBinsFromHistogram(doaneHistogram(reference), current);
}

/**
 * {@link referenceBins} from a stored reference histogram (a profile) and a sorted current sample.
 *
 * @example
 * ```ts
 * referenceBinsFromHistogram({ edges: [0, 1, 2], counts: [3, 4] }, Float64Array.of(0.5, 3));
 * // reference [3, 4, 0], current [1, 0, 1]
 * ```
 */
export function referenceBinsFromHistogram(
  histogram: Histogram,
  current: Float64Array,
): BinnedCounts {
  const { edges, counts } = histogram;
  const cc = histogramCounts(current, edges);
  const below = searchLeft(current, edges[0] as number);
  const above = current.length - searchRight(current, edges[edges.length - 1] as number);
  const rc = [0, ...counts, 0];
  const cur = [below, ...cc, above];
  return dropEmpty(rc, cur);
}

/**
 * Category bins: one per label in the union of both samples, labels sorted as strings.
 *
 * @example
 * ```ts
 * categoryBins(new Map([['a', 2]]), new Map([['b', 1]])); // reference [2, 0], current [0, 1]
 * ```
 */
export function categoryBins(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): BinnedCounts & { labels: string[] } {
  const labels = [...new Set([...reference.keys(), ...current.keys()])].sort(compareStrings);
  const rc = new Float64Array(labels.length);
  const cc = new Float64Array(labels.length);
  labels.forEach((label, i) => {
    rc[i] = reference.get(label) ?? 0;
    cc[i] = current.get(label) ?? 0;
  });
  return { reference: rc, current: cc, labels };
}

/**
 * Evidently's binning of numerical samples (`get_binned_data`): Sturges edges on both samples
 * together when the reference has more than 20 distinct values, else one bin per value of the
 * union (sorted numerically); nothing dropped.
 *
 * @example
 * ```ts
 * evidentlyNumericBins(Float64Array.of(1, 2, 2), Float64Array.of(2, 3)); // reference [1, 2, 0], current [0, 1, 1]
 * ```
 */
export function evidentlyNumericBins(reference: Float64Array, current: Float64Array): BinnedCounts {
  if (distinctCount(reference) > 20) {
    const edges = sturgesEdges(mergeSorted(reference, current));
    return {
      reference: Float64Array.from(histogramCounts(reference, edges)),
      current: Float64Array.from(histogramCounts(current, edges)),
    };
  }
  const values = distinctValues(mergeSorted(reference, current));
  const rc = new Float64Array(values.length);
  const cc = new Float64Array(values.length);
  countRuns(reference, values, rc);
  countRuns(current, values, cc);
  return { reference: rc, current: cc };
}

/** The distinct values of a sorted array, ascending. */
export function distinctValues(sorted: Float64Array): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i] as number);
  }
  return Float64Array.from(out);
}

/** Merges two sorted arrays into one sorted array. */
export function mergeSorted(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length)
    out[k++] = (a[i] as number) <= (b[j] as number) ? (a[i++] as number) : (b[j++] as number);
  while (i < a.length) out[k++] = a[i++] as number;
  while (j < b.length) out[k++] = b[j++] as number;
  return out;
}

/** Index of the first element >= x in a sorted array (`searchsorted(side='left')`). */
export function searchLeft(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element > x in a sorted array (`searchsorted(side='right')`). */
export function searchRight(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function distinctCount(sorted: Float64Array): number {
  let count = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) count++;
  return count;
}

function countRuns(sorted: Float64Array, values: Float64Array, out: Float64Array): void {
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while ((values[j] as number) < (sorted[i] as number)) j++;
    out[j] = (out[j] as number) + 1;
  }
}

function ptp(sorted: Float64Array): number {
  return (sorted[sorted.length - 1] as number) - (sorted[0] as number);
}

/**
 * numpy `_get_bin_edges` for a string rule: n = ceil(range / width) bins (1 when the width is 0),
 * a constant sample widened to [x - 0.5, x + 0.5], edges from `numpy.linspace`.
 */
function equalWidthEdges(min: number, max: number, width: number): number[] {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const nBins = width ? Math.ceil((last - first) / width) : 1;
  const step = (last - first) / nBins;
  const edges = new Array<number>(nBins + 1);
  for (let i = 0; i < nBins; i++)
    edges[i] = step === 0 ? (i / nBins) * (last - first) + first : i * step + first;
  edges[nBins] = last;
  return edges;
}

/** Edges computed on values scaled by 2^k, back in the values' scale (exact end points). */
function unscaleEdges(edges: number[], k: number, first: number, last: number): number[] {
  if (k === 0) return edges;
  const out = edges.map((e) => ldexp(e, -k));
  out[0] = first;
  out[out.length - 1] = last;
  return out;
}

function dropEmpty(rc: readonly number[], cc: readonly number[]): BinnedCounts {
  const keep: number[] = [];
  for (let i = 0; i < rc.length; i++) if ((rc[i] as number) + (cc[i] as number) > 0) keep.push(i);
  return {
    reference: Float64Array.from(keep, (i) => rc[i] as number),
    current: Float64Array.from(keep, (i) => cc[i] as number),
  };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

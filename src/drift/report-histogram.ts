/**
 * @module
 * Compact pictures of a tested column for drift reports: the reference and current counts on
 * shared bins (numerical) or of the most frequent labels (categorical). Bounded in size, so a
 * stored report can be drawn months later without the data (`keel/report`).
 */
import { searchLeft } from './binning.js';
import type { NumericColumnProfile } from './profile.js';
import type { CategoricalSample, NumericSample, Sample } from './sample.js';
import { QuantileSketch } from './sketch.js';

/** Most bins of a numerical column's histogram in a drift report. */
export const HISTOGRAM_MAX_BINS = 30;
/** Most labels of a categorical column's histogram in a drift report (the rest are `other`). */
export const HISTOGRAM_MAX_CATEGORIES = 20;
/** Longest label kept, in UTF-16 code units (longer labels are cut and end with `…`). */
export const HISTOGRAM_MAX_LABEL = 80;

/** Reference and current counts of a numerical column on the same equal-width bins. */
export interface NumericDriftHistogram {
  /** Tells the two histogram shapes apart: this one has `edges`. */
  type: 'numerical';
  /** Ascending bin edges over both samples (`counts + 1` of them, at most 31). */
  edges: number[];
  /** Reference values per bin (estimated from the sketch for a sketch profile). */
  reference: number[];
  /** Current values per bin. */
  current: number[];
}

/** Reference and current counts of the most frequent labels of a categorical column. */
export interface CategoricalDriftHistogram {
  /** Tells the two histogram shapes apart: this one has `labels`. */
  type: 'categorical';
  /** At most 20 labels, most frequent first (by reference share plus current share). */
  labels: string[];
  /** Reference count per label. */
  reference: number[];
  /** Current count per label. */
  current: number[];
  /** Counts of every other label, when some were left out. */
  other?: {
    /** Reference values whose label is not in `labels`. */
    reference: number;
    /** Current values whose label is not in `labels`. */
    current: number;
  };
}

/** A tested column's distributions, for drawing (see docs/reports.md for the size bound). */
export type DriftHistogram = NumericDriftHistogram | CategoricalDriftHistogram;

/**
 * The histogram of a tested column. `reference` is the prepared reference sample or, for a
 * sketch profile column, the profile column itself; `otherLabel` is a label that stands for
 * "every other label" in a truncated categorical profile and is counted in `other`.
 */
export function driftHistogram(
  reference: Sample | NumericColumnProfile,
  current: Sample,
  otherLabel?: string,
): DriftHistogram {
  if (current.kind === 'categorical') {
    return categoricalHistogram(reference as CategoricalSample, current, otherLabel);
  }
  const cur = current.sorted;
  const profiled = 'kind' in reference ? undefined : reference;
  const refSorted = profiled ? profiled.values : (reference as NumericSample).sorted;
  const domain = smallDomain(refSorted ?? profiled?.domain, cur);
  if (domain) return discreteHistogram(domain, refSorted, reference, cur);
  const ref = refSorted
    ? sortedCounter(refSorted)
    : profileCounter(reference as NumericColumnProfile);
  let lo = Math.min(ref.min, cur[0]!);
  let hi = Math.max(ref.max, cur[cur.length - 1]!);
  let bins = Math.min(HISTOGRAM_MAX_BINS, Math.ceil(Math.log2(Math.max(ref.n, cur.length))) + 1);
  if (lo === hi) {
    // numpy's rule for a single value: one bin of width 1 around it
    lo -= 0.5;
    hi += 0.5;
    bins = 1;
  }
  const edges: number[] = [];
  const width = (hi - lo) / bins;
  // Edges as lo + i * width can overflow for extreme ranges; interpolate instead.
  for (let i = 0; i < bins; i++)
    edges.push(Number.isFinite(width) ? lo + i * width : lerp(lo, hi, i / bins));
  edges.push(hi);
  const curCounter = sortedCounter(cur);
  return {
    type: 'numerical',
    edges,
    reference: binCounts(ref, edges),
    current: binCounts(curCounter, edges),
  };
}

/**
 * A numerical column with few distinct values (codes, counts, flags) reads better as bar
 * pairs, one per value, than as bins: the distinct values of both samples when there are at
 * most this many.
 */
const DISCRETE_MAX_VALUES = 12;

function smallDomain(
  reference: ArrayLike<number> | undefined,
  current: Float64Array,
): number[] | undefined {
  if (!reference) return undefined;
  const seen = new Set<number>();
  for (const sorted of [reference, current]) {
    for (let i = 0; i < sorted.length; i++) {
      if (i > 0 && sorted[i] === sorted[i - 1]) continue;
      seen.add(sorted[i]!);
      if (seen.size > DISCRETE_MAX_VALUES) return undefined;
    }
  }
  return [...seen].sort((a, b) => a - b);
}

function discreteHistogram(
  domain: readonly number[],
  refSorted: ArrayLike<number> | undefined,
  reference: Sample | NumericColumnProfile,
  cur: Float64Array,
): CategoricalDriftHistogram {
  // refSorted is only absent for a sketch profile whose stored domain stands in for it
  const ref = refSorted
    ? sortedCounter(refSorted)
    : profileCounter(reference as NumericColumnProfile);
  const curCounter = sortedCounter(cur);
  const countOf = (c: Counter, v: number, next: number | undefined): number =>
    (next === undefined ? c.n : c.below(next)) - c.below(v);
  return {
    type: 'categorical',
    labels: domain.map(String),
    reference: domain.map((v, i) => countOf(ref, v, domain[i + 1])),
    current: domain.map((v, i) => countOf(curCounter, v, domain[i + 1])),
  };
}

/** Counts values below a bound, over exact values or a sketch. */
interface Counter {
  n: number;
  min: number;
  max: number;
  /** Number of values strictly below `x`. */
  below(x: number): number;
}

function sortedCounter(sorted: ArrayLike<number>): Counter {
  return {
    n: sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    below: (x) => searchLeft(sorted, x),
  };
}

function profileCounter(column: NumericColumnProfile): Counter {
  if (column.values) return sortedCounter(column.values);
  const { values, cumulative } = QuantileSketch.fromJSON(column.sketch).weightedItems();
  return {
    n: column.count,
    min: column.min,
    max: column.max,
    below(x) {
      const i = searchLeft(values, x);
      return i === 0 ? 0 : cumulative[i - 1]!;
    },
  };
}

/** numpy.histogram counts: half-open bins, the last one closed. */
function binCounts(counter: Counter, edges: readonly number[]): number[] {
  const counts: number[] = [];
  const last = edges.length - 2;
  for (let i = 0; i <= last; i++) {
    const upper = i === last ? counter.n : counter.below(edges[i + 1]!);
    counts.push(upper - counter.below(edges[i]!));
  }
  return counts;
}

function categoricalHistogram(
  reference: CategoricalSample,
  current: CategoricalSample,
  otherLabel: string | undefined,
): CategoricalDriftHistogram {
  const share = (label: string): number =>
    (reference.counts.get(label) ?? 0) / reference.size +
    (current.counts.get(label) ?? 0) / current.size;
  // Top labels by combined share in one pass (K is small): a sorted list of at most K.
  const top: { label: string; score: number }[] = [];
  const consider = (label: string): void => {
    if (label === otherLabel) return;
    const score = share(label);
    if (top.length === HISTOGRAM_MAX_CATEGORIES && !ranksBefore(score, label, top.at(-1)!)) {
      return;
    }
    let i = top.length;
    while (i > 0 && ranksBefore(score, label, top[i - 1]!)) i--;
    top.splice(i, 0, { label, score });
    if (top.length > HISTOGRAM_MAX_CATEGORIES) top.pop();
  };
  for (const label of reference.counts.keys()) consider(label);
  for (const label of current.counts.keys()) if (!reference.counts.has(label)) consider(label);

  const labels = top.map((t) => t.label);
  const ref = labels.map((label) => reference.counts.get(label) ?? 0);
  const cur = labels.map((label) => current.counts.get(label) ?? 0);
  const histogram: CategoricalDriftHistogram = {
    type: 'categorical',
    labels: labels.map(shorten),
    reference: ref,
    current: cur,
  };
  const otherRef = reference.size - sum(ref);
  const otherCur = current.size - sum(cur);
  if (otherRef > 0 || otherCur > 0) histogram.other = { reference: otherRef, current: otherCur };
  return histogram;
}

function ranksBefore(score: number, label: string, other: { label: string; score: number }) {
  return score > other.score || (score === other.score && label < other.label);
}

function shorten(label: string): string {
  if (label.length <= HISTOGRAM_MAX_LABEL) return label;
  let end = HISTOGRAM_MAX_LABEL - 1;
  // never cut a surrogate pair in two
  const code = label.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${label.slice(0, end)}…`;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function lerp(lo: number, hi: number, t: number): number {
  return lo * (1 - t) + hi * t;
}

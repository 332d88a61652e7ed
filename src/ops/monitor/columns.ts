/**
 * @module
 * What the calibrated monitor knows about each reference column, computed once at creation:
 * the bins (runs of the gaps between sorted reference values for numbers, ties broken at
 * random; one bin per label, plus one for labels the reference never had), the Dirichlet
 * parameters of the bins' null law, the scores of the location and scale tests, and the tests
 * with their share of the false-alarm budget. reference-steps.ts reads a reference into these.
 */
import { type ScoreSums, scoreSums } from '../../drift/distributions/dirichlet-multinomial.js';
import { normalQuantile } from '../../drift/distributions/normal-quantile.js';
import type { CategoricalColumnProfile } from '../../drift/profile.js';
import { type BinGrid, binGrid } from './bin-grid.js';

/** Most bins of a numerical column: 64 equal-mass bins keep 99.6% of the location test's efficiency. */
export const MAX_BINS = 64;
/** Fewest non-missing reference values a column needs to be monitored. */
export const MIN_REFERENCE_VALUES = 10;
/** Labels seen fewer times than this in the reference are pooled into one `other` bin. */
export const RARE_LABEL_COUNT = 1;
/** The label of the pooled bin (rare labels, and labels the reference never had). */
export const OTHER_LABEL = '(other)';

/** One test of a column, with its share of the column's false-alarm budget. */
export type TestSpec =
  | {
      /** Normal scores (location) or squared normal scores (scale) of the bins. */
      readonly kind: 'location' | 'scale';
      /** Share of the column's budget. */
      readonly weight: number;
      /** The score of each bin. */
      readonly scores: Float64Array;
      /** The scores' sums for the statistic's null moments. */
      readonly sums: ScoreSums;
    }
  | {
      /** The share of one bin (a label, or `(other)`). */
      readonly kind: 'share';
      /** Share of the column's budget. */
      readonly weight: number;
      /** The bin. */
      readonly bin: number;
      /** The bin's label, for reports. */
      readonly label: string;
      /**
       * The beta law of the bin's probability when it is not the bin's Dirichlet marginal
       * (labels the reference never had: wider, see `unseenPrior`).
       */
      readonly prior?: {
        /** The beta law's first parameter (pseudo-counts in the bin). */
        readonly alpha: number;
        /** The beta law's second parameter (pseudo-counts elsewhere). */
        readonly beta: number;
      };
    }
  | {
      /** The share of missing or mistyped values. */
      readonly kind: 'missing';
      /** Share of the column's budget. */
      readonly weight: number;
    };

/**
 * Where the bins of a numerical column are cut among the n + 1 gaps between the sorted
 * reference values, and the tie block at each edge: a value equal to edge `i` falls in gap
 * `below[i] + U * (tied[i] + 1)` (U uniform in [0, 1), rounded down), and gap `g` is in bin
 * `#{i : cuts[i] <= g}`.
 */
export interface TieBreaks {
  /** Per edge: the first gap of the bin above it (increasing). */
  readonly cuts: Float64Array;
  /** Per edge: reference values below the edge's value. */
  readonly below: Float64Array;
  /** Per edge: reference values equal to the edge's value. */
  readonly tied: Float64Array;
}

/** A monitored column. */
export interface ColumnModel {
  /** The column's name. */
  readonly name: string;
  /** How its values are binned and tested. */
  readonly type: 'numerical' | 'categorical';
  /**
   * Numerical columns: bin edges, ascending (repeated when a tie block spans bins); a value goes
   * to the bin `#edges < value`, and a value equal to an edge to a bin drawn by `ties`.
   */
  readonly edges?: Float64Array;
  /** Numerical columns: how values equal to an edge are spread over the bins (random ties). */
  readonly ties?: TieBreaks;
  /** Numerical columns: the lookup grid that bins values (built with the model, in its step). */
  readonly grid?: BinGrid;
  /** Numbers used as labels (one or two values): value `values[b]` goes to bin b, others last. */
  readonly values?: Float64Array;
  /** Categorical columns: label to bin; labels absent here go to the last bin (`other`). */
  readonly index?: ReadonlyMap<string, number>;
  /** One label per bin, for reports. */
  readonly labels: readonly string[];
  /** The Dirichlet parameters of the bins' probabilities under "no drift". */
  readonly a: Float64Array;
  /** The sum of `a`. */
  readonly total: number;
  /** Reference values per bin (for effect sizes). */
  readonly reference: Float64Array;
  /** Numerical columns: a representative value per bin (the mean of its reference values). */
  readonly centers?: Float64Array;
  /** Numerical columns: the reference's standard deviation (ddof 0, at least 0.001). */
  readonly std?: number;
  /** Reference counts of missing and present values. */
  readonly missing: {
    /** Missing values in the reference. */
    readonly missing: number;
    /** Present values in the reference. */
    readonly present: number;
  };
  /** The column's tests. */
  readonly tests: readonly TestSpec[];
}

/** A reference column that cannot be monitored, and why. */
export interface UnusableColumn {
  /** Why, as a code. */
  reason: 'empty' | 'mixed_types' | 'too_few_values';
  /** Why, in words, with what to do. */
  message: string;
}

/** The monitored columns of a reference, and the ones left out. */
export interface ColumnModels {
  /** The monitored columns. */
  columns: ColumnModel[];
  /** The columns left out, by name. */
  unusable: Record<string, UnusableColumn>;
}

/** Builds a numerical column model from its sorted finite values. */
export function numericModel(
  name: string,
  sorted: Float64Array,
  missing: number,
): ColumnModel | UnusableColumn {
  const steps = numericModelSteps(name, sorted, missing);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Values summed between two yields of {@link numericModelSteps}. */
const SUM_CHUNK = 4096;

/**
 * {@link numericModel} in steps: it yields every few thousand values summed, so that a large
 * reference column (read while the service runs) never holds the event loop for long, even
 * while the code is still interpreted.
 */
export function* numericModelSteps(
  name: string,
  sorted: Float64Array,
  missing: number,
): Generator<void, ColumnModel | UnusableColumn, void> {
  const n = sorted.length;
  if (n < MIN_REFERENCE_VALUES) return tooFew(name, n);
  const distinct = distinctSorted(sorted);
  if (distinct.length <= 2) {
    const counts = distinct.map((v) => countEqual(sorted, v));
    return labelModel(
      name,
      'numerical',
      distinct.map((v) => String(v)),
      counts,
      0,
      missing,
      distinct,
    );
  }
  // Bins are runs of the n + 1 gaps ("spacings") between the sorted reference values: under no
  // drift, the gaps' probabilities are Dirichlet(1, ..., 1) exactly, whatever the distribution,
  // once ties are broken at random (a value tied with reference values falls in one of the gaps
  // around them, uniformly; see docs/drift.md, "The calibrated monitor"). Discrete columns
  // (counts, ratings) are binned the same way: a tie block may span several bins.
  const bins = Math.min(MAX_BINS, Math.max(2, Math.floor(n / 4)));
  const cuts = new Float64Array(bins - 1);
  const edges = new Float64Array(bins - 1);
  const below = new Float64Array(bins - 1);
  const tied = new Float64Array(bins - 1);
  for (let j = 1; j < bins; j++) {
    const s = Math.round((j * (n + 1)) / bins);
    cuts[j - 1] = s;
    const v = sorted[s - 1]!;
    edges[j - 1] = v;
    below[j - 1] = lowerBound(sorted, v);
    tied[j - 1] = upperBound(sorted, v) - below[j - 1]!;
  }
  const a = new Float64Array(bins);
  let previous = 0;
  for (let b = 0; b < bins; b++) {
    const next = b < bins - 1 ? cuts[b]! : n + 1;
    a[b] = next - previous;
    previous = next;
  }
  const centers = new Float64Array(bins);
  let start = 0;
  for (let b = 0; b < bins; b++) {
    // The reference values bounding the bin's gaps: positions cuts[b-1]-1 .. cuts[b]-1.
    const end = b < bins - 1 ? cuts[b]! : n;
    const from = Math.max(0, start - 1);
    let total = 0;
    for (let i = from; i < end; i++) {
      total += sorted[i]!;
      if (i % SUM_CHUNK === 0) yield;
    }
    centers[b] = total / Math.max(1, end - from);
    start = end;
  }
  // The standard deviation (ddof 0, at least 0.001), in two passes as before.
  let mean = 0;
  for (let i = 0; i < n; i++) {
    mean += sorted[i]!;
    if (i % SUM_CHUNK === 0) yield;
  }
  mean /= n;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    m2 += (sorted[i]! - mean) ** 2;
    if (i % SUM_CHUNK === 0) yield;
  }
  const std = Math.max(Math.sqrt(m2 / n), 0.001);
  return orderedModel(
    name,
    { edges, cuts, below, tied },
    a,
    edgeLabels(edges),
    centers,
    std,
    missing,
    n,
  );
}

/** Builds a categorical column model from label counts. */
export function categoricalModel(
  name: string,
  counts: ReadonlyMap<string, number>,
  missing: number,
): ColumnModel | UnusableColumn {
  let n = 0;
  for (const c of counts.values()) n += c;
  if (n < MIN_REFERENCE_VALUES) return tooFew(name, n);
  const kept = [...counts.entries()]
    .filter(([, c]) => c >= RARE_LABEL_COUNT)
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, MAX_BINS - 1);
  const keptSet = new Set(kept.map(([l]) => l));
  let other = 0;
  const seen = { once: 0, twice: 0 };
  for (const [label, c] of counts) {
    if (!keptSet.has(label)) other += c;
    if (c === 1) seen.once++;
    else if (c === 2) seen.twice++;
  }
  return labelModel(
    name,
    'categorical',
    kept.map(([l]) => l),
    kept.map(([, c]) => c),
    other,
    missing,
    undefined,
    seen,
  );
}

/** Builds a categorical column model from a profile's label counts and pooled count. */
export function categoricalProfileModel(
  name: string,
  column: CategoricalColumnProfile,
): ColumnModel | UnusableColumn {
  const counts = new Map(column.categories);
  // Labels the profile pooled are unknown by name: they reach the `other` bin with their count.
  const model = categoricalModel(name, counts, column.missing);
  if ('reason' in model || column.other === 0) return model;
  const a = Float64Array.from(model.a);
  const reference = Float64Array.from(model.reference);
  a[a.length - 1]! += column.other;
  reference[reference.length - 1]! += column.other;
  return { ...model, a, total: sum(a), reference };
}

function labelModel(
  name: string,
  type: 'numerical' | 'categorical',
  labels: string[],
  counts: number[],
  other: number,
  missing: number,
  values?: number[],
  seen = { once: 0, twice: 0 },
): ColumnModel {
  const k = labels.length;
  const a = new Float64Array(k + 1);
  const reference = new Float64Array(k + 1);
  for (let b = 0; b < k; b++) {
    a[b] = counts[b]! + 0.5;
    reference[b] = counts[b]!;
  }
  // Labels the reference never saw: Good-Turing puts their share at (labels seen once) / n, so
  // that many pseudo-counts (at least Jeffreys' 0.5) weigh the pooled bin.
  a[k] = other + Math.max(0.5, seen.once);
  reference[k] = other;
  const allLabels = [...labels, OTHER_LABEL];
  // The largest label's share follows from the others: it needs no test of its own.
  let largest = 0;
  for (let b = 1; b < k; b++) if (counts[b]! > counts[largest]!) largest = b;
  const main = labels.map((_, b) => b).filter((b) => b !== largest);
  const tests: TestSpec[] = [];
  // Budget: 90% to the shares of known labels, 10% to unexpected values (other, missing).
  const unexpected = main.length === 0 ? 1 : 0.1;
  for (const bin of main) {
    tests.push({ kind: 'share', weight: (1 - unexpected) / main.length, bin, label: labels[bin]! });
  }
  tests.push({
    kind: 'share',
    weight: unexpected / 2,
    bin: k,
    label: OTHER_LABEL,
    ...unseenPrior(a, k, other, counts, seen),
  });
  tests.push({ kind: 'missing', weight: unexpected / 2 });
  const index = new Map<string, number>(labels.map((l, b) => [l, b]));
  const present = counts.reduce((s, c) => s + c, 0) + other;
  return {
    name,
    type,
    ...(values ? { values: Float64Array.from(values) } : { index }),
    labels: allLabels,
    a,
    total: sum(a),
    reference,
    missing: { missing, present },
    tests,
  };
}

/**
 * The law of the share of labels the reference never had. Good-Turing's estimate (labels seen
 * once over n) is far noisier than a beta with that many pseudo-counts when the reference is
 * small against the number of labels (50 labels, 200 rows: a few labels unseen, a few seen
 * once, by chance): Esty's variance (N1 + 2 N2 - N1^2 / n) / n^2 sets a wider beta with the
 * same mean, so that the unseen share's own noise does not page.
 */
function unseenPrior(
  a: Float64Array,
  k: number,
  other: number,
  counts: number[],
  seen: { once: number; twice: number },
): { prior?: { alpha: number; beta: number } } {
  if (other > 0 || seen.once + seen.twice === 0) return {};
  const n = counts.reduce((s, c) => s + c, 0);
  const total = sum(a);
  const p = a[k]! / total;
  const variance = (seen.once + 2 * seen.twice - (seen.once * seen.once) / n) / (n * n);
  const concentration = (p * (1 - p)) / variance - 1;
  if (!(concentration > 0) || concentration >= total) return {};
  return { prior: { alpha: p * concentration, beta: (1 - p) * concentration } };
}

function orderedModel(
  name: string,
  cut: { edges: Float64Array } & TieBreaks,
  a: Float64Array,
  labels: string[],
  centers: Float64Array,
  std: number,
  missing: number,
  present: number,
): ColumnModel {
  const location = new Float64Array(a.length);
  const scale = new Float64Array(a.length);
  let total = 0;
  for (let b = 0; b < a.length; b++) total += a[b]!;
  let lo = 0;
  for (let b = 0; b < a.length; b++) {
    const hi = Math.min(1, lo + a[b]! / total);
    // Expected normal scores of the bin's quantile interval: E[Z | Z in bin] for the
    // location test (van der Waerden), E[Z^2 | Z in bin] for the scale test (Klotz).
    const zl = normalQuantile(lo);
    const zh = normalQuantile(hi);
    const width = Math.max(hi - lo, 1e-300);
    const pl = density(zl);
    const ph = density(zh);
    location[b] = (pl - ph) / width;
    scale[b] = 1 + (times(zl, pl) - times(zh, ph)) / width;
    lo = hi;
  }
  const { edges, ...ties } = cut;
  return {
    name,
    type: 'numerical',
    edges,
    ties,
    grid: binGrid(edges),
    labels,
    a,
    total: sum(a),
    reference: Float64Array.from(a),
    centers,
    std,
    missing: { missing, present },
    tests: [
      { kind: 'location', weight: 0.45, scores: location, sums: scoreSums(a, location) },
      { kind: 'scale', weight: 0.45, scores: scale, sums: scoreSums(a, scale) },
      { kind: 'missing', weight: 0.1 },
    ],
  };
}

/**
 * A numerical model built from a sample of `model.missing.present` values, with its Dirichlet
 * parameters `a` standing for `count` reference values (and `missing` missing ones).
 */
export function rescaledModel(
  model: ColumnModel,
  a: Float64Array,
  count: number,
  missing: number,
): ColumnModel {
  const factor = count / model.missing.present;
  const tests = model.tests.map((t) =>
    t.kind === 'location' || t.kind === 'scale' ? { ...t, sums: scoreSums(a, t.scores) } : t,
  );
  return {
    ...model,
    a,
    total: sum(a),
    reference: model.reference.map((x) => x * factor),
    missing: { missing, present: count },
    tests,
  };
}

function sum(values: Float64Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

/** The reason a column with only missing values is not monitored. */
export function emptyColumn(name: string): UnusableColumn {
  return {
    reason: 'empty',
    message: `column "${name}" has no value in the reference (all missing)`,
  };
}

function tooFew(name: string, n: number): UnusableColumn {
  return {
    reason: 'too_few_values',
    message: `column "${name}" has ${n} non-missing reference values; the monitor needs at least ${MIN_REFERENCE_VALUES}`,
  };
}

function density(z: number): number {
  return Number.isFinite(z) ? Math.exp(-(z * z) / 2) / Math.sqrt(2 * Math.PI) : 0;
}

function times(z: number, pz: number): number {
  return Number.isFinite(z) ? z * pz : 0;
}

function distinctSorted(sorted: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < sorted.length && out.length <= MAX_BINS; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]!);
  }
  return out;
}

function countEqual(sorted: Float64Array, v: number): number {
  return upperBound(sorted, v) - lowerBound(sorted, v);
}

function edgeLabels(edges: Float64Array): string[] {
  const fmt = (x: number): string => String(Number(x.toPrecision(4)));
  const labels = [`<= ${fmt(edges[0]!)}`];
  for (let j = 1; j < edges.length; j++) {
    const lo = edges[j - 1]!;
    const hi = edges[j]!;
    labels.push(lo === hi ? `= ${fmt(hi)} (part)` : `(${fmt(lo)}, ${fmt(hi)}]`);
  }
  labels.push(`> ${fmt(edges[edges.length - 1]!)}`);
  return labels;
}

function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * @module
 * Reference profiles: a JSON-serializable, versioned, mergeable summary of a table, so that
 * drift can be computed later without the raw data (`profile`, `mergeProfiles`,
 * `parseProfile`). Exact below `exactUpTo` values per column, a quantile sketch above.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { describeValue, parseWith, readProperty } from '../core/validate.js';
import { doaneHistogram } from './binning.js';
import { mean as numpyMean, variance as numpyVariance } from './distributions/summation.js';
import { categoricalSample, numericSample } from './sample.js';
import { DEFAULT_SKETCH_K, QuantileSketch, type QuantileSketchJson } from './sketch.js';
import { type ColumnType, inferColumnType, type Table, tableColumns } from './table.js';

/** The profile format's identifier. */
export const PROFILE_FORMAT = 'keel.profile';
/** The profile format's version; `parseProfile` refuses others. */
export const PROFILE_VERSION = 1;

/** A Doane histogram: bin edges (ascending) and the count of values in each bin. */
export interface ProfileHistogram {
  /** Bin edges as `numpy.histogram_bin_edges(values, bins='doane')`. */
  edges: number[];
  /** Values per bin, half-open bins, the last one closed (numpy semantics). */
  counts: number[];
}

/** The profile of a numerical column. */
export interface NumericColumnProfile {
  /** Selects this column kind. */
  type: 'numerical';
  /** Number of finite values. */
  count: number;
  /** Values removed: null, undefined, NaN and infinities. */
  missing: number;
  /** Mean of the non-missing values. */
  mean: number;
  /** Sum of squared deviations from the mean (variance = m2 / count). */
  m2: number;
  /** Sum of cubed deviations from the mean (for the skewness of merged profiles). */
  m3: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** The values, sorted ascending, while `count <= exactUpTo`. */
  values?: number[];
  /** A quantile sketch of the values once `count > exactUpTo`. */
  sketch?: QuantileSketchJson;
  /** Doane bins of the values (exact, or estimated from the sketch after a merge). */
  histogram: ProfileHistogram;
  /** The distinct values, sorted, when there are at most 16 of them. */
  domain?: number[];
}

/** The profile of a categorical column. */
export interface CategoricalColumnProfile {
  /** Selects this column kind. */
  type: 'categorical';
  /** Number of non-missing values. */
  count: number;
  /** Values removed: null, undefined, NaN. */
  missing: number;
  /** `[label, count]` of the most frequent `maxCategories` labels, in first-seen order. */
  categories: [string, number][];
  /** Number of values whose label is not in `categories`. */
  other: number;
  /** Number of distinct labels counted in `other` (a lower bound after merges). */
  otherCategories: number;
}

/** The profile of a column without any non-missing value. */
export interface EmptyColumnProfile {
  /** Selects this column kind: no value present. */
  type: 'empty';
  /** Always 0. */
  count: 0;
  /** Rows whose value was missing. */
  missing: number;
}

/** The profile of one column. */
export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile | EmptyColumnProfile;

/** Options of {@link profile}. */
export interface ProfileOptions {
  /** Keep the sorted values while a column has at most this many (default 100000). */
  exactUpTo?: number;
  /** Keep the counts of at most this many labels per categorical column (default 1000). */
  maxCategories?: number;
  /** Compactor capacity of the quantile sketches (default 1024; see `QuantileSketch`). */
  sketchK?: number;
  /** Force a column's type instead of inferring it (e.g. integer codes as categories). */
  types?: Record<string, ColumnType>;
}

/** A reference profile. Plain JSON data: store it anywhere, `parseProfile` it back. */
export interface Profile {
  /** Identifies a keel profile document. */
  format: typeof PROFILE_FORMAT;
  /** The profile format's version. */
  version: typeof PROFILE_VERSION;
  /** Number of rows profiled. */
  rows: number;
  /** The options the profile was built with (merges keep them). */
  options: {
    /** Values kept exactly per numeric column before a sketch takes over. */
    exactUpTo: number;
    /** Labels kept per categorical column; the rest count as `other`. */
    maxCategories: number;
    /** The quantile sketch's accuracy parameter. */
    sketchK: number;
  };
  /** One profile per column. */
  columns: Record<string, ColumnProfile>;
}

/**
 * Profiles a table: per numerical column the sorted values (or a quantile sketch beyond
 * `exactUpTo`), count, mean, M2, M3, min, max, missing count and Doane histogram; per
 * categorical column the label counts (the `maxCategories` most frequent, plus `other`).
 *
 * @throws {ValidationError} on a malformed table, bad options, or a column mixing numbers and
 *   labels (force its type with `types`).
 *
 * @example
 * ```ts
 * const ref = profile(trainingRows);
 * await store.put(key, JSON.parse(JSON.stringify(ref)));
 * detectDrift(parseProfile(stored), todayRows);
 * ```
 */
export function profile(table: Table, opts: ProfileOptions = {}): Profile {
  const o = parseWith(optionsSchema, opts, 'profile options');
  const t = tableColumns(table, 'table to profile');
  const columns: Record<string, ColumnProfile> = {};
  for (const name of t.names) {
    const values = t.column(name);
    const forced = o.types && Object.hasOwn(o.types, name) ? o.types[name] : undefined;
    const info = inferColumnType(values);
    const what = `column "${name}"`;
    if (info.type === 'empty') {
      columns[name] = { type: 'empty', count: 0, missing: values.length };
    } else if (forced === 'categorical' || (!forced && info.type === 'categorical')) {
      columns[name] = categoricalProfile(values, what, o.maxCategories);
    } else if (info.type === 'mixed' && !forced) {
      throw new ValidationError(
        `[keel] cannot profile ${what}: mixed types (${info.detail}); clean the column or ` +
          'force its type with options.types',
        { details: { column: name, index: info.index } },
      );
    } else {
      const sample = sampleOrEmpty(values, what);
      columns[name] = sample
        ? numericProfile(sample.sorted, sample.missing, o.exactUpTo, o.sketchK, what)
        : { type: 'empty', count: 0, missing: values.length };
    }
  }
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    rows: t.rows,
    options: { exactUpTo: o.exactUpTo, maxCategories: o.maxCategories, sketchK: o.sketchK },
    columns,
  };
}

/**
 * Merges two profiles of the same schema, as if the two tables had been profiled together:
 * counts add, means and M2/M3 combine with Chan's parallel rule, exact values stay exact while
 * the merged column has at most `exactUpTo` values (then the sorted values equal those of the
 * whole), and sketches merge within their error bound. The result keeps `a`'s options.
 *
 * A column present in only one profile counts as missing in every row of the other.
 *
 * @throws {ValidationError} when a column is numerical in one profile and categorical in the
 *   other, or the sketches were built with different `sketchK`.
 */
export function mergeProfiles(a: Profile, b: Profile): Profile {
  const pa = parseProfile(a);
  const pb = parseProfile(b);
  const options = pa.options;
  const names = [...Object.keys(pa.columns)];
  for (const name of Object.keys(pb.columns))
    if (!Object.hasOwn(pa.columns, name)) names.push(name);
  const columns: Record<string, ColumnProfile> = {};
  for (const name of names) {
    const ca = pa.columns[name] ?? emptyColumn(pa.rows);
    const cb = pb.columns[name] ?? emptyColumn(pb.rows);
    columns[name] = mergeColumn(name, ca, cb, options, pb.options.sketchK);
  }
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    rows: pa.rows + pb.rows,
    options: { ...options },
    columns,
  };
}

/**
 * True when `value` looks like a keel profile (any version): a quick check, not validation.
 *
 * Never throws.
 */
export function isProfile(value: unknown): value is Profile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  try {
    return (value as { format?: unknown }).format === PROFILE_FORMAT;
  } catch {
    // a proxy or getter that throws is not a profile
    return false;
  }
}

/**
 * Validates a profile read back from storage (for example after `JSON.parse`).
 *
 * @throws {ValidationError} when the value is not a profile of a supported version, or is
 *   internally inconsistent (counts that do not add up, unsorted values).
 */
export function parseProfile(value: unknown): Profile {
  if (isProfile(value) && (value as { version?: unknown }).version !== PROFILE_VERSION) {
    throw new ValidationError(
      `[keel] unsupported profile version ${String((value as { version?: unknown }).version)}: ` +
        `this keel reads version ${PROFILE_VERSION}; rebuild the profile with profile()`,
    );
  }
  const parsed = parseWith(profileSchema, value, 'profile') as Profile;
  for (const [name, column] of Object.entries(parsed.columns)) checkColumn(name, column);
  return parsed;
}

/**
 * The sketch of a numerical column profile: its stored sketch, or one built from its exact
 * values.
 *
 * @throws {ValidationError} when `column` is not a numerical column profile, its stored sketch is
 *   malformed, or `k` is not an even integer in [8, 65536].
 */
export function columnSketch(column: NumericColumnProfile, k: number): QuantileSketch {
  if (typeof column !== 'object' || column === null || Array.isArray(column)) {
    throw new ValidationError(
      `[keel] invalid column profile for columnSketch: expected a numerical column of a profile, got ${describeValue(column)}`,
    );
  }
  if (readProperty(column, 'sketch', 'column profile'))
    return QuantileSketch.fromJSON(column.sketch);
  return new QuantileSketch({ k }).updateMany(column.values ?? []);
}

const optionsSchema = z
  .object({
    exactUpTo: z.number().int().min(0).default(100_000),
    maxCategories: z.number().int().min(1).default(1000),
    sketchK: z
      .number()
      .int()
      .min(8)
      .max(65536)
      .refine((k) => k % 2 === 0, 'must be even')
      .default(DEFAULT_SKETCH_K),
    types: z.record(z.string(), z.enum(['numerical', 'categorical'])).optional(),
  })
  .strict();

const finite = z.number().finite();
const count = z.number().int().min(0);

const histogramSchema = z.object({ edges: z.array(finite), counts: z.array(count) });

const numericSchema = z.object({
  type: z.literal('numerical'),
  count: count.min(1),
  missing: count,
  mean: finite,
  m2: finite.min(0),
  m3: finite,
  min: finite,
  max: finite,
  // Key order as profile() writes them, so a parsed profile serialises to the same text.
  histogram: histogramSchema,
  values: z.array(finite).optional(),
  sketch: z.custom<QuantileSketchJson>((v) => typeof v === 'object' && v !== null).optional(),
  domain: z.array(finite).max(16).optional(),
});

const categoricalSchema = z.object({
  type: z.literal('categorical'),
  count: count.min(1),
  missing: count,
  categories: z.array(z.tuple([z.string(), count.min(1)])),
  other: count,
  otherCategories: count,
});

const emptySchema = z.object({ type: z.literal('empty'), count: z.literal(0), missing: count });

const profileSchema = z.object({
  format: z.literal(PROFILE_FORMAT),
  version: z.literal(PROFILE_VERSION),
  rows: count,
  options: z.object({
    exactUpTo: count,
    maxCategories: count.min(1),
    sketchK: z.number().int().min(8).max(65536),
  }),
  columns: z.record(
    z.string(),
    z.discriminatedUnion('type', [numericSchema, categoricalSchema, emptySchema]),
  ),
});

function checkColumn(name: string, column: ColumnProfile): void {
  const fail = (why: string): never => {
    throw new ValidationError(
      `[keel] invalid profile: column "${name}" ${why}; pass a profile produced by profile()`,
      { details: { column: name } },
    );
  };
  if (column.type === 'numerical') {
    if ((column.values === undefined) === (column.sketch === undefined)) {
      fail('must have exactly one of values and sketch');
    }
    if (column.values) {
      if (column.values.length !== column.count) fail('has values that do not match its count');
      for (let i = 1; i < column.values.length; i++) {
        if (column.values[i]! < column.values[i - 1]!) fail('has unsorted values');
      }
    }
    if (column.sketch) {
      const sketch = QuantileSketch.fromJSON(column.sketch);
      if (sketch.n !== column.count) fail('has a sketch that does not match its count');
    }
    if (column.histogram.counts.length + 1 !== column.histogram.edges.length) {
      fail('has a histogram whose counts do not match its edges');
    }
  } else if (column.type === 'categorical') {
    const sum = column.categories.reduce((s, [, c]) => s + c, 0) + column.other;
    if (sum !== column.count) fail('has category counts that do not add up to its count');
    if (new Set(column.categories.map(([label]) => label)).size !== column.categories.length) {
      fail('repeats a category');
    }
  }
}

function sampleOrEmpty(values: ArrayLike<unknown>, what: string) {
  // Infinities only (no finite value) leave nothing to profile: an empty column, not an error.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) return numericSample(values, what);
  }
  return undefined;
}

function numericProfile(
  sorted: Float64Array,
  missing: number,
  exactUpTo: number,
  sketchK: number,
  what: string,
): NumericColumnProfile {
  const n = sorted.length;
  const values = normalizeZeros(sorted);
  const mean = numpyMean(values);
  const m2 = numpyVariance(values, 0, mean) * n;
  let m3 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    m3 += d * d * d;
  }
  const column: NumericColumnProfile = {
    type: 'numerical',
    count: n,
    missing,
    mean,
    m2,
    m3,
    min: values[0]!,
    max: values[n - 1]!,
    histogram: { edges: [], counts: [] },
  };
  assertFiniteMoments(column, what);
  column.histogram = exactHistogram(values);
  if (n <= exactUpTo) column.values = Array.from(values);
  else column.sketch = new QuantileSketch({ k: sketchK }).updateMany(values).toJSON();
  const domain = smallDomain(values);
  if (domain) column.domain = domain;
  return column;
}

function categoricalProfile(
  values: ArrayLike<unknown>,
  what: string,
  maxCategories: number,
): CategoricalColumnProfile {
  const sample = categoricalSample(values, what);
  return topCategories([...sample.counts], sample.size, sample.missing, 0, 0, maxCategories);
}

/** Keeps the `max` most frequent labels (ties: first seen), in first-seen order. */
function topCategories(
  entries: [string, number][],
  count: number,
  missing: number,
  other: number,
  otherCategories: number,
  max: number,
): CategoricalColumnProfile {
  let kept = entries;
  if (entries.length > max) {
    const order = entries.map((_, i) => i).sort((x, y) => entries[y]![1] - entries[x]![1] || x - y);
    const keep = new Set(order.slice(0, max));
    kept = entries.filter((_, i) => keep.has(i));
    for (let i = 0; i < entries.length; i++) {
      if (!keep.has(i)) {
        other += entries[i]![1];
        otherCategories += 1;
      }
    }
  }
  return { type: 'categorical', count, missing, categories: kept, other, otherCategories };
}

function emptyColumn(rows: number): EmptyColumnProfile {
  return { type: 'empty', count: 0, missing: rows };
}

function mergeColumn(
  name: string,
  a: ColumnProfile,
  b: ColumnProfile,
  options: Profile['options'],
  otherK: number,
): ColumnProfile {
  if (a.type === 'empty' && b.type === 'empty') {
    return { type: 'empty', count: 0, missing: a.missing + b.missing };
  }
  if (a.type === 'empty') return { ...copyColumn(b), missing: a.missing + b.missing };
  if (b.type === 'empty') return { ...copyColumn(a), missing: a.missing + b.missing };
  if (a.type !== b.type) {
    throw new ValidationError(
      `[keel] cannot merge profiles: column "${name}" is ${a.type} in one and ${b.type} in the ` +
        'other; profile both tables with the same options.types',
      { details: { column: name } },
    );
  }
  if (a.type === 'categorical' && b.type === 'categorical') {
    const counts = new Map<string, number>(a.categories);
    for (const [label, c] of b.categories) counts.set(label, (counts.get(label) ?? 0) + c);
    return topCategories(
      [...counts],
      a.count + b.count,
      a.missing + b.missing,
      a.other + b.other,
      Math.max(a.otherCategories, b.otherCategories),
      options.maxCategories,
    );
  }
  return mergeNumeric(name, a as NumericColumnProfile, b as NumericColumnProfile, options, otherK);
}

function mergeNumeric(
  name: string,
  a: NumericColumnProfile,
  b: NumericColumnProfile,
  options: Profile['options'],
  otherK: number,
): NumericColumnProfile {
  const n = a.count + b.count;
  // Chan, Golub & LeVeque (1979) for M2; Terriberry's extension for M3.
  const delta = b.mean - a.mean;
  const mean = a.mean + (delta * b.count) / n;
  const m2 = a.m2 + b.m2 + (delta * delta * a.count * b.count) / n;
  const m3 =
    a.m3 +
    b.m3 +
    (delta * delta * delta * a.count * b.count * (a.count - b.count)) / (n * n) +
    (3 * delta * (a.count * b.m2 - b.count * a.m2)) / n;
  const column: NumericColumnProfile = {
    type: 'numerical',
    count: n,
    missing: a.missing + b.missing,
    mean,
    m2,
    m3,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    histogram: { edges: [], counts: [] },
  };
  assertFiniteMoments(column, `column "${name}" of the merged profile`);
  if (a.values && b.values && n <= options.exactUpTo) {
    const values = mergeSorted(a.values, b.values);
    column.values = Array.from(values);
    column.histogram = exactHistogram(values);
  } else {
    if ((a.sketch || b.sketch) && options.sketchK !== otherK) {
      throw new ValidationError(
        `[keel] cannot merge profiles: their sketches use k = ${options.sketchK} and ${otherK}; ` +
          'profile both tables with the same sketchK',
      );
    }
    const sketch = columnSketch(a, options.sketchK).merge(columnSketch(b, options.sketchK));
    column.sketch = sketch.toJSON();
    column.histogram = sketchHistogram(sketch, n, m2, m3, column.min, column.max);
  }
  if (a.domain && b.domain) {
    const domain = [...new Set([...a.domain, ...b.domain])].sort((x, y) => x - y);
    if (domain.length <= 16) column.domain = domain;
  }
  return column;
}

/**
 * A profile keeps its moments as doubles: a column whose mean or sums of squared and cubed
 * deviations overflow is refused, never stored as null or NaN that a later test would reject.
 */
function assertFiniteMoments(column: NumericColumnProfile, what: string): void {
  if ([column.mean, column.m2, column.m3].every(Number.isFinite)) return;
  const magnitude = Math.max(Math.abs(column.min), Math.abs(column.max));
  throw new ValidationError(
    `[keel] cannot profile ${what}: its values (up to ${magnitude} in magnitude) overflow the ` +
      'moments a profile keeps (the mean and the sums of squared and cubed deviations); rescale ' +
      'the column (divide it by a power of ten) and profile it again',
    { details: { mean: column.mean, m2: column.m2, m3: column.m3, magnitude } },
  );
}

function copyColumn(column: ColumnProfile): ColumnProfile {
  return structuredClone(column);
}

function mergeSorted(a: readonly number[], b: readonly number[]): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** JSON has no negative zero: store 0 so that a profile round-trips unchanged. */
function normalizeZeros(sorted: Float64Array): Float64Array {
  let copy: Float64Array | undefined;
  for (let i = 0; i < sorted.length; i++) {
    if (Object.is(sorted[i], -0)) {
      copy ??= sorted.slice();
      copy[i] = 0;
    }
  }
  return copy ?? sorted;
}

function smallDomain(sorted: Float64Array): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      if (out.length === 16) return undefined;
      out.push(sorted[i]!);
    }
  }
  return out;
}

function exactHistogram(sorted: Float64Array): ProfileHistogram {
  return doaneHistogram(sorted);
}

/**
 * Doane bins for a merged sketch column: numpy's rule computed from the moments (its `g1` is
 * `(m3 / n) / (m2 / n)^1.5`), counts estimated from the sketch's ranks.
 */
function sketchHistogram(
  sketch: QuantileSketch,
  n: number,
  m2: number,
  m3: number,
  min: number,
  max: number,
): ProfileHistogram {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  let bins = 1;
  const sigma = Math.sqrt(m2 / n);
  if (n > 2 && sigma > 0) {
    const sg1 = Math.sqrt((6 * (n - 2)) / ((n + 1) * (n + 3)));
    const g1 = m3 / n / sigma ** 3;
    const width = (max - min) / (1 + Math.log2(n) + Math.log2(1 + Math.abs(g1) / sg1));
    if (width > 0) bins = Math.ceil((last - first) / width);
  }
  const edges: number[] = [];
  const step = (last - first) / bins;
  for (let i = 0; i < bins; i++) edges.push(first + i * step);
  edges.push(last);
  const { values, cumulative } = sketch.weightedItems();
  const below = (x: number): number => {
    // estimated number of values strictly below x
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : cumulative[lo - 1]!;
  };
  const counts: number[] = [];
  for (let i = 0; i < bins; i++) {
    counts.push((i === bins - 1 ? n : below(edges[i + 1]!)) - below(edges[i]!));
  }
  return { edges, counts };
}

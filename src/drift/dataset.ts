/**
 * @module
 * Dataset drift: `detectDrift(reference, current, opts)` runs one test per column (default
 * selection as Evidently's rule, or per-column overrides), applies the multiple-testing
 * correction and the dataset verdict, and reports columns it could not test instead of failing.
 */
import { z } from 'zod';
import { isKeelError, ValidationError } from '../core/errors.js';
import { assertArrayLike, parseWith } from '../core/validate.js';
import { referenceBinsFromHistogram } from './binning.js';
import {
  hellingerOf,
  jensenShannonOf,
  klOf,
  linfOf,
  proportions,
  psiOf,
  tvdOf,
} from './detectors/binned.js';
import { checkOutcome, type DetectorOutcome, type SampleSummary } from './detectors/common.js';
import { welchFromMoments } from './detectors/ttest.js';
import { detectors, type SampleDetector } from './detectors.js';
import { kolmogorovSmirnovSf } from './distributions/kolmogorov.js';
import { mean as numpyMean, variance as numpyVariance } from './distributions/summation.js';
import {
  type CategoricalColumnProfile,
  type ColumnProfile,
  isProfile,
  type NumericColumnProfile,
  type Profile,
  parseProfile,
} from './profile.js';
import { type DriftHistogram, driftHistogram } from './report-histogram.js';
import {
  type CategoricalSample,
  categoricalSample,
  type NumericSample,
  numericSample,
  type Sample,
} from './sample.js';
import { QuantileSketch } from './sketch.js';
import {
  type ColumnType,
  type ColumnTypeInfo,
  inferColumnType,
  type Table,
  tableColumns,
} from './table.js';
import type {
  DatasetDriftReport,
  DriftTestOptions,
  DriftTestResult,
  MissingCounts,
} from './types.js';

/** Per-column settings of {@link detectDrift}. */
export interface ColumnSpec {
  /** Force the column's type (e.g. integer codes tested as categories). */
  type?: ColumnType;
  /** The detector to use (a name in `detectors`), instead of the default selection. */
  method?: string;
  /** The detector's threshold, instead of its default or the global `threshold`. */
  threshold?: number;
  /** Binning of the binned distances (`reference`, default, or `evidently` parity). */
  binning?: 'reference' | 'evidently';
  /** Leave the column out. */
  skip?: boolean;
}

/** Options of {@link detectDrift}. */
export interface DetectDriftOptions {
  /** Per-column settings by column name. */
  columns?: Record<string, ColumnSpec>;
  /**
   * A detector for every column it supports (others keep the default selection), or one
   * detector per column name.
   */
  method?: string | Record<string, string>;
  /** Threshold for every column (each detector checks its range). */
  threshold?: number;
  /** Multiple-testing correction of p-value tests. Default `none`. */
  correction?: 'none' | 'bonferroni' | 'bh';
  /** With `correction: 'none'`, the dataset drifts when this share of columns drift. Default 0.5. */
  driftShare?: number;
  /**
   * A p-value test only reports drift when the column's effect size, `wasserstein`
   * (numerical) or `jensenshannon` (categorical), is also at least this.
   */
  minEffect?: number;
  /** Binning of the binned distances for every column. Default `reference`. */
  binning?: 'reference' | 'evidently';
}

/** A column's result in a dataset report. */
export interface ColumnDriftEntry extends DriftTestResult {
  /** The column type the test used. */
  type: ColumnType;
  /** The effect size checked by `minEffect`, when it was set. */
  effect?: {
    /** The distance used as the effect size, e.g. `wasserstein`. */
    method: string;
    /** Its value. */
    statistic: number;
  };
  /** Reference and current counts on shared bins, bounded in size, for reports. */
  histogram?: DriftHistogram;
}

/** Why a column was not tested. */
export type SkipReason =
  | 'missing_in_current'
  | 'missing_in_reference'
  | 'empty_reference'
  | 'empty_current'
  | 'mixed_types'
  | 'type_mismatch'
  | 'unsupported_method'
  | 'invalid_data';

/** A column that could not be tested, with the reason; never silently dropped. */
export interface SkippedColumn {
  /** Why the column was not tested. */
  reason: SkipReason;
  /** What was found and what to do. */
  message: string;
  /** Missing values counted, where known. */
  missing?: MissingCounts;
}

/** What {@link detectDrift} returns: the dataset report plus the columns it could not test. */
export interface DetectDriftReport extends DatasetDriftReport {
  /** How many columns were tested (the keys of `columns`); at least 1. */
  tested: number;
  columns: Record<string, ColumnDriftEntry>;
  /** Columns in one table only, empty, of mismatched or mixed types, or refused by the test. */
  skipped: Record<string, SkippedColumn>;
}

/**
 * Tests every column of `current` against `reference` (a table or a stored `Profile`).
 *
 * Default selection per column (n = reference size without missing values, u = distinct values
 * in both samples): n <= 1000: numerical u <= 2 `z`, u <= 5 `chisquare`, else `ks`;
 * categorical u <= 2 `z`, else `chisquare`. n > 1000: numerical u <= 5 `jensenshannon`, else
 * `wasserstein`; categorical `jensenshannon`.
 *
 * Dataset verdict: `correction: 'none'` drifts when the share of drifted columns >=
 * `driftShare`; `bonferroni` (p < threshold / k) and `bh` (Benjamini-Hochberg, strict `<`, as
 * alibi-detect) drift when any column drifts.
 *
 * @throws {ValidationError} on bad options (unknown method, threshold out of range, mixed
 *   p-value thresholds under `bh`) or a malformed table; schema problems of some columns are
 *   reported in `skipped`, but when no column at all can be tested (no column in common, every
 *   column of mismatched types, empty or left out) the call throws, naming the columns of both
 *   tables and why each was skipped: a report on nothing would read as "no drift".
 *
 * @example
 * ```ts
 * // a table is an array of rows or an object of columns
 * const training = {
 *   age: [31, 45, 27, 52, 38, 41, 29, 47],
 *   plan: ['a', 'b', 'a', 'a', 'b', 'a', 'a', 'b'],
 * };
 * const today = {
 *   age: [61, 70, 58, 66, 72, 64, 69, 75],
 *   plan: ['b', 'b', 'b', 'a', 'b', 'b', 'a', 'b'],
 * };
 * const report = detectDrift(training, today, { correction: 'bh' });
 * console.log(report.drifted, `${report.driftedColumns} of ${report.tested} drifted`);
 * // true 1 of 2 drifted
 * for (const [name, column] of Object.entries(report.columns)) {
 *   if (column.drifted) console.log(name, column.method, column.pValue); // age ks 0.000155…
 * }
 * ```
 */
export function detectDrift(
  reference: Table | Profile,
  current: Table,
  opts: DetectDriftOptions = {},
): DetectDriftReport {
  const o = parseWith(optionsSchema, opts, 'detectDrift options') as ParsedOptions;
  checkMethods(o);
  const ref: Reference = isProfile(reference)
    ? { kind: 'profile', profile: parseProfile(reference) }
    : { kind: 'table', table: tableColumns(reference, 'reference table') };
  const cur = tableColumns(current, 'current table');
  const refNames = ref.kind === 'profile' ? Object.keys(ref.profile.columns) : ref.table.names;
  const names = [...refNames];
  const known = new Set(refNames);
  for (const name of cur.names) if (!known.has(name)) names.push(name);

  const columns: Record<string, ColumnDriftEntry> = {};
  const skipped: Record<string, SkippedColumn> = {};
  const excluded: string[] = [];
  for (const name of names) {
    const spec = (o.columns && own(o.columns, name)) ?? {};
    if (spec.skip) {
      excluded.push(name);
      continue;
    }
    const outcome = testColumn(name, ref, cur, spec, o);
    if ('reason' in outcome) skipped[name] = outcome;
    else columns[name] = outcome;
  }

  const tested = Object.keys(columns).length;
  if (tested === 0) throw nothingTested(refNames, cur.names, skipped, excluded);
  applyCorrection(columns, o);
  const drifted = Object.values(columns).filter((c) => c.drifted).length;
  const share = tested ? drifted / tested : 0;
  return {
    drifted: o.correction === 'none' ? tested > 0 && share >= o.driftShare : drifted > 0,
    share,
    driftedColumns: drifted,
    tested,
    columns,
    correction: o.correction,
    driftShare: o.driftShare,
    skipped,
  };
}

/**
 * The default detector for a column (DRIFT.md): by type, reference size `n` and the number
 * `u` of distinct values in both samples.
 *
 * @throws {ValidationError} when `type` is not a string or `n` or `u` is not a number.
 */
export function defaultMethod(type: ColumnType, n: number, u: number): string {
  if (typeof type !== 'string' || typeof n !== 'number' || typeof u !== 'number') {
    throw new ValidationError(
      '[keel] invalid defaultMethod arguments: pass a column type (a string), its value count and its distinct count (numbers)',
    );
  }
  if (n <= 1000) {
    if (u <= 2) return 'z';
    if (type === 'categorical' || u <= 5) return 'chisquare';
    return 'ks';
  }
  if (type === 'categorical' || u <= 5) return 'jensenshannon';
  return 'wasserstein';
}

/**
 * Benjamini-Hochberg as alibi-detect applies it: with p-values sorted ascending, the threshold
 * is the largest `q * i / k` with `p_(i) < q * i / k` (strict); a test rejects when its p-value
 * is below that threshold. Returns the threshold, or undefined when nothing is rejected.
 *
 * @throws {ValidationError} when `pValues` is not an array of numbers or `q` is not a number.
 */
export function benjaminiHochberg(pValues: readonly number[], q: number): number | undefined {
  assertArrayLike(pValues, 'p-values');
  if (!Array.from(pValues).every((p) => typeof p === 'number') || typeof q !== 'number') {
    throw new ValidationError(
      '[keel] invalid benjaminiHochberg arguments: pass an array of p-values (numbers) and a false discovery rate q (a number)',
    );
  }
  const sorted = [...pValues].sort((a, b) => a - b);
  const k = sorted.length;
  let threshold: number | undefined;
  for (let i = 0; i < k; i++) {
    const level = (q * (i + 1)) / k;
    if (sorted[i]! < level) threshold = level;
  }
  return threshold;
}

type ParsedOptions = Omit<
  Required<DetectDriftOptions>,
  'columns' | 'method' | 'threshold' | 'minEffect' | 'binning'
> &
  Pick<DetectDriftOptions, 'columns' | 'method' | 'threshold' | 'minEffect' | 'binning'>;

type Reference =
  | { kind: 'profile'; profile: Profile }
  | { kind: 'table'; table: ReturnType<typeof tableColumns> };

const thresholdSchema = z.number().refine((v) => Number.isFinite(v), 'must be a finite number');

const columnSpecSchema = z
  .object({
    type: z.enum(['numerical', 'categorical']).optional(),
    method: z.string().optional(),
    threshold: thresholdSchema.optional(),
    binning: z.enum(['reference', 'evidently']).optional(),
    skip: z.boolean().optional(),
  })
  .strict();

const optionsSchema = z
  .object({
    columns: z.record(z.string(), columnSpecSchema).optional(),
    method: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
    threshold: thresholdSchema.optional(),
    correction: z.enum(['none', 'bonferroni', 'bh']).default('none'),
    driftShare: z.number().gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').default(0.5),
    minEffect: z.number().min(0).refine(Number.isFinite, 'must be finite').optional(),
    binning: z.enum(['reference', 'evidently']).optional(),
  })
  .strict();

/** Unknown detector names are a spec error, caught before any test runs. */
function checkMethods(o: ParsedOptions): void {
  const named: [string, string][] = [];
  if (typeof o.method === 'string') named.push(['method', o.method]);
  else for (const [col, m] of Object.entries(o.method ?? {})) named.push([`method.${col}`, m]);
  for (const [col, spec] of Object.entries(o.columns ?? {})) {
    if (spec.method !== undefined) named.push([`columns.${col}.method`, spec.method]);
  }
  for (const [where, method] of named) {
    if (!Object.hasOwn(detectors, method)) {
      parseWith(
        z.never({
          message: `unknown method "${method}"; use one of ${Object.keys(detectors).join(', ')}`,
        }),
        method,
        `detectDrift options at ${where}`,
      );
    }
  }
}

function testColumn(
  name: string,
  ref: Reference,
  cur: ReturnType<typeof tableColumns>,
  spec: ColumnSpec,
  o: ParsedOptions,
): ColumnDriftEntry | SkippedColumn {
  const inRef =
    ref.kind === 'profile' ? Object.hasOwn(ref.profile.columns, name) : ref.table.has(name);
  if (!cur.has(name)) {
    return skip(
      'missing_in_current',
      `column "${name}" is in the reference but not in the current table`,
    );
  }
  if (!inRef) {
    return skip(
      'missing_in_reference',
      `column "${name}" is in the current table but not in the reference`,
    );
  }
  const curValues = cur.column(name);
  const curInfo = inferColumnType(curValues);
  const refProfile = ref.kind === 'profile' ? ref.profile.columns[name]! : undefined;
  const refValues = ref.kind === 'table' ? ref.table.column(name) : undefined;
  const refInfo: ColumnTypeInfo = refProfile
    ? { type: refProfile.type === 'empty' ? 'empty' : refProfile.type }
    : inferColumnType(refValues!);

  const type =
    spec.type ??
    (refInfo.type === 'categorical' || refInfo.type === 'numerical' ? refInfo.type : undefined);
  if (refInfo.type === 'empty') {
    return skip('empty_reference', `column "${name}" has no value in the reference (all missing)`);
  }
  if (curInfo.type === 'empty') {
    return skip(
      'empty_current',
      `column "${name}" has no value in the current table (all missing)`,
      {
        reference: 0,
        current: curValues.length,
      },
    );
  }
  if (!spec.type) {
    for (const [side, info] of [
      ['reference', refInfo],
      ['current', curInfo],
    ] as const) {
      if (info.type === 'mixed') {
        return skip(
          'mixed_types',
          `column "${name}" mixes types in the ${side} (${info.detail}); clean it or set columns.${name}.type`,
        );
      }
    }
    // A profile fixed the column's type (perhaps forced with options.types): numbers in the
    // current table are then labels of a categorical profile column.
    const labelsAsProfiled = refProfile?.type === 'categorical' && curInfo.type === 'numerical';
    if (refInfo.type !== curInfo.type && !labelsAsProfiled) {
      return skip(
        'type_mismatch',
        `column "${name}" is ${refInfo.type} in the reference but ${curInfo.type} in the current table; ` +
          `fix the data or set columns.${name}.type`,
      );
    }
  } else if (refProfile && refProfile.type !== spec.type) {
    return skip(
      'type_mismatch',
      `column "${name}" was profiled as ${refProfile.type}; a profile cannot be re-typed to ${spec.type}, ` +
        'profile the reference with options.types',
    );
  }
  const columnType = type as ColumnType;

  try {
    const curSample =
      columnType === 'numerical'
        ? numericSample(curValues, `current column "${name}"`)
        : categoricalSample(curValues, `current column "${name}"`);
    const refSide = referenceSample(name, columnType, refProfile, refValues);
    const current = refSide.remap ? refSide.remap(curSample as CategoricalSample) : curSample;

    const method = chooseMethod(name, columnType, spec, o, refSide, current);
    const detector = detectors[method] as SampleDetector;
    // Categorical tests take numbers as labels; numerical tests cannot take labels.
    if (detector.supports === 'numerical' && columnType === 'categorical') {
      return skip(
        'unsupported_method',
        `method "${method}" tests ${detector.supports} columns but column "${name}" is ${columnType}; ` +
          `pick another method for it`,
      );
    }
    const testOpts: DriftTestOptions = {};
    const threshold = spec.threshold ?? o.threshold;
    if (threshold !== undefined) {
      checkThreshold(detector, threshold);
      testOpts.threshold = threshold;
    }
    const binning = spec.binning ?? o.binning;
    if (binning !== undefined) testOpts.binning = binning;

    const result = runTest(detector, refSide, current, testOpts, name);
    const entry: ColumnDriftEntry = { ...result, type: columnType };
    if (o.minEffect !== undefined && result.kind === 'p_value') {
      const effectMethod = columnType === 'numerical' ? 'wasserstein' : 'jensenshannon';
      const effect = runTest(detectors[effectMethod] as SampleDetector, refSide, current, {}, name);
      entry.effect = { method: effectMethod, statistic: effect.statistic };
    }
    entry.histogram = driftHistogram(refSide.sample ?? refSide.sketch!, current, OTHER_LABEL);
    return entry;
  } catch (error) {
    if (isKeelError(error, 'KEEL_VALIDATION') && !(error instanceof SpecError)) {
      return skip('invalid_data', (error as Error).message);
    }
    throw error;
  }
}

/** A reference prepared for testing: a sample, or a sketch profile column. */
interface ReferenceSide {
  sample?: Sample;
  sketch?: NumericColumnProfile;
  /** For truncated categorical profiles: folds current labels outside the profile into "other". */
  remap?: (s: CategoricalSample) => CategoricalSample;
  size: number;
}

/** The label of the "other" bucket of truncated categorical profiles (cannot clash). */
const OTHER_LABEL = '\u0000other';

function referenceSample(
  name: string,
  type: ColumnType,
  column: ColumnProfile | undefined,
  values: ArrayLike<unknown> | undefined,
): ReferenceSide {
  if (!column) {
    const sample =
      type === 'numerical'
        ? numericSample(values!, `reference column "${name}"`)
        : categoricalSample(values!, `reference column "${name}"`);
    return { sample, size: sampleSize(sample) };
  }
  if (column.type === 'numerical') {
    if (column.values) {
      const sample: NumericSample = {
        kind: 'numerical',
        sorted: Float64Array.from(column.values),
        missing: column.missing,
      };
      return { sample, size: column.count };
    }
    return { sketch: column, size: column.count };
  }
  const c = column as CategoricalColumnProfile;
  const counts = new Map<string, number>(c.categories);
  if (c.other === 0) {
    return {
      sample: { kind: 'categorical', counts, size: c.count, missing: c.missing },
      size: c.count,
    };
  }
  counts.set(OTHER_LABEL, c.other);
  const known = new Set(c.categories.map(([label]) => label));
  return {
    sample: { kind: 'categorical', counts, size: c.count, missing: c.missing },
    size: c.count,
    remap(s) {
      const folded = new Map<string, number>();
      for (const [label, n] of s.counts) {
        const key = known.has(label) ? label : OTHER_LABEL;
        folded.set(key, (folded.get(key) ?? 0) + n);
      }
      return { kind: 'categorical', counts: folded, size: s.size, missing: s.missing };
    },
  };
}

function chooseMethod(
  name: string,
  type: ColumnType,
  spec: ColumnSpec,
  o: ParsedOptions,
  ref: ReferenceSide,
  current: Sample,
): string {
  const explicit = spec.method ?? (typeof o.method === 'object' ? own(o.method, name) : undefined);
  if (explicit) return explicit;
  if (typeof o.method === 'string') {
    const d = detectors[o.method] as SampleDetector;
    if (d.supports === 'both' || d.supports === type) return o.method;
  }
  const method = defaultMethod(type, ref.size, distinctUpTo(ref, current, 6));
  // Only with exactUpTo below 1000 can the rule pick a label test for a sketch column.
  return ref.sketch && !supportsSketch(method) ? 'jensenshannon' : method;
}

/** Distinct values in both samples, counted up to `limit` (the selection needs no more). */
function distinctUpTo(ref: ReferenceSide, current: Sample, limit: number): number {
  if (current.kind === 'categorical') {
    const seen = new Set<string>(current.counts.keys());
    if (ref.sample?.kind === 'categorical')
      for (const label of ref.sample.counts.keys()) seen.add(label);
    return Math.min(seen.size, limit);
  }
  const seen = new Set<number>();
  const add = (sorted: ArrayLike<number>): void => {
    for (let i = 0; i < sorted.length && seen.size < limit; i++) {
      if (i === 0 || sorted[i] !== sorted[i - 1]) seen.add(sorted[i]!);
    }
  };
  if (ref.sample?.kind === 'numerical') add(ref.sample.sorted);
  else if (ref.sketch) {
    if (!ref.sketch.domain) return limit;
    for (const v of ref.sketch.domain) seen.add(v);
  }
  add(current.sorted);
  return Math.min(seen.size, limit);
}

function runTest(
  detector: SampleDetector,
  ref: ReferenceSide,
  current: Sample,
  opts: DriftTestOptions,
  name: string,
): DriftTestResult {
  if (ref.sample) return detector.testSamples(ref.sample, current, opts);
  const column = ref.sketch!;
  if (!supportsSketch(detector.name)) {
    throw new SpecError(
      `[keel] cannot run "${detector.name}" on column "${name}": the reference profile holds a quantile ` +
        `sketch (more than exactUpTo values), which supports only ${sketchMethodsText()}; ` +
        'pick one of those, or profile with a larger exactUpTo',
    );
  }
  return sketchTest(detector, column, current as NumericSample, opts);
}

function applyCorrection(columns: Record<string, ColumnDriftEntry>, o: ParsedOptions): void {
  const pColumns = Object.values(columns).filter(
    (c) => c.kind === 'p_value' && c.pValue !== undefined,
  );
  const k = pColumns.length;
  if (o.correction === 'bonferroni' && k > 0) {
    for (const c of pColumns) {
      c.threshold = c.threshold / k;
      c.drifted = c.pValue! < c.threshold;
    }
  } else if (o.correction === 'bh' && k > 0) {
    const q = pColumns[0]!.threshold;
    if (pColumns.some((c) => c.threshold !== q)) {
      throw new SpecError(
        '[keel] invalid detectDrift options: Benjamini-Hochberg needs one level for every p-value ' +
          'test, but the columns use different thresholds; set one global threshold',
      );
    }
    const threshold = benjaminiHochberg(
      pColumns.map((c) => c.pValue!),
      q,
    );
    for (const c of pColumns) {
      c.threshold = threshold ?? q / k;
      c.drifted = threshold !== undefined && c.pValue! < threshold;
    }
  }
  if (o.minEffect !== undefined) {
    for (const c of pColumns) {
      if (c.drifted && c.effect && c.effect.statistic < o.minEffect) c.drifted = false;
    }
  }
}

/**
 * The error of a call that could test no column: it names both tables' columns and why each
 * column was skipped, so the caller sees a schema problem instead of a report of no drift.
 */
function nothingTested(
  referenceColumns: readonly string[],
  currentColumns: readonly string[],
  skipped: Record<string, SkippedColumn>,
  excluded: readonly string[],
): ValidationError {
  const reasons = Object.entries(skipped).map(
    ([name, s]) => `${JSON.stringify(name)}: ${s.reason}`,
  );
  for (const name of excluded) reasons.push(`${JSON.stringify(name)}: left out by columns.skip`);
  const why = reasons.length
    ? `; skipped ${reasons.slice(0, 10).join(', ')}${reasons.length > 10 ? `, ... (${reasons.length} in all)` : ''}`
    : '';
  return new ValidationError(
    `[keel] detectDrift could test no column: the reference has ${columnList(referenceColumns)} ` +
      `and the current table has ${columnList(currentColumns)}${why}; ` +
      'pass tables that share columns of the same type (or set columns.<name>.type)',
    {
      issues: [{ path: [], message: 'no column could be tested' }],
      details: {
        referenceColumns: [...referenceColumns],
        currentColumns: [...currentColumns],
        skipped: Object.fromEntries(Object.entries(skipped).map(([name, s]) => [name, s.reason])),
        excluded: [...excluded],
      },
    },
  );
}

function columnList(names: readonly string[]): string {
  if (names.length === 0) return 'no columns';
  const shown = names.slice(0, 20).map((name) => JSON.stringify(name));
  return `columns ${shown.join(', ')}${names.length > 20 ? `, ... (${names.length} in all)` : ''}`;
}

/** A ValidationError about the options rather than the data: thrown, never reported as a skip. */
class SpecError extends ValidationError {}

/** `record[key]` for own keys only (a column may be called `toString`). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function skip(reason: SkipReason, message: string, missing?: MissingCounts): SkippedColumn {
  return missing ? { reason, message, missing } : { reason, message };
}

function sampleSize(sample: Sample): number {
  return sample.kind === 'numerical' ? sample.sorted.length : sample.size;
}

function sketchMethodsText(): string {
  return Object.keys(detectors).filter(supportsSketch).join(', ');
}

/** Binned distances on a profile's stored Doane histogram, by name. */
const HISTOGRAM_METRICS: Record<string, (p: Float64Array, q: Float64Array) => number> = {
  psi: psiOf,
  kl: klOf,
  jensenshannon: (p, q) => jensenShannonOf(p, q, 2),
  hellinger: hellingerOf,
  linf: linfOf,
  tvd: tvdOf,
};

/** Detectors that can test against a sketch profile column (see docs/drift.md, Profiles). */
const SKETCH_METHODS: ReadonlySet<string> = new Set([
  'ks',
  'wasserstein',
  'ttest',
  ...Object.keys(HISTOGRAM_METRICS),
]);

function supportsSketch(method: string): boolean {
  return SKETCH_METHODS.has(method);
}

/**
 * Runs a detector against a sketch profile column. The binned distances use the profile's Doane
 * histogram (exact for a fresh profile, so they equal the raw-reference result; estimated from
 * the sketch after a merge). For `ks` and `wasserstein` the reference CDF comes
 * from the sketch, so ks's D and the Wasserstein distance are within the sketch's normalised
 * rank error (times the value range, for Wasserstein) of the exact ones; KS's p-value is SciPy's
 * large-sample path (`kstwo.sf(D, round(n m / (n + m)))`, the path SciPy takes above 10000
 * values anyway); ttest uses the profile's exact count, mean and M2.
 */
function sketchTest(
  detector: SampleDetector,
  column: NumericColumnProfile,
  current: NumericSample,
  opts: DriftTestOptions,
): DriftTestResult {
  const threshold = opts.threshold ?? detector.defaultThreshold;
  checkThreshold(detector, threshold);
  const cur = current.sorted;
  const reference: SampleSummary = {
    kind: 'summary',
    size: column.count,
    largestMagnitude: Math.max(Math.abs(column.min), Math.abs(column.max)),
  };
  // The same last line of defence as the exact path: NaN is never read as "no drift".
  const { statistic, pValue } = checkOutcome(
    detector,
    sketchOutcome(detector, column, cur, opts),
    reference,
    current,
  );
  const result: DriftTestResult = {
    method: detector.name,
    statistic,
    threshold,
    drifted: false,
    kind: detector.kind,
    missing: { reference: column.missing, current: current.missing },
  };
  if (pValue !== undefined) {
    result.pValue = pValue;
    result.drifted = pValue < threshold;
  } else {
    result.drifted = statistic >= threshold;
  }
  return result;
}

function sketchOutcome(
  detector: SampleDetector,
  column: NumericColumnProfile,
  cur: Float64Array,
  opts: DriftTestOptions,
): DetectorOutcome {
  const metric = HISTOGRAM_METRICS[detector.name];
  if (metric) {
    if (opts.binning === 'evidently') {
      throw new SpecError(
        `[keel] cannot run ${detector.name} with binning 'evidently' against a sketch profile: ` +
          "Evidently's bins need the raw reference; use the default binning",
      );
    }
    const bins = referenceBinsFromHistogram(column.histogram, cur);
    return { statistic: metric(proportions(bins.reference), proportions(bins.current)) };
  }
  const n = column.count;
  const m = cur.length;
  if (detector.name === 'ttest') {
    return welchFromMoments(
      n,
      column.mean,
      n > 1 ? column.m2 / (n - 1) : 0,
      m,
      numpyMean(cur),
      m > 1 ? numpyVariance(cur, 1) : 0,
    );
  }
  const sketch = QuantileSketch.fromJSON(column.sketch);
  const { values, cumulative } = sketch.weightedItems();
  // Walk the merged breakpoints of the two step CDFs.
  let i = 0;
  let j = 0;
  let d = 0;
  let area = 0;
  let prev = Math.min(values[0]!, cur[0]!);
  let f = 0;
  let g = 0;
  while (i < values.length || j < m) {
    const x = j >= m || (i < values.length && values[i]! <= cur[j]!) ? values[i]! : cur[j]!;
    area += Math.abs(f - g) * (x - prev);
    while (i < values.length && values[i] === x) f = cumulative[i++]! / n;
    while (j < m && cur[j] === x) g = ++j / m;
    d = Math.max(d, Math.abs(f - g));
    prev = x;
  }
  if (detector.name === 'ks') {
    return { statistic: d, pValue: kolmogorovSmirnovSf(d, Math.round((n * m) / (n + m))) };
  }
  return { statistic: area / Math.max(Math.sqrt(column.m2 / n), 0.001) };
}

function checkThreshold(detector: SampleDetector, threshold: number): void {
  const ok =
    detector.kind === 'p_value'
      ? threshold > 0 && threshold < 1
      : threshold >= 0 && Number.isFinite(threshold);
  if (!ok) {
    throw new SpecError(
      `[keel] invalid threshold ${threshold} for ${detector.name}: ` +
        (detector.kind === 'p_value'
          ? 'a p-value threshold must be in (0, 1)'
          : 'a distance threshold must be finite and >= 0') +
        '; pass a valid threshold',
    );
  }
}

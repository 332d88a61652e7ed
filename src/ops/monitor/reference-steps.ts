/**
 * @module
 * Reads a reference (a table of rows or columns, or a profile) into the calibrated monitor's
 * column models in small steps: a generator that yields between units of work (a chunk of
 * rows, a chunk of a column, a run of a sort), so that a large reference (100 columns x 50 000
 * rows) is prepared over many ticks of the event loop instead of holding it for a second.
 * `buildColumnModels` runs the same steps in one go.
 */
import { ValidationError } from '../../core/errors.js';
import {
  columnSketch,
  isProfile,
  type NumericColumnProfile,
  type Profile,
  parseProfile,
} from '../../drift/profile.js';
import { inferColumnType, type Table, tableColumns } from '../../drift/table.js';
import {
  type ColumnModel,
  type ColumnModels,
  categoricalModel,
  categoricalProfileModel,
  emptyColumn,
  MIN_REFERENCE_VALUES,
  numericModelSteps,
  rescaledModel,
  type UnusableColumn,
} from './columns.js';

/** Work that yields between steps and returns `T` when done. */
export type Steps<T> = Generator<void, T, void>;

/** What {@link stepUntil} returns once the steps are done. */
export interface StepsDone<T> {
  /** The steps' result. */
  value: T;
}

/** Values handled between two yields (copying, counting, merging): about a millisecond even while the code is still interpreted. */
const CHUNK = 4096;
/** Sorted runs of a step-wise sort. */
const RUN = 8_192;
/** Values of a profile's sketch rebuilt into a sample. */
export const SKETCH_SAMPLE = 20_000;

/**
 * Builds the column models of a reference (a table or a profile) in one go.
 *
 * @throws {ValidationError} when the reference is not a table or a profile, or has no column
 *   that can be monitored (each needs at least {@link MIN_REFERENCE_VALUES} non-missing values
 *   of one type).
 */
export function buildColumnModels(reference: Table | Profile, what: string): ColumnModels {
  const steps = referenceSteps(reference, what);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Advances `steps` until it is done (returns its value) or `deadline` (a `performance.now()`
 * time) has passed (returns undefined). Always takes at least one step.
 */
export function stepUntil<T>(steps: Steps<T>, deadline: number): StepsDone<T> | undefined {
  do {
    const next = steps.next();
    if (next.done) return { value: next.value };
  } while (performance.now() < deadline);
  return undefined;
}

/**
 * The steps of {@link buildColumnModels}.
 *
 * @throws {ValidationError} as {@link buildColumnModels} does, from the step that finds it.
 */
export function* referenceSteps(reference: Table | Profile, what: string): Steps<ColumnModels> {
  const columns: ColumnModel[] = [];
  const unusable: Record<string, UnusableColumn> = {};
  const scratch = new Scratch();
  const add = (name: string, model: ColumnModel | UnusableColumn): void => {
    if ('reason' in model) unusable[name] = model;
    else columns.push(model);
  };
  if (isProfile(reference)) {
    // Validated column by column: a profile's exact values can be long.
    const { columns: all, ...header } = reference;
    parseProfile({ ...header, columns: {} });
    for (const name of Object.keys(all ?? {})) {
      const column = parseProfile({ ...header, columns: { [name]: all[name]! } }).columns[name]!;
      yield;
      if (column.type === 'empty') add(name, emptyColumn(name));
      else if (column.type === 'numerical') add(name, yield* numericProfileSteps(name, column));
      else add(name, categoricalProfileModel(name, column));
      yield;
    }
  } else {
    const table = Array.isArray(reference)
      ? yield* rowSteps(reference as readonly unknown[], what)
      : tableColumns(reference, what);
    for (const name of table.names) {
      const values = table.column(name);
      const info = inferColumnType(values);
      yield;
      if (info.type === 'empty') add(name, emptyColumn(name));
      else if (info.type === 'mixed') {
        add(name, {
          reason: 'mixed_types',
          message: `column "${name}" mixes types (${info.detail}); clean it or leave it out of the reference`,
        });
      } else if (info.type === 'numerical') add(name, yield* numberSteps(name, values, scratch));
      else add(name, yield* labelSteps(name, values));
      yield;
    }
  }
  if (columns.length === 0) {
    const found = Object.entries(unusable).map(([name, u]) => `${name} (${u.reason})`);
    throw new ValidationError(
      `[keel] invalid ${what}: no column can be monitored` +
        (found.length ? `: ${found.join(', ')}` : ': the reference has no columns') +
        `; pass a reference with at least ${MIN_REFERENCE_VALUES} non-missing values of one type in some column`,
      { details: { unusable } },
    );
  }
  return { columns, unusable };
}

/** An array of row objects as columns, read a chunk of rows at a time. */
function* rowSteps(
  rows: readonly unknown[],
  what: string,
): Steps<{ names: string[]; column(name: string): ArrayLike<unknown> }> {
  const names: string[] = [];
  const known = new Set<string>();
  const n = rows.length;
  for (let i = 0; i < n; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    part.forEach((row, r) => {
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        throw new ValidationError(
          `[keel] invalid ${what}: row ${i + r} is ${row === null ? 'null' : typeof row}, not an object; ` +
            'pass each row as { column: value }',
          { details: { row: i + r } },
        );
      }
    });
    // The same checks as every table (reserved names), on this chunk's keys.
    for (const name of tableColumns(part as Table, what).names) {
      if (!known.has(name)) {
        known.add(name);
        names.push(name);
      }
    }
    yield;
  }
  const values = names.map(() => new Array<unknown>(n));
  const perChunk = Math.max(1, Math.floor(CHUNK / Math.max(1, names.length)));
  for (let i = 0; i < n; i += perChunk) {
    const end = Math.min(n, i + perChunk);
    for (let r = i; r < end; r++) {
      const row = rows[r] as Record<string, unknown>;
      for (let j = 0; j < names.length; j++) values[j]![r] = row[names[j]!];
    }
    yield;
  }
  const index = new Map(names.map((name, j) => [name, j]));
  return { names, column: (name) => values[index.get(name)!]! };
}

/**
 * Two buffers reused from column to column (columns are read one at a time, and a model keeps
 * none of its sorted values): 100 columns x 50 000 rows would otherwise allocate 80 MB of
 * short-lived arrays, and their external memory starts full garbage collections, pauses of
 * several milliseconds on the event loop.
 */
class Scratch {
  #values = new Float64Array(0);
  #merge = new Float64Array(0);

  /** A buffer of `n` values for a column's numbers. */
  values(n: number): Float64Array {
    if (this.#values.length < n) this.#values = new Float64Array(n);
    return this.#values.subarray(0, n);
  }

  /** A buffer of `n` values for the merges of a sort. */
  merge(n: number): Float64Array {
    if (this.#merge.length < n) this.#merge = new Float64Array(n);
    return this.#merge.subarray(0, n);
  }
}

function* numberSteps(
  name: string,
  values: ArrayLike<unknown>,
  scratch: Scratch,
): Steps<ColumnModel | UnusableColumn> {
  const out = scratch.values(values.length);
  let k = 0;
  for (let start = 0; start < values.length; start += CHUNK) {
    const end = Math.min(values.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (typeof v === 'number' && v - v === 0) out[k++] = v;
    }
    yield;
  }
  const sorted = yield* sortSteps(out.subarray(0, k), scratch.merge(k));
  return yield* numericModelSteps(name, sorted, values.length - k);
}

function* labelSteps(
  name: string,
  values: ArrayLike<unknown>,
): Steps<ColumnModel | UnusableColumn> {
  const counts = new Map<string, number>();
  let missing = 0;
  for (let start = 0; start < values.length; start += CHUNK) {
    const end = Math.min(values.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) missing++;
      else {
        const label = String(v);
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
    }
    yield;
  }
  return categoricalModel(name, counts, missing);
}

function* numericProfileSteps(
  name: string,
  column: NumericColumnProfile,
): Steps<ColumnModel | UnusableColumn> {
  if (column.values) {
    const sorted = yield* sortSteps(Float64Array.from(column.values));
    return yield* numericModelSteps(name, sorted, column.missing);
  }
  // Beyond the profile's exact size: rebuild an equally spaced sample of its quantiles (the
  // sketch's rank error carries over to the bins' counts).
  const sketch = columnSketch(column, 1024);
  const size = Math.min(column.count, SKETCH_SAMPLE);
  const sample = new Float64Array(size);
  for (let start = 0; start < size; start += 1024) {
    const end = Math.min(size, start + 1024);
    for (let i = start; i < end; i++) sample[i] = sketch.quantile((i + 0.5) / size);
    yield;
  }
  const model = yield* numericModelSteps(name, yield* sortSteps(sample), 0);
  if ('reason' in model) return model;
  // Scale the Dirichlet parameters to the real reference size: the reference's noise is that of
  // `count` values, not of the rebuilt sample.
  const factor = column.count / size;
  return rescaledModel(
    model,
    model.a.map((x) => x * factor),
    column.count,
    column.missing,
  );
}

/**
 * Sorts `values` ascending: runs of {@link RUN} values sorted natively, then merged pairwise,
 * yielding between runs and every {@link CHUNK} values merged. Returns the sorted array (the
 * input or `buffer`, a buffer of the same length, allocated when not given).
 */
export function* sortSteps(
  values: Float64Array,
  buffer: Float64Array = new Float64Array(values.length),
): Steps<Float64Array> {
  const n = values.length;
  for (let i = 0; i < n; i += RUN) {
    values.subarray(i, Math.min(n, i + RUN)).sort();
    if (n > RUN) yield;
  }
  let from: Float64Array = values;
  let to: Float64Array = buffer;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(n, lo + width);
      const hi = Math.min(n, lo + 2 * width);
      let i = lo;
      let j = mid;
      let k = lo;
      while (k < hi) {
        const end = Math.min(hi, k + CHUNK);
        while (k < end) {
          if (j >= hi || (i < mid && from[i]! <= from[j]!)) to[k++] = from[i++]!;
          else to[k++] = from[j++]!;
        }
        yield;
      }
    }
    [from, to] = [to, from];
  }
  return from;
}

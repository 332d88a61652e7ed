/**
 * @module
 * The columns of a search snapshot: the value of one searchable field for every run of the
 * snapshot, in row order, encoded compactly (numbers as float64 bytes, everything else as a
 * dictionary of distinct values and one small integer per row). A new process loads only the
 * columns its filter and order read, so its memory grows with the columns searched, not with
 * whole run records (ADR 0017).
 */
import { decodeBase64, encodeBase64 } from '../core/base64.js';
import { IntegrityError } from '../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../core/json.js';
import { ATTRIBUTE_KEYS, type FieldRef } from './filter/ast.js';
import { type FieldValue, fieldValue } from './filter/evaluate.js';
import type { Run } from './types.js';

/** The column of a run's experiment (not a filter field: `searchRuns({ experiment })` reads it). */
export const EXPERIMENT_COLUMN = 'experiment';

/** The `format` of a stored column. */
export const COLUMN_FORMAT = 'keel.search-column/1';

/** The column name of a filter field (`metrics.acc`, `attributes.status`, ...). */
export function columnName(field: FieldRef): string {
  return `${field.kind}.${field.key}`;
}

/** The field a column name stands for; `undefined` for {@link EXPERIMENT_COLUMN}. */
export function fieldOfColumn(name: string): FieldRef | undefined {
  if (name === EXPERIMENT_COLUMN) return undefined;
  const dot = name.indexOf('.');
  return { kind: name.slice(0, dot) as FieldRef['kind'], key: name.slice(dot + 1) };
}

/** The attributes stored as columns (`run_id` is the row's id itself). */
const ATTRIBUTE_COLUMNS = ATTRIBUTE_KEYS.filter((key) => key !== 'run_id');

/** Calls `visit` with the column name and value of every searchable field `run` has. */
export function forEachField(run: Run, visit: (name: string, value: FieldValue) => void): void {
  visit(EXPERIMENT_COLUMN, run.experiment);
  for (const key of ATTRIBUTE_COLUMNS) {
    const value = fieldValue(run, { kind: 'attributes', key });
    if (value !== undefined) visit(`attributes.${key}`, value);
  }
  for (const [key, point] of Object.entries(run.metrics)) visit(`metrics.${key}`, point.value);
  for (const [key, value] of Object.entries(run.params)) visit(`params.${key}`, value);
  for (const [key, value] of Object.entries(run.tags)) visit(`tags.${key}`, value);
}

/** One loaded column: the value of its field at each row (`undefined`: the run lacks it). */
export interface Column {
  /** The value at `row`. */
  at(row: number): FieldValue;
  /** For a dictionary column: the code of `value` (0 when no row holds it). */
  codeOf?(value: FieldValue): number;
  /** For a dictionary column: the code at `row` (0 when absent). */
  codeAt?(row: number): number;
}

/** A column no row has a value in. */
export const EMPTY_COLUMN: Column = { at: () => undefined, codeOf: () => 0, codeAt: () => 0 };

/** Encodes the values of one field, one per row, as stored in a column document. */
export function encodeColumn(name: string, values: readonly FieldValue[]): JsonValue {
  const count = values.length;
  let numeric = true;
  let missing = 0;
  for (const value of values) {
    if (value === undefined) missing++;
    else if (typeof value !== 'number') numeric = false;
  }
  const present =
    missing === 0 ? undefined : encodeBase64(bitmap(count, (row) => values[row] !== undefined));
  if (numeric) {
    const numbers = new Float64Array(count);
    for (let row = 0; row < count; row++) numbers[row] = (values[row] as number | undefined) ?? 0;
    const doc: Record<string, JsonValue> = {
      format: COLUMN_FORMAT,
      name,
      count,
      kind: 'number',
      values: encodeBase64(new Uint8Array(numbers.buffer)),
    };
    if (present !== undefined) doc.present = present;
    return doc;
  }
  const dict: FieldValue[] = [];
  // SameValueZero: every NaN is one key
  const codes = new Map<FieldValue, number>();
  const raw = new Uint32Array(count);
  for (let row = 0; row < count; row++) {
    const value = values[row];
    if (value === undefined) continue;
    let code = codes.get(value);
    if (code === undefined) {
      dict.push(value);
      code = dict.length;
      codes.set(value, code);
    }
    raw[row] = code;
  }
  const narrow = narrowCodes(raw, dict.length);
  return {
    format: COLUMN_FORMAT,
    name,
    count,
    kind: 'dictionary',
    width: narrow.BYTES_PER_ELEMENT,
    // one string: far cheaper for a store to parse safely than thousands of nested values
    dict: JSON.stringify(dict.map(encodeScalar)),
    codes: encodeBase64(new Uint8Array(narrow.buffer, narrow.byteOffset, narrow.byteLength)),
  };
}

/**
 * Decodes a stored column of `count` rows; `IntegrityError` (naming `key`) when it is not one.
 */
export function decodeColumn(key: string, value: JsonValue, name: string, count: number): Column {
  const doc = value as Record<string, unknown> | null;
  try {
    if (
      doc === null ||
      typeof doc !== 'object' ||
      doc.format !== COLUMN_FORMAT ||
      doc.name !== name ||
      doc.count !== count
    ) {
      throw new Error('not a column of this snapshot');
    }
    const present = typeof doc.present === 'string' ? decodeBase64(doc.present) : undefined;
    if (present !== undefined && present.length !== Math.ceil(count / 8))
      throw new Error('bad presence map');
    const has = (row: number): boolean =>
      present === undefined || (present[row >>> 3]! & (1 << (row & 7))) !== 0;
    if (doc.kind === 'number' && typeof doc.values === 'string') {
      const numbers = new Float64Array(copyBytes(decodeBase64(doc.values), count * 8).buffer);
      return { at: (row) => (has(row) ? numbers[row] : undefined) };
    }
    if (
      doc.kind === 'dictionary' &&
      typeof doc.dict === 'string' &&
      typeof doc.codes === 'string' &&
      (doc.width === 1 || doc.width === 2 || doc.width === 4)
    ) {
      const list = parseJsonSafe(doc.dict);
      if (!Array.isArray(list)) throw new Error('bad dictionary');
      const dict = list.map(decodeScalar);
      const bytes = copyBytes(decodeBase64(doc.codes), count * doc.width);
      const codes =
        doc.width === 1
          ? bytes
          : doc.width === 2
            ? new Uint16Array(bytes.buffer)
            : new Uint32Array(bytes.buffer);
      for (const code of codes) if (code > dict.length) throw new Error('bad code');
      const index = new Map<FieldValue, number>();
      dict.forEach((value, i) => {
        index.set(value, i + 1);
      });
      return {
        at: (row) => {
          const code = codes[row]!;
          return code === 0 ? undefined : dict[code - 1];
        },
        codeOf: (value) => index.get(value) ?? 0,
        codeAt: (row) => codes[row]!,
      };
    }
    throw new Error('unknown column kind');
  } catch (error) {
    throw new IntegrityError(
      `[keel] the search snapshot column ${key} is malformed (${(error as Error).message}); it is skipped and the runs are read instead: run keel.doctor() to rebuild the search snapshot`,
      { details: { key } },
    );
  }
}

/** Concatenates fixed-width run ids into the one string a snapshot stores. */
export function encodeIds(ids: readonly string[]): string {
  return ids.join('');
}

/** Sequence numbers as stored (uint32 bytes, base64). */
export function encodeSeqs(seqs: readonly number[]): string {
  return encodeBase64(new Uint8Array(Uint32Array.from(seqs).buffer));
}

/** Decodes {@link encodeSeqs}; `undefined` when malformed. */
export function decodeSeqs(text: string, count: number): Uint32Array | undefined {
  try {
    return new Uint32Array(copyBytes(decodeBase64(text), count * 4).buffer);
  } catch {
    return undefined;
  }
}

/** `count` bits, set where `on(row)`. */
function bitmap(count: number, on: (row: number) => boolean): Uint8Array {
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (let row = 0; row < count; row++) if (on(row)) bits[row >>> 3]! |= 1 << (row & 7);
  return bits;
}

/** The smallest unsigned array that holds codes up to `max`. */
function narrowCodes(raw: Uint32Array, max: number): Uint8Array | Uint16Array | Uint32Array {
  if (max < 256) return Uint8Array.from(raw);
  if (max < 65_536) return Uint16Array.from(raw);
  return raw;
}

/** Exactly `length` bytes in a fresh, aligned buffer; throws when the length differs. */
function copyBytes(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length !== length) throw new Error('wrong length');
  const copy = new Uint8Array(length);
  copy.set(bytes);
  return copy;
}

/** A dictionary value as JSON: non-finite numbers as `["NaN"]`, `["Infinity"]`, `["-Infinity"]`. */
function encodeScalar(value: FieldValue): JsonValue {
  if (typeof value === 'number' && !Number.isFinite(value)) return [String(value)];
  return value as JsonValue;
}

function decodeScalar(value: JsonValue): FieldValue {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (
    Array.isArray(value) &&
    (value[0] === 'NaN' || value[0] === 'Infinity' || value[0] === '-Infinity')
  ) {
    return Number(value[0]);
  }
  throw new Error('bad dictionary value');
}

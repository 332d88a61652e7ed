/**
 * @module
 * Tables as drift and data checks accept them: rows (`Record<string, unknown>[]`) or columns
 * (`Record<string, ArrayLike<unknown>>`, typed arrays welcome), read column by column, with
 * each column's type inferred from its values.
 */
import { ValidationError } from '../core/errors.js';
import {
  assertArrayLike,
  assertLabel,
  assertReadableObject,
  unreadable,
} from '../core/validate.js';

/** One row: column name to value. */
export type Row = Readonly<Record<string, unknown>>;

/**
 * A table: an array of rows, or an object of equally long columns (arrays or typed arrays).
 * Missing values are `null`, `undefined` or `NaN` (a row may also omit the key).
 */
export type Table = readonly Row[] | Readonly<Record<string, ArrayLike<unknown>>>;

/** The type of a column as drift detection sees it. */
export type ColumnType = 'numerical' | 'categorical';

/** What {@link inferColumnType} finds in a column. */
export interface ColumnTypeInfo {
  /**
   * `numerical` (numbers, possibly with missing values), `categorical` (strings, booleans or
   * bigints), `empty` (only missing values) or `mixed` (numbers mixed with labels, or values
   * that are neither, such as objects).
   */
  type: ColumnType | 'empty' | 'mixed';
  /** For `mixed`: index of the first value that does not fit the first type seen. */
  index?: number;
  /** For `mixed`: a short description, e.g. `number at 0, string at 17`. */
  detail?: string;
}

/** A table read as columns. */
export interface TableColumns {
  /** Column names, in first-seen order. */
  readonly names: readonly string[];
  /** Number of rows. */
  readonly rows: number;
  /**
   * The values of one column (`undefined` where a row omits it); throws for an unknown name.
   *
   * @throws {ValidationError} when the table has no column `name`, or reading it throws.
   */
  column(name: string): ArrayLike<unknown>;
  /**
   * True when the table has this column.
   *
   * Never throws.
   */
  has(name: string): boolean;
}

/**
 * Reads a table as columns. Rows are transposed once, all columns together, on the first
 * access to a column; column tables are used as they are (no copy).
 *
 * @param what names the table in error messages, e.g. `reference table`.
 * @throws {ValidationError} when the table is neither rows nor equally long columns, or uses a
 *   reserved column name (`__proto__`, `constructor`, `prototype`).
 *
 * @example
 * ```ts
 * const t = tableColumns([{ age: 31, city: 'Oslo' }, { age: 45 }], 'reference table');
 * t.names; // ['age', 'city']
 * t.column('city'); // ['Oslo', undefined]
 * ```
 */
export function tableColumns(table: Table, what: string): TableColumns {
  assertLabel(what, 'tableColumns name');
  if (typeof table === 'object' && table !== null) assertReadableObject(table, what);
  if (Array.isArray(table)) return rowColumns(table as readonly unknown[], what);
  if (typeof table !== 'object' || table === null || isArrayLike(table)) {
    throw new ValidationError(
      `[keel] invalid ${what}: expected an array of rows or an object of columns; ` +
        'pass [{ col: value }, ...] or { col: [values] }',
    );
  }
  let names: string[];
  try {
    names = Object.keys(table);
  } catch (error) {
    throw unreadable(what, error);
  }
  let rows = -1;
  for (const name of names) {
    checkName(name, what);
    const values = readColumn(table as Record<string, unknown>, name, what);
    if (!isArrayLike(values)) {
      throw new ValidationError(
        `[keel] invalid ${what}: column "${name}" is not an array; ` +
          'pass each column as an array or a typed array',
        { details: { column: name } },
      );
    }
    if (rows === -1) rows = values.length;
    else if (values.length !== rows) {
      throw new ValidationError(
        `[keel] invalid ${what}: column "${name}" has ${values.length} values, not ${rows} like ` +
          'the columns before it; pass columns of equal length',
        { details: { column: name, length: values.length, expected: rows } },
      );
    }
  }
  const columns = table as Readonly<Record<string, ArrayLike<unknown>>>;
  const known = new Set(names);
  return {
    names,
    rows: Math.max(rows, 0),
    has: (name) => known.has(name),
    column(name) {
      if (!known.has(name)) throw unknownColumn(name, what);
      return columns[name] as ArrayLike<unknown>;
    },
  };
}

/** A column of a table, read once; a getter or proxy that throws is a `ValidationError`. */
function readColumn(table: Record<string, unknown>, name: string, what: string): unknown {
  try {
    return table[name];
  } catch (error) {
    throw unreadable(what, error);
  }
}

/**
 * Infers a column's type from its values in one pass. Missing values (`null`, `undefined`,
 * `NaN`) are ignored; infinities count as numbers. Typed arrays are numerical.
 *
 * @example
 * ```ts
 * inferColumnType([1, null, 2.5]).type; // 'numerical'
 * inferColumnType(['a', 1]).type;       // 'mixed'
 * ```
 *
 * @throws {ValidationError} when `values` is not an array or a typed array.
 */
export function inferColumnType(values: ArrayLike<unknown>): ColumnTypeInfo {
  assertArrayLike(values, 'column values');
  if (ArrayBuffer.isView(values)) {
    const typed = values as unknown as ArrayLike<number>;
    for (let i = 0; i < typed.length; i++)
      if (!Number.isNaN(typed[i])) return { type: 'numerical' };
    return { type: 'empty' };
  }
  let first: 'number' | 'label' | undefined;
  let firstIndex = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
    const kind =
      typeof v === 'number'
        ? 'number'
        : typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint'
          ? 'label'
          : undefined;
    if (kind === undefined) {
      return { type: 'mixed', index: i, detail: `unsupported ${describe(v)} at ${i}` };
    }
    if (first === undefined) {
      first = kind;
      firstIndex = i;
    } else if (kind !== first) {
      return {
        type: 'mixed',
        index: i,
        detail: `${describe(values[firstIndex])} at ${firstIndex}, ${describe(v)} at ${i}`,
      };
    }
  }
  if (first === undefined) return { type: 'empty' };
  return { type: first === 'number' ? 'numerical' : 'categorical' };
}

/**
 * True for `null`, `undefined` and `NaN`: the values every check counts as missing.
 *
 * Never throws.
 */
export function isMissing(value: unknown): boolean {
  return (
    value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value))
  );
}

function rowColumns(rows: readonly unknown[], what: string): TableColumns {
  const names: string[] = [];
  const index = new Map<string, number>();
  let previous: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new ValidationError(
        `[keel] invalid ${what}: row ${i} is ${row === null ? 'null' : typeof row}, not an object; ` +
          'pass each row as { column: value }',
        { details: { row: i } },
      );
    }
    // Rows usually share one shape: skip them when their keys repeat the last new shape's.
    if (sameKeys(row, previous)) continue;
    const keys = Object.keys(row);
    previous = keys;
    for (const name of keys) {
      if (index.has(name)) continue;
      checkName(name, what);
      index.set(name, names.length);
      names.push(name);
    }
  }
  let columns: ArrayLike<unknown>[] | undefined;
  return {
    names,
    rows: rows.length,
    has: (name) => index.has(name),
    column(name) {
      const j = index.get(name);
      if (j === undefined) throw unknownColumn(name, what);
      columns ??= transpose(rows as readonly Record<string, unknown>[], names);
      return columns[j] as ArrayLike<unknown>;
    },
  };
}

/**
 * All columns in one row-major pass (faster than one pass over the rows per column). A column
 * holds a Float64Array while every value is a number (no boxed numbers for the garbage
 * collector), and becomes a plain array at its first other value.
 */
function transpose(
  rows: readonly Record<string, unknown>[],
  names: readonly string[],
): ArrayLike<unknown>[] {
  const n = rows.length;
  const k = names.length;
  const numbers: (Float64Array | undefined)[] = names.map(() => new Float64Array(n));
  const others: (unknown[] | undefined)[] = names.map(() => undefined);
  // Only names that exist on Object.prototype (toString, valueOf, ...) need an own-key check.
  const inherited = names.map((name) => name in Object.prototype);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as Record<string, unknown>;
    for (let j = 0; j < k; j++) {
      const name = names[j] as string;
      const value = inherited[j] && !Object.hasOwn(row, name) ? undefined : row[name];
      const typed = numbers[j];
      if (typed !== undefined) {
        if (typeof value === 'number') {
          typed[i] = value;
          continue;
        }
        const plain = new Array<unknown>(n);
        for (let r = 0; r < i; r++) plain[r] = typed[r];
        others[j] = plain;
        numbers[j] = undefined;
      }
      (others[j] as unknown[])[i] = value;
    }
  }
  return names.map((_, j) => numbers[j] ?? (others[j] as unknown[]));
}

/** True when the enumerable keys of `row` are exactly `keys`, in order (allocation-free). */
function sameKeys(row: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in row) {
    if (keys[i] !== key) return false;
    i++;
  }
  return i === keys.length && i > 0;
}

const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

function checkName(name: string, what: string): void {
  if (RESERVED.has(name)) {
    throw new ValidationError(
      `[keel] invalid ${what}: column name "${name}" is reserved; rename the column`,
      { details: { column: name } },
    );
  }
}

function unknownColumn(name: string, what: string): ValidationError {
  return new ValidationError(`[keel] invalid ${what}: no column "${name}"; check the column name`, {
    details: { column: name },
  });
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    Array.isArray(value) ||
    (ArrayBuffer.isView(value) && !(value instanceof DataView)) ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { length?: unknown }).length === 'number' &&
      typeof value !== 'function' &&
      !isPlainRecord(value))
  );
}

function isPlainRecord(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

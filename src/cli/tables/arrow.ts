/**
 * @module
 * Apache Arrow IPC files (file or stream format: `.arrow`, `.feather` v2, `.arrows`) through
 * apache-arrow, an optional peer dependency loaded only here, one record batch at a time:
 * ints and floats become numbers (a batch without nulls is copied as a block), dates and
 * timestamps epoch milliseconds, strings (also dictionary-encoded) and booleans labels, nulls
 * missing. Other types (lists, structs, binary, decimals, ...) are an input error.
 */
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../core/errors.js';
import { type ColumnBuilder, ColumnSet } from './columns.js';
import {
  checkColumns,
  fileStats,
  type ReaderOptions,
  type ReadTable,
  unsupportedColumn,
} from './source.js';

type Arrow = typeof import('apache-arrow');
type DataType = import('apache-arrow').DataType;
type Vector = import('apache-arrow').Vector;

/** Reads an Arrow IPC file into columns. */
export async function readArrow(path: string, opts: ReaderOptions = {}): Promise<ReadTable> {
  fileStats(path);
  const arrow = await loadArrow();
  const bytes = await readFile(path);
  let table: import('apache-arrow').Table;
  try {
    table = arrow.tableFromIPC(bytes);
  } catch (error) {
    throw new ValidationError(
      `[keel] ${path} is not a readable Arrow IPC file: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const fields = table.schema.fields;
  checkColumns(
    path,
    opts.columns,
    fields.map((f) => f.name),
  );
  const wanted = opts.columns ? new Set(opts.columns) : undefined;
  const picked = fields
    .map((field, index) => ({ field, index }))
    .filter(({ field }) => !wanted || wanted.has(field.name));
  for (const { field } of picked) {
    if (!supported(arrow, field.type))
      throw unsupportedColumn(path, field.name, `${field.type} values`);
  }
  const set = new ColumnSet('keep');
  const builders = picked.map(({ field }) => set.column(field.name, 0));
  let rows = 0;
  for (const batch of table.batches) {
    for (const [i, { field, index }] of picked.entries()) {
      append(arrow, path, field.name, builders[i]!, batch.getChildAt(index)!);
    }
    rows += batch.numRows;
    opts.onProgress?.(rows, table.numRows);
  }
  return { table: set.build(rows), rows };
}

async function loadArrow(): Promise<Arrow> {
  try {
    return (await import('apache-arrow')) as Arrow;
  } catch (error) {
    throw new ValidationError(
      '[keel] reading Arrow IPC files needs the "apache-arrow" package (an optional peer dependency): install it (npm install apache-arrow), or run npx -p keel -p apache-arrow keel drift …',
      { cause: error },
    );
  }
}

function supported(arrow: Arrow, type: DataType): boolean {
  const T = arrow.DataType;
  if (T.isDictionary(type)) return supported(arrow, type.dictionary);
  return (
    T.isInt(type) ||
    T.isFloat(type) ||
    T.isBool(type) ||
    T.isUtf8(type) ||
    T.isLargeUtf8(type) ||
    T.isUtf8View(type) ||
    T.isDate(type) ||
    T.isTimestamp(type) ||
    T.isNull(type)
  );
}

function append(
  arrow: Arrow,
  path: string,
  name: string,
  builder: ColumnBuilder,
  vector: Vector,
): void {
  const T = arrow.DataType;
  const type = vector.type as DataType;
  const blockCopy =
    vector.nullCount === 0 &&
    ((T.isFloat(type) && type.precision !== arrow.Precision.HALF) ||
      (T.isInt(type) && type.bitWidth < 64));
  if (blockCopy) {
    builder.numbersFrom(vector.toArray() as ArrayLike<number>);
    return;
  }
  for (let i = 0; i < vector.length; i++) {
    if (!builder.value(vector.get(i)))
      throw unsupportedColumn(path, name, `${String(type)} values`);
  }
}

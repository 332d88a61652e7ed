/**
 * @module
 * Parquet files through hyparquet (pure JS), read one column of one row group at a time:
 * numeric physical types become numbers (INT64 as the nearest double, timestamps and dates as
 * epoch milliseconds), strings and booleans labels, nulls missing. Nested columns (lists,
 * structs, maps) and binary values are an input error naming the column.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetScan, parquetSchema } from 'hyparquet';
import { ValidationError } from '../../core/errors.js';
import { type ColumnBuilder, ColumnSet } from './columns.js';
import {
  checkColumns,
  fileStats,
  type ReaderOptions,
  type ReadTable,
  unsupportedColumn,
} from './source.js';

type Metadata = Awaited<ReturnType<typeof parquetMetadataAsync>>;

/** Reads a Parquet file into columns. */
export async function readParquet(path: string, opts: ReaderOptions = {}): Promise<ReadTable> {
  fileStats(path);
  const file = await asyncBufferFromFile(path);
  let metadata: Metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new ValidationError(
      `[keel] ${path} is not a readable Parquet file: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const schema = parquetSchema(metadata);
  const available = schema.children.map((child) => child.element.name);
  checkColumns(path, opts.columns, available);
  const wanted = opts.columns ? new Set(opts.columns) : undefined;
  const picked = schema.children.filter((child) => !wanted || wanted.has(child.element.name));
  for (const child of picked) {
    const { element } = child;
    if (child.children.length > 0 || element.num_children) {
      throw unsupportedColumn(path, element.name, 'nested values (a list, struct or map)');
    }
    if (
      (element.type === 'BYTE_ARRAY' || element.type === 'FIXED_LEN_BYTE_ARRAY') &&
      !isText(element)
    ) {
      throw unsupportedColumn(
        path,
        element.name,
        `${element.logical_type?.type ?? element.converted_type ?? element.type} values`,
      );
    }
  }
  const names = picked.map((child) => child.element.name);
  const rows = Number(metadata.num_rows);
  const set = new ColumnSet('keep');
  const builders = names.map((name) => set.column(name, 0));
  try {
    const scan = await parquetScan({ file, metadata, columns: names });
    for (const range of scan.ranges) {
      for (const [i, name] of names.entries()) {
        const values = await scan.readColumn({ column: name, ...range });
        append(path, name, builders[i]!, values);
      }
      opts.onProgress?.(range.rowEnd, rows);
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(
      `[keel] ${path}: cannot read the Parquet data: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { table: set.build(rows), rows };
}

function isText(element: { converted_type?: string; logical_type?: { type: string } }): boolean {
  const logical = element.logical_type?.type;
  return (
    logical === 'STRING' ||
    logical === 'ENUM' ||
    logical === 'UUID' ||
    element.converted_type === 'UTF8' ||
    element.converted_type === 'ENUM'
  );
}

function append(
  path: string,
  name: string,
  builder: ColumnBuilder,
  values: ArrayLike<unknown>,
): void {
  if (
    values instanceof Float64Array ||
    values instanceof Float32Array ||
    values instanceof Int32Array ||
    values instanceof Uint32Array
  ) {
    builder.numbersFrom(values);
    return;
  }
  for (let i = 0; i < values.length; i++) {
    if (!builder.value(values[i]))
      throw unsupportedColumn(path, name, `${describe(values[i])} values`);
  }
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return 'binary';
  if (Array.isArray(value)) return 'list';
  return typeof value;
}

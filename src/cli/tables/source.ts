/**
 * @module
 * What every table reader shares: the options, the opening of the file (a missing or
 * unreadable file is a clear input error), and the check of the columns asked for.
 */
import { type Stats, statSync } from 'node:fs';
import { ValidationError } from '../../core/errors.js';

/** The columns of a table file, as `detectDrift` takes them. */
export type ColumnTable = Record<string, ArrayLike<unknown>>;

/** What a reader returns. */
export interface ReadTable {
  /** Columns by name: `Float64Array` for numbers (NaN missing), arrays of labels (null missing). */
  table: ColumnTable;
  /** Number of rows. */
  rows: number;
}

/** Options of every reader. */
export interface ReaderOptions {
  /** Only these columns (all when absent). */
  columns?: readonly string[] | undefined;
  /** Told how far the reading is: `done` of `total` (bytes, or rows for columnar files). */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** The file's stats, or a ValidationError saying why it cannot be read. */
export function fileStats(path: string): Stats {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ValidationError(
      code === 'ENOENT'
        ? `[keel] cannot read ${path}: no such file; check the path`
        : `[keel] cannot read ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!stats.isFile()) throw new ValidationError(`[keel] cannot read ${path}: it is not a file`);
  return stats;
}

/** Throws unless every column asked for is among `available`. */
export function checkColumns(
  path: string,
  wanted: readonly string[] | undefined,
  available: readonly string[],
): void {
  if (!wanted) return;
  const known = new Set(available);
  const missing = wanted.filter((name) => !known.has(name));
  if (missing.length > 0) {
    throw new ValidationError(
      `[keel] ${path} has no column ${missing.map((n) => JSON.stringify(n)).join(', ')}; its columns are ${available.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  }
}

/** A ValidationError for a column whose values drift cannot test. */
export function unsupportedColumn(path: string, column: string, found: string): ValidationError {
  return new ValidationError(
    `[keel] ${path}: column ${JSON.stringify(column)} holds ${found}; drift tests numbers and labels (strings, booleans): leave the column out with --columns, or flatten it`,
    { details: { column } },
  );
}

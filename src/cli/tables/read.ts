/**
 * @module
 * Picks the reader of a table file by its extension (or `--format`): CSV, TSV, JSON lines,
 * Parquet or Arrow IPC.
 */
import { extname } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { readArrow } from './arrow.js';
import { readCsv } from './csv.js';
import { readJsonLines } from './jsonl.js';
import { readParquet } from './parquet.js';
import type { ReaderOptions, ReadTable } from './source.js';

/** The formats `keel drift` reads. */
export const TABLE_FORMATS = ['csv', 'tsv', 'jsonl', 'parquet', 'arrow'] as const;
/** One of {@link TABLE_FORMATS}. */
export type TableFormat = (typeof TABLE_FORMATS)[number];

const BY_EXTENSION: Readonly<Record<string, TableFormat>> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.arrows': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
};

/** The format of `path`: `format` when given, else by extension. */
export function formatOf(path: string, format?: TableFormat): TableFormat {
  if (format) return format;
  const found = BY_EXTENSION[extname(path).toLowerCase()];
  if (found) return found;
  throw new ValidationError(
    `[keel] cannot tell the format of ${path} from its extension; name it .csv, .tsv, .jsonl, .parquet or .arrow, or pass --format <${TABLE_FORMATS.join('|')}>`,
  );
}

/** Reads the table in `path` as columns. */
export function readTable(
  path: string,
  opts: ReaderOptions & { format?: TableFormat | undefined } = {},
): Promise<ReadTable> {
  switch (formatOf(path, opts.format)) {
    case 'csv':
      return readCsv(path, opts);
    case 'tsv':
      return readCsv(path, { ...opts, delimiter: '\t' });
    case 'jsonl':
      return readJsonLines(path, opts);
    case 'parquet':
      return readParquet(path, opts);
    case 'arrow':
      return readArrow(path, opts);
  }
}

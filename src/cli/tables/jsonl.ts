/**
 * @module
 * JSON lines files (one JSON object a line; `.jsonl`, `.ndjson`), streamed line by line into
 * columns: numbers as numbers, strings and booleans as labels, null or an absent key as
 * missing. A column mixing numbers and labels stays mixed (`detectDrift` reports it skipped);
 * an object or array value is an input error.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ValidationError } from '../../core/errors.js';
import { ColumnSet } from './columns.js';
import {
  checkColumns,
  fileStats,
  type ReaderOptions,
  type ReadTable,
  unsupportedColumn,
} from './source.js';

/** Reads a JSON lines file into columns. */
export async function readJsonLines(path: string, opts: ReaderOptions = {}): Promise<ReadTable> {
  const size = fileStats(path).size;
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const wanted = opts.columns ? new Set(opts.columns) : undefined;
  const set = new ColumnSet('keep');
  let rows = 0;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new ValidationError(
        `[keel] ${path} line ${lineNumber} is not JSON: ${(error as Error).message}; a JSON lines file holds one object a line`,
        { cause: error },
      );
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw new ValidationError(
        `[keel] ${path} line ${lineNumber} is ${Array.isArray(row) ? 'an array' : JSON.stringify(row)}, not an object; a JSON lines file holds one object a line`,
      );
    }
    for (const [name, value] of Object.entries(row)) {
      if (wanted && !wanted.has(name)) continue;
      if (!set.column(name, rows).value(value)) {
        throw unsupportedColumn(
          path,
          name,
          `${Array.isArray(value) ? 'an array' : 'an object'} at line ${lineNumber}`,
        );
      }
    }
    rows++;
    set.padTo(rows);
    if ((rows & 0x3fff) === 0) opts.onProgress?.(input.bytesRead, size);
  }
  checkColumns(path, opts.columns, set.names);
  opts.onProgress?.(size, size);
  return { table: set.build(rows), rows };
}

/**
 * @module
 * CSV (and TSV) files, streamed through csv-parse (RFC 4180: quotes, embedded newlines, a BOM)
 * into columns. A column is numerical when every cell that is not missing is a decimal number;
 * otherwise categorical (its number-like cells as their text). Missing cells are pandas'
 * defaults: empty, `NA`, `N/A`, `NaN`, `null`, `None`, ...
 */
import { createReadStream } from 'node:fs';
import { CsvError, parse } from 'csv-parse';
import { ValidationError } from '../../core/errors.js';
import { type ColumnBuilder, ColumnSet } from './columns.js';
import { checkColumns, fileStats, type ReaderOptions, type ReadTable } from './source.js';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;
/** The cells pandas reads as missing by default. */
const MISSING: ReadonlySet<string> = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);

/** Reads a CSV file (`delimiter` `,`) or a TSV file (`\t`) into columns. */
export async function readCsv(
  path: string,
  opts: ReaderOptions & { delimiter?: string } = {},
): Promise<ReadTable> {
  const size = fileStats(path).size;
  const input = createReadStream(path);
  const parser = input.pipe(
    parse({ bom: true, delimiter: opts.delimiter ?? ',', skip_empty_lines: true }),
  );
  input.on('error', (error) => parser.destroy(error));
  const set = new ColumnSet('text');
  let header: string[] | undefined;
  let picked: { index: number; builder: ColumnBuilder }[] = [];
  let rows = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = checkHeader(path, record);
        checkColumns(path, opts.columns, header);
        const wanted = opts.columns ? new Set(opts.columns) : undefined;
        picked = header
          .map((name, index) => ({ name, index }))
          .filter((c) => !wanted || wanted.has(c.name))
          .map(({ name, index }) => ({ index, builder: set.column(name, 0) }));
        continue;
      }
      for (const { index, builder } of picked) {
        const text = record[index]!;
        const trimmed = text.trim();
        if (MISSING.has(trimmed)) builder.missing();
        else if (NUMBER.test(trimmed)) builder.number(Number(trimmed));
        else if (INFINITY.test(trimmed))
          builder.number(trimmed.startsWith('-') ? -Infinity : Infinity);
        else builder.label(text);
      }
      rows++;
      if ((rows & 0x3fff) === 0) opts.onProgress?.(input.bytesRead, size);
    }
  } catch (error) {
    if (error instanceof CsvError) {
      throw new ValidationError(
        `[keel] ${path} is not valid CSV${error.lines === undefined ? '' : ` (line ${error.lines})`}: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
  if (!header) throw new ValidationError(`[keel] ${path} is empty: a CSV file needs a header row`);
  opts.onProgress?.(size, size);
  return { table: set.build(rows), rows };
}

function checkHeader(path: string, header: string[]): string[] {
  const seen = new Set<string>();
  for (const [i, name] of header.entries()) {
    if (name.trim() === '') {
      throw new ValidationError(
        `[keel] ${path}: header cell ${i + 1} is empty; every column needs a name in the first row`,
      );
    }
    if (seen.has(name)) {
      throw new ValidationError(
        `[keel] ${path}: the header names column ${JSON.stringify(name)} twice`,
      );
    }
    seen.add(name);
  }
  return header;
}

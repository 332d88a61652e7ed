/**
 * @module
 * Reads a table file for a command (`drift`, `profile`) with a progress bar on a terminal.
 */
import { basename } from 'node:path';
import { progressBar } from '../progress.js';
import { readTable, type TableFormat } from '../tables/read.js';
import type { ColumnTable } from '../tables/source.js';

/** The columns of `path`, with `--columns` and `--format` applied. */
export async function readTableFile(
  path: string,
  opts: { columns?: string[] | undefined; format?: TableFormat | undefined },
): Promise<ColumnTable> {
  const progress = progressBar(`reading ${basename(path)}`);
  try {
    const { table } = await readTable(path, {
      columns: opts.columns,
      format: opts.format,
      onProgress: (done, total) => progress.update(done, total),
    });
    return table;
  } finally {
    progress.finish();
  }
}

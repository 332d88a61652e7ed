/** The results table every benchmark prints: one row per case, with its same-run baseline. */

export interface BenchRow {
  name: string;
  /** keel's figure, with its unit. */
  figure: string;
  /** The baseline's figure, measured in the same run, with what it is. */
  baseline: string;
  ratio: string;
  goal: string;
}

/** Prints `rows` as a markdown table (ready for docs/benchmarks.md). */
export function printTable(rows: readonly BenchRow[]): void {
  process.stdout.write('| benchmark | keel | baseline | ratio | goal |\n|---|---|---|---|---|\n');
  for (const row of rows) {
    process.stdout.write(
      `| ${row.name} | ${row.figure} | ${row.baseline} | ${row.ratio} | ${row.goal} |\n`,
    );
  }
}

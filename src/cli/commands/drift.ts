/**
 * @module
 * `keel drift <reference> <current>`: reads two tables (CSV, TSV, JSON lines, Parquet, Arrow)
 * or a stored profile as the reference, runs `detectDrift`, prints a table (or `--json`),
 * writes an HTML report with `--html`, and exits 1 on drift only with `--fail-on-drift`.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { isDigest } from '../../core/digest.js';
import {
  type DetectDriftOptions,
  type DetectDriftReport,
  detectDrift,
} from '../../drift/dataset.js';
import type { Profile } from '../../drift/profile.js';
import { columnsByDrift, renderDriftReport } from '../../report/drift.js';
import { type CliContext, withKeel } from '../context.js';
import { EXIT } from '../exit.js';
import { readInputFile } from '../files.js';
import { formatNumber, json, section, table } from '../output.js';
import { readProfile } from '../tables/profile-file.js';
import { TABLE_FORMATS, type TableFormat } from '../tables/read.js';
import { commaList, finiteNumber } from './options.js';
import { readTableFile } from './table-input.js';

interface DriftOptions {
  json?: boolean;
  html?: string;
  failOnDrift?: boolean;
  method?: string;
  threshold?: number;
  correction?: 'none' | 'bonferroni' | 'bh';
  driftShare?: number;
  minEffect?: number;
  columns?: string[];
  categorical?: string[];
  format?: TableFormat;
}

/** Registers `keel drift`. */
export function registerDrift(program: Command, ctx: CliContext): void {
  program
    .command('drift')
    .description(
      'test every column of <current> against <reference> for drift (exit 1 on drift only with --fail-on-drift)',
    )
    .argument(
      '<reference>',
      "a table file (.csv .tsv .jsonl .parquet .arrow), a profile (.json), or a stored profile's digest (sha256:…, with --store)",
    )
    .argument('<current>', 'a table file (.csv .tsv .jsonl .parquet .arrow)')
    .option('--json', 'print the drift report as JSON')
    .option('--html <file>', 'write the report as a self-contained HTML page')
    .option('--fail-on-drift', 'exit 1 when the dataset drifted (for a CI step)')
    .option(
      '--method <name>',
      'the detector for every column it supports, e.g. ks, psi, wasserstein',
    )
    .option('--threshold <x>', "the detector's threshold for every column", finiteNumber)
    .addOption(
      new Option('--correction <kind>', 'multiple-testing correction of p-values').choices([
        'none',
        'bonferroni',
        'bh',
      ]),
    )
    .option(
      '--drift-share <x>',
      'with no correction: the share of drifted columns that makes the dataset drift (default 0.5)',
      finiteNumber,
    )
    .option(
      '--min-effect <x>',
      'a p-value test drifts only with at least this effect size',
      finiteNumber,
    )
    .option('--columns <names>', 'only these columns (comma-separated)', commaList)
    .option(
      '--categorical <names>',
      'test these columns as categories (e.g. integer codes)',
      commaList,
    )
    .addOption(
      new Option(
        '--format <format>',
        "the files' format, when their extensions do not tell",
      ).choices(TABLE_FORMATS),
    )
    .action(async (reference: string, current: string, opts: DriftOptions, command: Command) => {
      const ref = await readReference(reference, opts, command);
      const cur = await readTableFile(current, opts);
      const report = detectDrift(ref, cur, driftOptions(opts));
      if (opts.html) {
        writeFileSync(
          opts.html,
          renderDriftReport(report, {
            description: `${basename(reference)} → ${basename(current)}`,
          }),
        );
      }
      if (opts.json) ctx.output.out(json(report));
      else ctx.output.out(driftTable(report));
      if (opts.html && !opts.json) ctx.output.err(`report written to ${opts.html}\n`);
      if (report.drifted && opts.failOnDrift) ctx.exit(EXIT.checkFailed);
    });
}

async function readReference(
  reference: string,
  opts: DriftOptions,
  command: Command,
): Promise<Profile | Record<string, ArrayLike<unknown>>> {
  if (isDigest(reference)) {
    return withKeel(command, async (keel) =>
      readProfile(`artifact ${reference}`, await keel.artifacts.get(reference)),
    );
  }
  if (reference.toLowerCase().endsWith('.json')) {
    return readProfile(reference, readInputFile(reference));
  }
  return readTableFile(reference, opts);
}

function driftOptions(opts: DriftOptions): DetectDriftOptions {
  return {
    ...(opts.method === undefined ? {} : { method: opts.method }),
    ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
    ...(opts.correction === undefined ? {} : { correction: opts.correction }),
    ...(opts.driftShare === undefined ? {} : { driftShare: opts.driftShare }),
    ...(opts.minEffect === undefined ? {} : { minEffect: opts.minEffect }),
    ...(opts.categorical?.length
      ? {
          columns: Object.fromEntries(
            opts.categorical.map((name) => [name, { type: 'categorical' as const }]),
          ),
        }
      : {}),
  };
}

function driftTable(report: DetectDriftReport): string {
  const rows = columnsByDrift(report.columns);
  const skipped = Object.entries(report.skipped);
  const verdict = report.drifted ? 'DRIFT' : 'no drift';
  return [
    `${verdict}: ${report.driftedColumns} of ${report.tested} tested columns drifted (share ${formatNumber(report.share)}, correction ${report.correction}${report.correction === 'none' ? `, drift share ${formatNumber(report.driftShare)}` : ''})${skipped.length ? `; ${skipped.length} skipped` : ''}\n\n`,
    table(
      ['COLUMN', 'TYPE', 'METHOD', 'STATISTIC', 'P-VALUE', 'THRESHOLD', 'DRIFTED'],
      rows.map(({ name, column }) => [
        name,
        column.type,
        column.method,
        formatNumber(column.statistic),
        column.pValue === undefined ? '' : formatNumber(column.pValue),
        formatNumber(column.threshold),
        column.drifted ? 'yes' : 'no',
      ]),
    ),
    skipped.length
      ? section(
          'Skipped columns',
          table(
            ['COLUMN', 'REASON', 'MESSAGE'],
            skipped.map(([name, s]) => [name, s.reason, s.message]),
          ),
        )
      : '',
  ].join('');
}

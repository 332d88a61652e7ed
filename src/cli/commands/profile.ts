/**
 * @module
 * `keel profile <table>`: the reference profile of a table file (`profile()`), as JSON on
 * stdout or in `--out`, for `keel drift <profile.json> <current>` later.
 */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { profile } from '../../drift/profile.js';
import type { CliContext } from '../context.js';
import { json } from '../output.js';
import { TABLE_FORMATS, type TableFormat } from '../tables/read.js';
import { commaList } from './options.js';
import { readTableFile } from './table-input.js';

/** Registers `keel profile`. */
export function registerProfile(program: Command, ctx: CliContext): void {
  program
    .command('profile')
    .description(
      'the reference profile of a table file, as JSON (a compact stand-in for the table in keel drift)',
    )
    .argument('<table>', 'a table file (.csv .tsv .jsonl .parquet .arrow)')
    .option('--out <file>', 'write the profile to this file instead of stdout')
    .option('--columns <names>', 'only these columns (comma-separated)', commaList)
    .option('--categorical <names>', 'profile these columns as categories', commaList)
    .addOption(
      new Option(
        '--format <format>',
        "the file's format, when its extension does not tell",
      ).choices(TABLE_FORMATS),
    )
    .action(
      async (
        path: string,
        opts: { out?: string; columns?: string[]; categorical?: string[]; format?: TableFormat },
      ) => {
        const table = await readTableFile(path, opts);
        const types = Object.fromEntries(
          (opts.categorical ?? []).map((n) => [n, 'categorical' as const]),
        );
        const text = json(profile(table, { types }));
        if (opts.out) {
          writeFileSync(opts.out, text);
          ctx.output.err(`profile written to ${opts.out}\n`);
        } else ctx.output.out(text);
      },
    );
}

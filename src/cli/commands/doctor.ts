/**
 * @module
 * `keel doctor`: checks every document, log and blob of the store (`keel.doctor()`),
 * quarantines corrupt documents and rebuilds indexes unless `--dry-run`; exit 1 when
 * anything corrupt was found.
 */
import type { Command } from 'commander';
import { type CliContext, withKeel } from '../context.js';
import { EXIT } from '../exit.js';
import { fields, json, section, table } from '../output.js';

/** Registers `keel doctor`. */
export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description(
      'check every document, log and blob; quarantine corrupt documents and rebuild indexes (exit 1 when anything was corrupt)',
    )
    .option('--dry-run', 'only check and report: change nothing')
    .option('--rebuild-indexes', 'rebuild the search indexes even when nothing is damaged')
    .option('--json', 'print the report as JSON')
    .action(
      async (
        opts: { dryRun?: boolean; rebuildIndexes?: boolean; json?: boolean },
        command: Command,
      ) => {
        const report = await withKeel(command, (keel) =>
          keel.doctor({
            dryRun: opts.dryRun === true,
            rebuildIndexes: opts.rebuildIndexes === true,
          }),
        );
        if (opts.json) ctx.output.out(json(report));
        else {
          ctx.output.out(
            fields([
              ['store', report.corrupt.length === 0 ? 'sound' : report.ok ? 'repaired' : 'DAMAGED'],
              ['dry run', report.dryRun ? 'yes' : undefined],
              [
                'checked',
                `${report.checked.documents} documents, ${report.checked.logs} logs (${report.checked.logEntries} entries), ${report.checked.blobs} blobs`,
              ],
              ['report', report.reportKey],
            ]),
          );
          if (report.corrupt.length > 0) {
            ctx.output.out(
              section(
                'Corrupt',
                table(
                  ['KIND', 'KEY', 'OFFSET', 'REASON'],
                  report.corrupt.map((f) => [f.kind, f.key, f.offset, f.reason]),
                ),
              ),
            );
          }
          if (report.repaired.length > 0) {
            ctx.output.out(
              section(
                'Repaired',
                table(
                  ['ACTION', 'KEY', 'TO'],
                  report.repaired.map((r) => [r.action, r.key, r.to]),
                ),
              ),
            );
          }
        }
        if (report.corrupt.length > 0) ctx.exit(EXIT.checkFailed);
      },
    );
}

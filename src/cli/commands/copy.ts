/**
 * @module
 * `keel copy --to <store>`: copies every artifact, log entry and document of the store into
 * another (`copyBackend`), e.g. from a directory to PostgreSQL + S3; `--resume` continues an
 * interrupted copy. A progress line on a terminal.
 */
import type { Command } from 'commander';
import type { Backend } from '../../backends/backend.js';
import { type CopyBackendOptions, type CopyReport, copyBackend } from '../../backends/copy.js';
import { ConflictError, isKeelError } from '../../core/errors.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { fields, json } from '../output.js';
import { progressBar } from '../progress.js';
import { openBackend, storeLocation } from '../store.js';

/** `copyBackend`, with a refused non-empty target told in command-line terms. */
async function copyOrExplain(
  from: Backend,
  to: Backend,
  opts: CopyBackendOptions,
): Promise<CopyReport> {
  try {
    return await copyBackend(from, to, opts);
  } catch (error) {
    if (isKeelError(error, 'KEEL_CONFLICT') && !opts.resume) {
      throw new ConflictError(
        `${error.message} (on the command line: add --resume to continue a copy into this target)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Registers `keel copy`. */
export function registerCopy(program: Command, ctx: CliContext): void {
  program
    .command('copy')
    .description('copy everything the store holds into another store (artifacts, logs, documents)')
    .requiredOption('--to <location>', 'the target store: a directory or postgres://…')
    .option(
      '--to-artifacts <location>',
      "the target's artifacts: a directory or s3://bucket/prefix (required with a postgres:// target)",
    )
    .option('--resume', 'continue an interrupted copy into a target that is not empty')
    .option('--json', 'print the copy report as JSON')
    .action(
      async (
        opts: { to: string; toArtifacts?: string; resume?: boolean; json?: boolean },
        command: Command,
      ) => {
        const from = await openBackend(storeLocation(command.optsWithGlobals<GlobalOptions>()));
        try {
          const to = await openBackend(
            { store: opts.to, artifacts: opts.toArtifacts },
            { create: true, flag: '--to' },
          );
          const progress = progressBar('copying');
          try {
            const report = await copyOrExplain(from, to, {
              resume: opts.resume === true,
              onProgress: (p) =>
                progress.update(
                  0,
                  0,
                  `${p.phase}: ${p.artifacts} artifacts (${p.bytes} bytes), ${p.logs} logs, ${p.documents} documents`,
                ),
            });
            progress.finish();
            ctx.output.out(
              opts.json
                ? json(report)
                : fields([
                    [
                      'artifacts',
                      `${report.artifacts.copied} copied (${report.artifacts.bytes} bytes), ${report.artifacts.present} already there`,
                    ],
                    [
                      'logs',
                      `${report.logs.logs} logs: ${report.logs.appended} entries appended, ${report.logs.present} already there`,
                    ],
                    [
                      'documents',
                      `${report.documents.copied} copied, ${report.documents.present} already there`,
                    ],
                  ]),
            );
          } finally {
            progress.finish();
            await to.close?.();
          }
        } finally {
          await from.close?.();
        }
      },
    );
}

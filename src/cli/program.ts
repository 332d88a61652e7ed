/**
 * @module
 * The `keel` program: its global options, its commands, and the mapping of every outcome to
 * an exit code (0 ok, 1 a check failed, 2 usage or input error). See docs/cli.md.
 */
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { registerAudit } from './commands/audit.js';
import { registerCopy } from './commands/copy.js';
import { registerDoctor } from './commands/doctor.js';
import { registerDrift } from './commands/drift.js';
import { registerGate } from './commands/gate.js';
import { registerGc } from './commands/gc.js';
import { registerModels } from './commands/models.js';
import { registerProfile } from './commands/profile.js';
import { registerRuns } from './commands/runs.js';
import { registerUi } from './commands/ui.js';
import type { CliContext } from './context.js';
import { EXIT, errorMessage } from './exit.js';
import type { Output } from './output.js';

/** The `keel` program writing to `output`; `ctx.exit` collects the exit code. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('keel')
    .description(
      'Ask a keel store questions (runs, models, audit), check it, copy it, and test data drift and gates.',
    )
    .version(packageJson.version, '-V, --version', 'print the version')
    .option(
      '--store <location>',
      'the store: a directory (fs backend) or postgres://… (env KEEL_STORE)',
    )
    .option(
      '--artifacts <location>',
      'where artifacts are, when not in the store directory: a directory or s3://bucket/prefix (env KEEL_ARTIFACTS)',
    )
    .option(
      '--actor <id>',
      'who the audit log names for writes (env KEEL_ACTOR; default cli:<user>)',
    )
    .helpOption('-h, --help', 'show help')
    .addHelpCommand(false)
    .showHelpAfterError('(run with --help for usage)')
    // Each command's help lists --store, --artifacts and --actor too.
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.output.out(text),
      writeErr: (text) => ctx.output.err(text),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a check failed, 2 usage or input error.\nSee node_modules/keel/docs/cli.md.',
    );
  registerRuns(program, ctx);
  registerModels(program, ctx);
  registerAudit(program, ctx);
  registerDoctor(program, ctx);
  registerDrift(program, ctx);
  registerProfile(program, ctx);
  registerGate(program, ctx);
  registerGc(program, ctx);
  registerCopy(program, ctx);
  registerUi(program, ctx);
  return program;
}

/** Runs `keel` with `argv` (without node and the script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], output: Output): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: CliContext = {
    output,
    exit: (next) => {
      code = Math.max(code, next);
    },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with 0; commander has already printed any usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    output.err(`${errorMessage(error)}\n`);
    return EXIT.usage;
  }
  return code;
}

/**
 * @module
 * `keel audit verify`: recomputes the registry's audit hash chain; exit 1 when it does not
 * verify (an entry edited, removed or reordered).
 */
import type { Command } from 'commander';
import { type CliContext, withKeel } from '../context.js';
import { EXIT } from '../exit.js';
import { fields, json } from '../output.js';

/** Registers `keel audit verify`. */
export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description("the registry's audit log");
  audit
    .command('verify')
    .description('recompute the hash chain of the audit log; exit 1 when it does not verify')
    .option('--json', 'print the verification as JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const verification = await withKeel(command, (keel) => keel.registry.verifyAudit());
      if (opts.json) ctx.output.out(json(verification));
      else {
        ctx.output.out(
          fields([
            ['audit log', verification.ok ? 'verifies' : 'DOES NOT VERIFY'],
            ['entries', verification.entries],
            ['head hash', verification.headHash],
            ['first bad offset', verification.firstBadOffset],
            ['reason', verification.reason],
            ['authenticated from', verification.authenticatedFrom],
          ]),
        );
      }
      if (!verification.ok) ctx.exit(EXIT.checkFailed);
    });
}

/**
 * @module
 * The command line's exit codes, and how an error becomes one: its message on stderr, never
 * a stack trace (unless `KEEL_DEBUG=1`).
 */
import { isKeelError } from '../core/errors.js';

/** Exit codes of every `keel` command (docs/cli.md). */
export const EXIT = {
  /** The command did its work; a check it ran passed. */
  ok: 0,
  /** A check failed: drift with `--fail-on-drift`, a gate with `--fail-on-fail`, an audit chain or a store that does not verify. */
  checkFailed: 1,
  /** Bad usage or input (unknown option, missing or malformed file, unknown run), or any other failure. */
  usage: 2,
} as const;

/** The message to print for an error a command threw: a keel error's message as it is. */
export function errorMessage(error: unknown): string {
  if (process.env.KEEL_DEBUG === '1' && error instanceof Error && error.stack) return error.stack;
  if (isKeelError(error)) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return `[keel] ${message}`;
}

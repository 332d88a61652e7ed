/**
 * @module
 * What every command gets: the output, the store options of the command line, and a keel
 * instance over that store that is closed when the command ends.
 */
import type { Command } from 'commander';
import { createKeel, type Keel } from '../keel.js';
import type { Output } from './output.js';
import { openBackend, storeLocation } from './store.js';

/** The options every command inherits from `keel` itself. */
export interface GlobalOptions {
  /** `--store`. */
  store?: string;
  /** `--artifacts`. */
  artifacts?: string;
  /** `--actor`: who the audit log names for writes (gc, doctor). */
  actor?: string;
}

/** Shared by the commands of one `keel` invocation. */
export interface CliContext {
  /** Where results and notes go. */
  readonly output: Output;
  /** Sets the process exit code the command ends with (the highest one set wins). */
  exit(code: number): void;
}

/**
 * Runs `work` with a keel instance over the store of `command`'s options, and closes it after
 * (also when `work` throws).
 */
export async function withKeel<T>(command: Command, work: (keel: Keel) => Promise<T>): Promise<T> {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const backend = await openBackend(storeLocation(opts));
  const keel = createKeel({ backend, actor: { id: opts.actor ?? defaultActor() } });
  try {
    return await work(keel);
  } finally {
    await keel.close();
  }
}

/** `KEEL_ACTOR`, else `cli:<user>`. */
export function defaultActor(): string {
  return process.env.KEEL_ACTOR || `cli:${process.env.USER || process.env.USERNAME || 'unknown'}`;
}

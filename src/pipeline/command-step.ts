/**
 * @module
 * `commandStep`: wraps an external program (a Python training script, a CLI) as a pipeline
 * step. Node only (it spawns a process): exported from `keel/fs`, never from the root entry.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { ArtifactMeta, ArtifactRef } from '../artifacts/types.js';
import { ErrorCodes, KeelError, type KeelErrorOptions, NotFoundError } from '../core/errors.js';
import { parseWith } from '../core/validate.js';
import { stepNameSchema } from './schemas.js';
import type { StepContext } from './types.js';

/** Options of {@link commandStep}. */
export interface CommandStepOptions<A = unknown> {
  /** The program to run (looked up on `PATH`), e.g. `'python'` or `process.execPath`. */
  command: string;
  /** Its arguments, or a function of the step's arguments (`{ input, ...deps }`) returning them. */
  args?: readonly string[] | ((args: A, ctx: StepContext) => readonly string[]);
  /** Extra environment variables, added to the parent process's environment. */
  env?: Record<string, string>;
  /** Working directory of the program; relative output paths resolve from it. Default: `process.cwd()`. */
  cwd?: string;
  /** Files the program writes, by name: each is stored as an artifact once the program exits 0. */
  outputs?: Record<string, string>;
  /** How many trailing stderr lines a failure message quotes. Default 20. */
  stderrLines?: number;
  /**
   * `true`: while the program runs, keel serves its MLflow tracking endpoint on an ephemeral
   * 127.0.0.1 port and sets `MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_NAME` and
   * `MLFLOW_RUN_ID` (over `env`), so that `mlflow.start_run()` in the program attaches to the
   * step's run: its params, metrics, tags and artifacts land there (docs/mlflow.md). Nothing
   * listens once the program has exited. Default false.
   */
  mlflow?: boolean;
}

/** What a command step returns: references only (it caches and resumes like any JSON output). */
export interface CommandStepResult {
  /** Always 0: every other exit code fails the step. */
  exitCode: number;
  /** The program's standard output, stored as it streamed. */
  stdout: ArtifactRef;
  /** The program's standard error, stored as it streamed. */
  stderr: ArtifactRef;
  /** The last value of each metric the program printed as `keel:metric {json}`. */
  metrics: Record<string, number>;
  /** Each declared output file, stored. */
  outputs: Record<string, ArtifactRef>;
}

/** The external program of a command step exited with a non-zero code or a signal. */
export class CommandFailedError extends KeelError {
  /** The exit code, or `null` when a signal ended the program. */
  readonly exitCode: number | null;
  /** The signal that ended the program, if any. */
  readonly signal: string | null;
  /** The last lines the program wrote to stderr. */
  readonly stderrTail: readonly string[];

  constructor(
    message: string,
    options: KeelErrorOptions & {
      exitCode: number | null;
      signal: string | null;
      stderrTail: readonly string[];
    },
  ) {
    super(ErrorCodes.commandFailed, message, options);
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.stderrTail = options.stderrTail;
  }
}

/**
 * A step function that runs an external program. Its stdout and stderr stream into
 * artifacts of the step's run; stdout lines `keel:metric {"loss": 0.3, "step": 2}` (or
 * `{"key": "loss", "value": 0.3}`) become metrics of the step's run; declared output files
 * are stored as artifacts. A non-zero exit fails the step with {@link CommandFailedError},
 * quoting the last lines of stderr. Aborting the step (timeout, abort) kills the program.
 *
 * @throws {ValidationError} (when declared) when `name` or an option is invalid. The step it
 *   returns fails with {@link CommandFailedError} on a non-zero exit, a `KeelError` of the
 *   same code when the program cannot start, and `NotFoundError` when a declared output file
 *   was not written.
 *
 * @example
 * ```ts
 * const train = pipeline('train')
 *   .step('fit', commandStep('fit', {
 *     command: 'python', args: ['train.py', '--epochs', '3'],
 *     outputs: { model: 'out/model.pkl' },
 *   }), { timeoutMs: 3_600_000 })
 *   .build();
 * ```
 */
export function commandStep<A = unknown>(
  name: string,
  options: CommandStepOptions<A>,
): (args: A, ctx: StepContext) => Promise<CommandStepResult> {
  const label = parseWith(stepNameSchema, name, 'command step name');
  const checked = parseWith(optionsSchema, options, `options of command step "${label}"`);
  const tailSize = checked.stderrLines ?? 20;
  return async (args, ctx) => {
    const argv =
      typeof options.args === 'function' ? options.args(args, ctx) : (options.args ?? []);
    const argList = parseWith(
      z.array(z.string()),
      [...argv],
      `arguments of command step "${label}"`,
    );
    const cwd = checked.cwd ?? process.cwd();
    const shown = [checked.command, ...argList].join(' ').slice(0, 200);
    const metrics: Record<string, number> = {};
    const tail: string[] = [];

    // loaded only when asked for: keel/fs stays free of node:http and the MLflow endpoint
    const served = checked.mlflow
      ? await (await import('../mlflow/step-server.js')).serveStepRun(ctx.keel, ctx.run.id)
      : undefined;
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...checked.env,
      ...served?.env,
    };
    // an experiment id inherited from the parent would send the program's new runs elsewhere
    if (served) delete env.MLFLOW_EXPERIMENT_ID;
    try {
      const child = spawn(checked.command, argList, {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: ctx.signal,
      });
      const exited = new Promise<{ code: number | null; signal: string | null }>(
        (resolveExit, rejectExit) => {
          child.once('error', rejectExit);
          child.once('close', (code, signal) => resolveExit({ code, signal }));
        },
      );
      exited.catch(() => {}); // observed below; avoids an unhandled rejection meanwhile

      const stdout = ctx.run.logArtifact(
        lines(child.stdout, (line) => parseMetric(line, metrics, ctx)),
        { name: `${label}.stdout.log`, mediaType: 'text/plain' },
      );
      const stderr = ctx.run.logArtifact(
        lines(child.stderr, (line) => {
          tail.push(line);
          if (tail.length > tailSize) tail.shift();
        }),
        { name: `${label}.stderr.log`, mediaType: 'text/plain' },
      );

      stdout.catch(() => {});
      stderr.catch(() => {});
      let exit: { code: number | null; signal: string | null };
      try {
        exit = await exited;
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw new KeelError(
          ErrorCodes.commandFailed,
          `[keel] command step "${label}" could not start ${JSON.stringify(checked.command)}: ${(error as Error).message}; check the command is installed and on PATH`,
          { cause: error },
        );
      }
      const [out, err] = await Promise.all([stdout, stderr]);
      if (exit.code !== 0) {
        const how =
          exit.code === null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
        throw new CommandFailedError(
          `[keel] command step "${label}" (${shown}) ${how}${tail.length ? `; last stderr lines:\n${tail.join('\n')}\n` : '; '}see the stderr artifact ${err.digest} for the full output`,
          { exitCode: exit.code, signal: exit.signal, stderrTail: [...tail] },
        );
      }
      const stored: Record<string, ArtifactRef> = {};
      for (const [output, path] of Object.entries(checked.outputs ?? {})) {
        const file = resolve(cwd, path);
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) {
          throw new NotFoundError(
            `[keel] command step "${label}" declared output "${output}" at ${path}, but ${shown} did not write it; write the file or remove it from outputs`,
          );
        }
        stored[output] = refOf(
          await ctx.run.logArtifact(createReadStream(file), {
            name: output,
            mediaType: 'application/octet-stream',
          }),
        );
      }
      return { exitCode: 0, stdout: refOf(out), stderr: refOf(err), metrics, outputs: stored };
    } finally {
      await served?.close();
    }
  };
}

const METRIC_PREFIX = 'keel:metric ';

const optionsSchema = z.strictObject({
  command: z.string().min(1, 'must name a program'),
  args: z
    .union([
      z.array(z.string()),
      z.custom<(...a: never[]) => unknown>((v) => typeof v === 'function'),
    ])
    .optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().min(1).optional(),
  outputs: z.record(z.string().min(1), z.string().min(1)).optional(),
  stderrLines: z.number().int().min(0).max(1000).optional(),
  mlflow: z.boolean().optional(),
});

/** Passes chunks through while calling `onLine` with each complete UTF-8 line. */
async function* lines(
  stream: AsyncIterable<Uint8Array>,
  onLine: (line: string) => void,
): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) onLine(part.replace(/\r$/, ''));
    yield chunk;
  }
  pending += decoder.decode();
  if (pending) onLine(pending);
}

function parseMetric(line: string, metrics: Record<string, number>, ctx: StepContext): void {
  if (!line.startsWith(METRIC_PREFIX)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(METRIC_PREFIX.length));
  } catch {
    ctx.logger.warn('ignored a malformed keel:metric line', { line: line.slice(0, 200) });
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
  const record = parsed as Record<string, unknown>;
  const step = typeof record.step === 'number' ? record.step : undefined;
  const values: Record<string, unknown> =
    typeof record.key === 'string' ? { [record.key]: record.value } : record;
  for (const [key, value] of Object.entries(values)) {
    if (key === 'step' || typeof value !== 'number') continue;
    try {
      ctx.run.logMetric(key, value, step === undefined ? {} : { step });
      metrics[key] = value;
    } catch (error) {
      ctx.logger.warn('ignored an invalid metric', { key, message: (error as Error).message });
    }
  }
}

function refOf(meta: ArtifactMeta): ArtifactRef {
  return { digest: meta.digest, size: meta.size, mediaType: meta.mediaType };
}

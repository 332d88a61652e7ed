/**
 * @module
 * The public types of the pipeline DSL: the typed builder, step functions and their
 * context, step options, run options and the result a run resolves (or rejects) with.
 */
import type { Digest } from '../core/digest.js';
import type { Tags } from '../core/schemas.js';
import type { Keel } from '../keel.js';
import type { RunHandle } from '../tracking/types.js';

/** Flattens an intersection into one object type (readable hovers, exact keys). */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What a step function receives first: the pipeline input and the outputs of its dependencies. */
export type StepArgs<I, Deps> = Simplify<
  {
    /** The pipeline's validated input. */
    readonly input: I;
  } & Deps
>;

/** A step's name, refused at compile time when it repeats an earlier step or is `input`. */
export type NewStepName<N extends string, Outs> = N extends keyof Outs | 'input' ? never : N;

/** The keel a pipeline runs against (what `createKeel` returns); every run is tracked. */
export type PipelineKeel = Keel;

/** One line a step logged through `ctx.logger`. */
export interface StepLogEntry {
  /** Severity, as the `ctx.logger` method called. */
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The text logged. */
  message: string;
  /** Structured fields; must be JSON-serializable to be stored. */
  fields?: Record<string, unknown>;
  /** The pipeline's name. */
  pipeline: string;
  /** The step that logged. */
  step: string;
  /** The attempt that logged (1 for the first). */
  attempt: number;
  /** Milliseconds since the epoch, from the keel clock. */
  timestamp: number;
}

/**
 * The logger a step gets as `ctx.logger`. Lines are stored with the step's run as `logs.ndjson`.
 * Its methods never throw (a log sink that throws is ignored).
 */
export interface StepLogger {
  /** Logs at level debug. Never throws. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Logs at level info. Never throws. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Logs at level warn. Never throws. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Logs at level error. Never throws. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The second argument of every step function. */
export interface StepContext {
  /** Aborted when this attempt times out, the pipeline run is aborted, or another step failed. */
  readonly signal: AbortSignal;
  /** The step's tracked run: log metrics, params and artifacts here. */
  readonly run: RunHandle;
  /** The keel the pipeline runs against. */
  readonly keel: PipelineKeel;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** Structured logging, stored with the step's run. */
  readonly logger: StepLogger;
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The step's name. */
  readonly step: string;
  /** The pipeline run's id (the tracked run). */
  readonly runId: string;
}

/** A step function: receives `{ input, ...dependency outputs }` and the context. */
export type StepFn<I, Deps, O> = (args: StepArgs<I, Deps>, ctx: StepContext) => O;

/** Backoff between retries (p-retry's exponential backoff). */
export interface BackoffOptions {
  /** Delay before the first retry. Default 1000. */
  minDelayMs?: number;
  /** Upper bound of any delay. Default: none. */
  maxDelayMs?: number;
  /** Exponential factor. Default 2. */
  factor?: number;
  /** Multiply each delay by a random factor between 1 and 2. Default false. */
  randomize?: boolean;
}

/** Options of one step. */
export interface StepOptions {
  /** How many times to retry a failed attempt (0 to 100). Default 0. */
  retries?: number;
  /** Delays between retries. */
  backoff?: BackoffOptions;
  /**
   * Whether an error deserves a retry. Never consulted for `ValidationError` or aborts,
   * which are never retried.
   */
  retryOn?: (error: unknown) => boolean;
  /** Time limit of each attempt; past it the attempt fails with `TimeoutError`. */
  timeoutMs?: number;
  /** Cache the step's output by content. Default: the pipeline's `cache` option (off). */
  cache?: boolean;
  /**
   * The step's version, part of its cache key: bump it when the step's behaviour changes.
   * Default: a hash of the function's source text (see docs/pipelines.md for its limits).
   */
  version?: string;
}

/** Options of {@link pipeline}. */
export interface PipelineOptions<S = unknown> {
  /** A Standard Schema (zod 4, valibot, ...) the input must satisfy before any step runs. */
  input?: S;
  /** Cache every step unless the step says otherwise. Default false. */
  cache?: boolean;
  /** The tracker experiment runs are recorded under. Default: the pipeline's name. */
  experiment?: string;
}

/** Where each line of `ctx.logger` also goes, besides the step's run. */
export type LogSink = (entry: StepLogEntry) => void;

/** Options of {@link Pipeline.run}. */
export interface RunOptions {
  /** The keel to run against (`createKeel(...)`). */
  keel: PipelineKeel;
  /** Aborts the run: running steps see `ctx.signal` abort, the run rejects with `AbortedError`. */
  signal?: AbortSignal;
  /** A earlier run id of this pipeline: its successful steps' outputs are reused (`copied`). */
  resumeFrom?: string;
  /** At most this many steps at once. Default: unlimited. */
  concurrency?: number;
  /** Record the environment on the pipeline's tracked run. Default true. */
  captureEnvironment?: boolean;
  /** Receives every line steps log, as they log it. */
  logger?: LogSink;
  /**
   * Tags set on the pipeline's tracked run when it starts (e.g. what triggered the run).
   * The runner's own tags (`keel.pipeline`, `keel.pipeline.status`, `keel.resumed_from`)
   * cannot be given here (`ValidationError`).
   */
  tags?: Tags;
}

/** Why a step's output came from the cache, or did not. */
export interface CacheExplain {
  /**
   * `hit`: reused from the cache; `miss`: executed, nothing valid was cached; `off`: caching
   * is disabled for the step; `uncacheable`: an input has no deterministic digest;
   * `copied`: reused from the run given as `resumeFrom`.
   */
  decision: 'hit' | 'miss' | 'off' | 'uncacheable' | 'copied';
  /** The cache key, when one could be computed. */
  key?: Digest;
  /** What the key was made of. */
  parts?: CacheKeyParts;
  /** On a miss: the key parts that differ from the last run of this step (`version`, `inputs.rows`, ...). */
  changed?: string[];
  /** The run whose output was reused (hit, copied), or the last run of the step (miss). */
  sourceRunId?: string;
  /** One sentence for humans. */
  message: string;
}

/** What a step's cache key is the digest of (as canonical JSON). */
export interface CacheKeyParts {
  /** The pipeline's name. */
  pipeline: string;
  /** The step's name. */
  step: string;
  /** The step's `version` option, or the hash of its function's source text. */
  version: string;
  /** Digest of each argument the step receives: `input` and each dependency by name. */
  inputs: Record<string, Digest>;
}

/** The status of one step in a run. */
export type StepStatus = 'completed' | 'failed' | 'skipped' | 'copied';

/** What happened to one step. */
export interface StepResult {
  /** How the step ended in this run. */
  status: StepStatus;
  /** True when the output came from the cache. */
  cached: boolean;
  /** Attempts made (0 when the step did not execute: cached, copied or skipped). */
  attempts: number;
  /** Wall time of the step, retries included (0 when it did not execute). */
  durationMs: number;
  /** The step's tracked run (absent for skipped steps). */
  runId?: string;
  /** Why the cache hit or missed. */
  explain?: CacheExplain;
  /** Digest of the stored output (canonical JSON), when it could be stored. */
  outputDigest?: Digest;
  /** Each failed attempt's error, in order (also of attempts a later retry made up for). */
  attemptErrors?: {
    /** The attempt that failed (1 for the first). */
    attempt: number;
    /** Its error message. */
    message: string;
    /** Its `KeelError` code, when it had one. */
    code?: string;
  }[];
  /** The error that failed the step. */
  error?: {
    /** The error message. */
    message: string;
    /** Its `KeelError` code, when it had one. */
    code?: string;
  };
}

/** The result of a pipeline run. */
export interface PipelineResult<Outs = Record<string, unknown>> {
  /** The pipeline's name. */
  pipeline: string;
  /** The pipeline's tracked run: pass it as `resumeFrom` to resume. */
  runId: string;
  /** How the run ended. */
  status: 'completed' | 'failed' | 'aborted';
  /** Each step's output (only the steps that produced one, when the run failed). */
  outputs: Outs;
  /** Each step's status, cache use, attempts, duration and run, by step name. */
  steps: Record<string, StepResult>;
  /** Wall time of the whole run. */
  durationMs: number;
  /** Digest of the validated input, when it has one. */
  inputDigest?: Digest;
  /** The run this one resumed. */
  resumedFrom?: string;
}

/** Public description of one step. */
export interface StepInfo {
  /** The step's name. */
  name: string;
  /** The steps it depends on. */
  deps: readonly string[];
  /** Retries, timeout, cache and version, as declared. */
  options: Readonly<StepOptions>;
}

/** A built pipeline: run it as often as needed. */
export interface Pipeline<In = unknown, Outs = Record<string, unknown>> {
  /** The name given to `pipeline(name)`. */
  readonly name: string;
  /** The steps in declaration order (a topological order). */
  readonly steps: readonly StepInfo[];
  /**
   * Runs the pipeline. Resolves when every step succeeded; rejects with `ValidationError`
   * (bad input, nothing ran), `PipelineRunError` (a step failed for good) or
   * `PipelineAbortedError` (an `AbortedError`: the signal fired); both errors carry `result`.
   *
   * @throws {ValidationError} when the input fails the pipeline's schema or an option is
   *   invalid; nothing runs.
   * @throws {PipelineRunError} when a step failed after its retries (`cause` is its error,
   *   `result.runId` the run to resume from).
   * @throws {PipelineAbortedError} when `options.signal` aborted the run.
   */
  run(input: In, options: RunOptions): Promise<PipelineResult<Outs>>;
}

/**
 * The typed builder. Each `step` returns a builder whose output map includes the new step,
 * so later steps see its output type.
 */
export interface PipelineBuilder<In, I, Outs extends object> {
  /**
   * Adds a step depending on every earlier step.
   *
   * @throws {ValidationError} when the name is invalid or already used, `fn` is not a function,
   *   or an option is invalid (nothing is added).
   */
  step<const N extends string, O>(
    name: N & NewStepName<N, Outs>,
    fn: StepFn<I, Outs, O>,
    options?: StepOptions,
  ): PipelineBuilder<In, I, Simplify<Outs & { [K in N]: Awaited<O> }>>;
  /**
   * Adds a step depending on the named earlier steps only.
   *
   * @throws {ValidationError} as the other overload does, or when a dependency is not an
   *   earlier step or is listed twice.
   */
  step<const N extends string, const D extends readonly (keyof Outs & string)[], O>(
    name: N & NewStepName<N, Outs>,
    deps: D,
    fn: StepFn<I, Pick<Outs, D[number]>, O>,
    options?: StepOptions,
  ): PipelineBuilder<In, I, Simplify<Outs & { [K in N]: Awaited<O> }>>;
  /**
   * Freezes the steps into a runnable {@link Pipeline}.
   *
   * Never throws: `pipeline` and `step` check everything when they are called.
   */
  build(): Pipeline<In, Outs>;
}

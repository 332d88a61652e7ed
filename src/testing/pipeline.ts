/**
 * @module
 * Unit-testing pipelines in-process: a keel over `memoryBackend()` with a `ManualClock`,
 * a runner that captures the result or error, `withStep` to stub one step, and helpers
 * that read back and check what the run recorded.
 */
import type { Meter, Tracer } from '@opentelemetry/api';
import type { Backend } from '../backends/backend.js';
import { memoryBackend } from '../backends/memory/backend.js';
import { ValidationError } from '../core/errors.js';
import { createKeel } from '../keel.js';
import { replaceStep } from '../pipeline/builder.js';
import { PipelineAbortedError, PipelineRunError } from '../pipeline/errors.js';
import type {
  Pipeline,
  PipelineKeel,
  PipelineResult,
  RunOptions,
  StepContext,
  StepResult,
} from '../pipeline/types.js';
import type { Run } from '../tracking/types.js';
import { ManualClock } from './manual-clock.js';

/** Options of {@link createPipelineTestKeel}. */
export interface PipelineTestKeelOptions {
  /** Default: a fresh `ManualClock` at 2026-01-01T00:00:00Z. */
  clock?: ManualClock;
  /** Default: `memoryBackend({ clock })`. */
  backend?: Backend;
  /** Where spans go (default: the global OpenTelemetry API). */
  tracer?: Tracer;
  /** Where metrics go (default: the global OpenTelemetry API). */
  meter?: Meter;
}

/** A keel for tests, and the manual clock it runs on. */
export interface PipelineTestKeel {
  /** The keel to pass to `run()`. */
  keel: PipelineKeel;
  /** The clock it runs on: advance it to move time. */
  clock: ManualClock;
}

/**
 * A keel over an in-memory backend and a manual clock.
 *
 * @example
 * ```ts
 * const { keel, clock } = createPipelineTestKeel();
 * ```
 *
 * @throws {ValidationError} when `opts.backend`, `opts.clock`, `opts.tracer` or `opts.meter` is
 *   malformed (as {@link createKeel} checks them).
 */
export function createPipelineTestKeel(opts: PipelineTestKeelOptions = {}): PipelineTestKeel {
  const clock = opts.clock ?? new ManualClock();
  const keel = createKeel({
    backend: opts.backend ?? memoryBackend({ clock }),
    clock,
    ...(opts.tracer ? { tracer: opts.tracer } : {}),
    ...(opts.meter ? { meter: opts.meter } : {}),
  });
  return { keel, clock };
}

/** Options of {@link runPipelineForTest}. */
export interface TestRunOptions extends Omit<RunOptions, 'keel'> {
  /** Run against this keel (e.g. to run twice against the same store). Default: a fresh one. */
  keel?: PipelineKeel;
  /** The clock of a fresh keel. */
  clock?: ManualClock;
}

/** What {@link runPipelineForTest} captured. Exactly one of `result` and `error` is set. */
export interface PipelineTestRun<Outs> {
  /** The keel the run used: read its tracker, registry and artifacts. */
  keel: PipelineKeel;
  /** The clock, when the helper created the keel. */
  clock: ManualClock | undefined;
  /** The result of a successful run. */
  result?: PipelineResult<Outs>;
  /** What the run rejected with. */
  error?: unknown;
  /** The result either way: `result`, or the `result` a pipeline error carries. */
  outcome?: PipelineResult;
}

/**
 * Runs `built` against a fresh in-memory keel (or `opts.keel`) and captures the outcome
 * instead of throwing, so tests can assert on failures as easily as on successes.
 *
 * @example
 * ```ts
 * const { result } = await runPipelineForTest(train, { since: '2026-01-01' });
 * expectStepStatuses(result!, { rows: 'completed', model: 'completed' });
 * ```
 *
 * @throws {ValidationError} (as a rejection) when `opts.clock` is not a clock. A failed run does
 *   not reject: its error is captured in `error`.
 */
export async function runPipelineForTest<In, Outs>(
  built: Pipeline<In, Outs>,
  input: In,
  opts: TestRunOptions = {},
): Promise<PipelineTestRun<Outs>> {
  let clock: ManualClock | undefined;
  let keel = opts.keel;
  if (!keel) {
    const created = createPipelineTestKeel(opts.clock ? { clock: opts.clock } : {});
    keel = created.keel;
    clock = created.clock;
  }
  try {
    const { keel: _given, clock: _clock, ...runOptions } = opts;
    const result = await built.run(input, { captureEnvironment: false, ...runOptions, keel });
    return { keel, clock, result, outcome: result as PipelineResult };
  } catch (error) {
    const outcome =
      error instanceof PipelineRunError || error instanceof PipelineAbortedError
        ? error.result
        : undefined;
    return { keel, clock, error, ...(outcome ? { outcome } : {}) };
  }
}

/**
 * A copy of `built` whose step `name` runs `fake` instead: same dependencies and options,
 * but a version derived from the fake's source (even when the step has an explicit
 * `version`), so a stub never hits the real step's cache entries, nor they its.
 *
 * @throws {ValidationError} when `built` is not a built pipeline, it has no step `name` (the
 *   message lists its steps), or `fake` is not a function.
 *
 * @example
 * ```ts
 * const offline = withStep(train, 'rows', () => [{ x: 1, y: 0 }]);
 * ```
 */
export function withStep<In, Outs, N extends keyof Outs & string>(
  built: Pipeline<In, Outs>,
  name: N,
  fake: (
    args: Readonly<Record<string, unknown>> & { readonly input: unknown },
    ctx: StepContext,
  ) => Outs[N] | Promise<Outs[N]>,
): Pipeline<In, Outs> {
  return replaceStep(
    built as unknown as Pipeline<never, unknown>,
    name,
    fake as (args: Record<string, unknown>, ctx: StepContext) => unknown,
  ) as unknown as Pipeline<In, Outs>;
}

/** The tracked runs of a pipeline run: the pipeline's and one per step that ran. */
export interface RecordedPipelineRun {
  /** The pipeline run's tracked run. */
  run: Run;
  /** Each step's tracked run, by step name. */
  steps: Record<string, Run>;
}

/**
 * Reads back the tracked runs a pipeline run recorded, from its result (or an error's
 * `result`).
 *
 * @throws {NotFoundError} when a run of the result is not in `keel`'s tracker (the result
 *   came from another keel).
 */
export async function recordedRuns(
  keel: PipelineKeel,
  result: PipelineResult<unknown>,
): Promise<RecordedPipelineRun> {
  const run = await keel.tracker.getRun(result.runId);
  const steps: Record<string, Run> = {};
  for (const [name, step] of Object.entries(result.steps)) {
    if (step.runId) steps[name] = await keel.tracker.getRun(step.runId);
  }
  return { run, steps };
}

/** A step's expected state: its status, or `cached` for a completed step served from cache. */
export type ExpectedStep = StepResult['status'] | 'cached';

/**
 * Throws (naming every mismatch) unless each named step has the expected status.
 *
 * @throws {ValidationError} when a step's status differs from the expected one, or the result
 *   has no such step; the message names every mismatch.
 *
 * @example
 * ```ts
 * expectStepStatuses(result, { rows: 'copied', model: 'cached', report: 'completed' });
 * ```
 */
export function expectStepStatuses(
  result: PipelineResult<unknown>,
  expected: Record<string, ExpectedStep>,
): void {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const step = result.steps[name];
    const actual: string | undefined = step ? (step.cached ? 'cached' : step.status) : undefined;
    if (actual !== want)
      problems.push(`step "${name}": expected ${want}, got ${actual ?? 'no result'}`);
  }
  if (problems.length > 0) {
    throw new ValidationError(`[keel] unexpected step statuses: ${problems.join('; ')}`);
  }
}

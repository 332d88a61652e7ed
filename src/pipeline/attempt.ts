/**
 * @module
 * One step execution with retries: each attempt gets its own `AbortSignal` (aborted by its
 * timeout or by the run), retries go through p-retry, and `ValidationError`s and aborts are
 * never retried.
 */
import pRetry, { AbortError } from 'p-retry';
import { isKeelError, TimeoutError } from '../core/errors.js';
import type { StepOptions } from './types.js';

/** One failed attempt, as recorded on the step result. */
export interface AttemptError {
  attempt: number;
  message: string;
  code?: string;
}

/** What {@link runWithRetries} needs besides the step function. */
export interface RetryPlan {
  /** The step, for messages. */
  what: string;
  options: Readonly<StepOptions>;
  /** The run's signal: aborted on pipeline abort or a failure elsewhere. */
  signal: AbortSignal;
  /** Called before each attempt with the attempt number and the previous attempt's error. */
  onAttempt(attempt: number, previousError: unknown): void;
  /** Called after each failed attempt. */
  onAttemptFailed(attempt: number, error: unknown): void;
}

/**
 * Runs `attemptFn` until it succeeds, a non-retryable error occurs, or the retries run out.
 * Resolves with the value and the number of attempts; rejects with the last error, carrying
 * the attempt count in `attempts` on the returned failure object.
 */
export async function runWithRetries<T>(
  plan: RetryPlan,
  attemptFn: (signal: AbortSignal, attempt: number) => T | Promise<T>,
): Promise<{ value: T; attempts: number; errors: AttemptError[] }> {
  const errors: AttemptError[] = [];
  let attempts = 0;
  let previousError: unknown;
  const { options } = plan;
  const once = async (attempt: number, wrapForRetry: boolean): Promise<T> => {
    attempts = attempt;
    plan.onAttempt(attempt, previousError);
    try {
      return await runAttempt(plan, attempt, attemptFn);
    } catch (thrown) {
      const error = asError(thrown, plan.what);
      previousError = error;
      errors.push(describeAttempt(attempt, error));
      plan.onAttemptFailed(attempt, error);
      if (wrapForRetry && !isRetryable(error, options, plan.signal)) throw new AbortError(error);
      throw error;
    }
  };
  try {
    const retries = options.retries ?? 0;
    const value =
      retries === 0
        ? await once(1, false)
        : await pRetry((attempt) => once(attempt, true), {
            retries,
            factor: options.backoff?.factor ?? 2,
            minTimeout: options.backoff?.minDelayMs ?? 1000,
            maxTimeout: options.backoff?.maxDelayMs ?? Number.POSITIVE_INFINITY,
            randomize: options.backoff?.randomize ?? false,
            signal: plan.signal,
          });
    return { value, attempts, errors };
  } catch (error) {
    throw new AttemptsFailed(error, attempts, errors);
  }
}

/** The failure of {@link runWithRetries}: the final error plus the attempt history. */
export class AttemptsFailed {
  constructor(
    /** The error that ended the step. */
    readonly error: unknown,
    /** Attempts made. */
    readonly attempts: number,
    /** Every failed attempt. */
    readonly errors: AttemptError[],
  ) {}
}

/** Whether a failed attempt may be retried: never validation errors or aborts. */
export function isRetryable(
  error: unknown,
  options: Readonly<StepOptions>,
  signal: AbortSignal,
): boolean {
  if (signal.aborted) return false;
  if (isKeelError(error, 'KEEL_VALIDATION') || isKeelError(error, 'KEEL_ABORTED')) return false;
  if (error instanceof Error && error.name === 'AbortError') return false;
  if (!options.retryOn) return true;
  try {
    return options.retryOn(error) === true;
  } catch {
    return false;
  }
}

async function runAttempt<T>(
  plan: RetryPlan,
  attempt: number,
  attemptFn: (signal: AbortSignal, attempt: number) => T | Promise<T>,
): Promise<T> {
  const { signal: runSignal, options } = plan;
  runSignal.throwIfAborted();
  if (options.timeoutMs === undefined) {
    // Without a time limit the run's signal is the attempt's signal: no controller to set up.
    const value = attemptFn(runSignal, attempt);
    if (isPromiseLike(value)) return raceAbort(value, runSignal);
    // aborted while it ran (by the step itself, or a listener): cancelled, as an async step is
    runSignal.throwIfAborted();
    return value;
  }
  const controller = new AbortController();
  const forward = (): void => controller.abort(runSignal.reason);
  runSignal.addEventListener('abort', forward, { once: true });
  const limit = options.timeoutMs;
  const timer = setTimeout(() => {
    controller.abort(
      new TimeoutError(
        `[keel] ${plan.what} timed out after ${limit} ms (attempt ${attempt}); make it faster, raise timeoutMs, or add retries`,
        { details: { timeoutMs: limit, attempt } },
      ),
    );
  }, limit);
  try {
    const work = Promise.resolve().then(() => attemptFn(controller.signal, attempt));
    return await raceAbort(work, controller.signal);
  } finally {
    clearTimeout(timer);
    runSignal.removeEventListener('abort', forward);
  }
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts: the run
 * moves on even when a step ignores its signal.
 */
async function raceAbort<T>(work: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  const settled = Promise.resolve(work);
  settled.catch(() => {}); // an abandoned attempt's late failure must not be unhandled
  // the step itself may have aborted the signal before it returned its promise
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  stopped.catch(() => {});
  try {
    return await Promise.race([settled, stopped]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function asError(thrown: unknown, what: string): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(
    `[keel] ${what} threw a non-Error value (${describe(thrown)}); throw Error objects`,
    {
      cause: thrown,
    },
  );
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}

function describeAttempt(attempt: number, error: unknown): AttemptError {
  const out: AttemptError = {
    attempt,
    message: error instanceof Error ? error.message : String(error),
  };
  if (isKeelError(error)) out.code = error.code;
  return out;
}

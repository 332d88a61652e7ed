/**
 * @module
 * The errors a pipeline run rejects with: `PipelineRunError` (a step failed for good) and
 * `PipelineAbortedError` (an `AbortedError`), both carrying the run's result.
 */
import { AbortedError, ErrorCodes, KeelError, type KeelErrorOptions } from '../core/errors.js';
import type { PipelineResult } from './types.js';

/**
 * A step failed after its retries. `cause` is the step's error (a `TimeoutError` for a step
 * past `timeoutMs`); `result` holds every step's status and the `runId` to resume from.
 *
 * @example
 * ```ts
 * try { await train.run(input, { keel }) } catch (e) {
 *   if (e instanceof PipelineRunError) await train.run(input, { keel, resumeFrom: e.result.runId });
 * }
 * ```
 */
export class PipelineRunError extends KeelError {
  /** Every step's status, the outputs produced so far, and the run id. */
  readonly result: PipelineResult;
  /** The step that failed. */
  readonly step: string;

  constructor(
    message: string,
    options: KeelErrorOptions & { result: PipelineResult; step: string },
  ) {
    super(ErrorCodes.pipelineFailed, message, options);
    this.result = options.result;
    this.step = options.step;
  }
}

/** The run was aborted through its `AbortSignal` (code `KEEL_ABORTED`); `result` as above. */
export class PipelineAbortedError extends AbortedError {
  /** Every step's status, the outputs produced so far, and the run id. */
  readonly result: PipelineResult;

  constructor(message: string, options: KeelErrorOptions & { result: PipelineResult }) {
    super(message, options);
    this.result = options.result;
  }
}

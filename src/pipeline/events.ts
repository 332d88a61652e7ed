/**
 * @module
 * The events a pipeline run emits on `keel.events`.
 */

/** Identifies a step within a pipeline run. */
export interface StepEventBase {
  /** The pipeline's name. */
  pipeline: string;
  /** The pipeline run's tracked run id. */
  runId: string;
  /** The step's name. */
  step: string;
}

/** Events of pipeline runs. */
export interface PipelineEvents {
  /** A step's attempt began. */
  'step:started': StepEventBase & {
    /** 1 for the first attempt, 2 for the first retry, ... */
    attempt: number;
  };
  /** A step succeeded, ran or reused. */
  'step:finished': StepEventBase & {
    /** `copied`: the output was reused from the run named by `resumeFrom`. */
    status: 'completed' | 'copied';
    /** Whether the output came from the step cache. */
    cached: boolean;
    /** Wall time of the step, retries included. */
    durationMs: number;
  };
  /** A step's output was found in the cache; its function did not run. */
  'step:cached': StepEventBase & {
    /** The cache key that hit. */
    key: string;
  };
  /** An attempt failed and the step will be tried again. */
  'step:retry': StepEventBase & {
    /** The attempt that failed. */
    attempt: number;
    /** What it threw. */
    error: unknown;
  };
  /** A step failed for good, after its retries. */
  'step:failed': StepEventBase & {
    /** What the last attempt threw. */
    error: unknown;
    /** How many attempts were made. */
    attempts: number;
  };
  /** A pipeline run ended. */
  'pipeline:finished': {
    /** The pipeline's name. */
    pipeline: string;
    /** The pipeline run's tracked run id. */
    runId: string;
    /** How it ended. */
    status: 'completed' | 'failed' | 'aborted';
    /** Wall time of the whole run. */
    durationMs: number;
  };
}

/**
 * @module
 * The events a pipeline run emits on `keel.events`.
 */

/** Identifies a step within a pipeline run. */
export interface StepEventBase {
  pipeline: string;
  /** The pipeline run's tracked run id. */
  runId: string;
  step: string;
}

/** Events of pipeline runs. */
export interface PipelineEvents {
  'step:started': StepEventBase & { attempt: number };
  'step:finished': StepEventBase & {
    status: 'completed' | 'copied';
    cached: boolean;
    durationMs: number;
  };
  'step:cached': StepEventBase & { key: string };
  'step:retry': StepEventBase & { attempt: number; error: unknown };
  'step:failed': StepEventBase & { error: unknown; attempts: number };
  'pipeline:finished': {
    pipeline: string;
    runId: string;
    status: 'completed' | 'failed' | 'aborted';
    durationMs: number;
  };
}

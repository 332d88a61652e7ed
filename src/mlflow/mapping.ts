// How keel's runs and experiments read in MLflow's terms: ids, statuses, timestamps (ms) and the Run JSON of MLflow's REST API.
import { experimentId } from '../tracking/records.js';
import type { Run, RunStatus } from '../tracking/types.js';
import { invalidParameter } from './errors.js';

/** MLflow's run statuses. */
export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** Every MLflow run status, in proto order. */
export const MLFLOW_RUN_STATUSES: readonly MlflowRunStatus[] = [
  'RUNNING',
  'SCHEDULED',
  'FINISHED',
  'FAILED',
  'KILLED',
];

/** Proto enum numbers of `RunStatus` (a client may send them instead of names). */
export const RUN_STATUS_NUMBERS: Readonly<Record<number, MlflowRunStatus>> = {
  1: 'RUNNING',
  2: 'SCHEDULED',
  3: 'FINISHED',
  4: 'FAILED',
  5: 'KILLED',
};

const TO_MLFLOW: Readonly<Record<RunStatus, MlflowRunStatus>> = {
  running: 'RUNNING',
  completed: 'FINISHED',
  failed: 'FAILED',
  killed: 'KILLED',
};

/** keel's status as MLflow names it. */
export function mlflowStatus(status: RunStatus): MlflowRunStatus {
  return TO_MLFLOW[status];
}

/**
 * MLflow's status as keel names it.
 *
 * @throws {MlflowApiError} for `SCHEDULED`, which keel has no run state for.
 */
export function keelStatus(status: MlflowRunStatus): RunStatus {
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'FINISHED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'KILLED':
      return 'killed';
    default:
      throw invalidParameter(
        'keel has no SCHEDULED runs: a run is RUNNING from runs/create until it ends as FINISHED, FAILED or KILLED',
      );
  }
}

/** The experiment MLflow clients use when none is named, and its fixed id. */
export const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' } as const;

/** The MLflow experiment id of a keel experiment: keel's own `Experiment.id` ("0" for `Default`). */
export function mlflowExperimentId(name: string): string {
  return name === DEFAULT_EXPERIMENT.name ? DEFAULT_EXPERIMENT.id : experimentId(name);
}

/** MLflow's experiment ids (and what keel's ids, 32 hex digits, fit in). */
export const EXPERIMENT_ID_PATTERN: RegExp = /^[a-zA-Z0-9][\w-]{0,63}$/;

/** MLflow's run ids (keel's run ids, 26 base32 characters, fit in). */
export const MLFLOW_RUN_ID_PATTERN: RegExp = /^[a-zA-Z0-9][\w-]{0,255}$/;

/** Where MLflow clients put and get a run's artifacts: the artifacts proxy of this endpoint. */
export function runArtifactUri(experimentIdValue: string, runId: string): string {
  return `mlflow-artifacts:/${experimentIdValue}/${runId}/artifacts`;
}

/** Milliseconds since the epoch of an ISO-8601 time. */
export function ms(iso: string): number {
  return Date.parse(iso);
}

/** A number as proto3 JSON writes a double: NaN and infinities as strings. */
export function jsonDouble(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

/** MLflow's `RunInfo` of a keel run. */
export function runInfoJson(
  run: Run,
  lifecycleStage: 'active' | 'deleted',
): Record<string, unknown> {
  const experiment = mlflowExperimentId(run.experiment);
  const info: Record<string, unknown> = {
    run_id: run.id,
    run_uuid: run.id,
    run_name: run.name ?? '',
    experiment_id: experiment,
    user_id: run.tags['mlflow.user'] ?? '',
    status: mlflowStatus(run.status),
    start_time: ms(run.startTime),
    artifact_uri: runArtifactUri(experiment, run.id),
    lifecycle_stage: lifecycleStage,
  };
  if (run.endTime !== undefined) info.end_time = ms(run.endTime);
  return info;
}

/** A dataset input as MLflow's `DatasetInput` JSON (what log-inputs stored). */
export type DatasetInputJson = Record<string, unknown>;

/** MLflow's `Run` of a keel run: info, data (latest metrics, params as strings, tags) and inputs. */
export function runJson(
  run: Run,
  lifecycleStage: 'active' | 'deleted',
  datasetInputs: readonly DatasetInputJson[] = [],
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const metrics = Object.values(run.metrics).map((p) => ({
    key: p.key,
    value: jsonDouble(p.value),
    timestamp: p.timestamp,
    step: p.step,
  }));
  const params = Object.entries(run.params).map(([key, value]) => ({ key, value: String(value) }));
  const tags = Object.entries(run.tags).map(([key, value]) => ({ key, value }));
  // proto3 JSON leaves empty repeated fields out, as MLflow's server does
  if (metrics.length > 0) data.metrics = metrics;
  if (params.length > 0) data.params = params;
  if (tags.length > 0) data.tags = tags;
  const out: Record<string, unknown> = { info: runInfoJson(run, lifecycleStage), data };
  out.inputs = datasetInputs.length > 0 ? { dataset_inputs: datasetInputs } : {};
  return out;
}

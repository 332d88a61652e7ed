// Finding a run for an MLflow request: id checks, the deleted (lifecycle) state, a writable handle, and the Run JSON with its dataset inputs.
import { isKeelError } from '../core/errors.js';
import { RUN_ID_PATTERN } from '../tracking/records.js';
import type { Run, RunHandle } from '../tracking/types.js';
import { doesNotExist, invalidParameter } from './errors.js';
import { type DatasetInputJson, MLFLOW_RUN_ID_PATTERN, runJson } from './mapping.js';
import type { MlflowContext, MlflowKeel } from './route.js';
import { isRunDeleted, mlflowKeys } from './store.js';

/**
 * Checks an MLflow run id: MLflow's pattern (400 otherwise) and keel's run ids (any other id
 * names no run here: 404).
 */
export function checkRunId(runId: string): string {
  if (!MLFLOW_RUN_ID_PATTERN.test(runId)) throw invalidParameter(`Invalid run ID: '${runId}'`);
  if (!RUN_ID_PATTERN.test(runId)) throw doesNotExist(`Run with id=${runId} not found`);
  return runId;
}

/** The run, or RESOURCE_DOES_NOT_EXIST. */
export async function readRun(keel: MlflowKeel, runId: string): Promise<Run> {
  try {
    return await keel.tracker.getRun(checkRunId(runId));
  } catch (error) {
    if (isKeelError(error, 'KEEL_NOT_FOUND')) throw doesNotExist(`Run with id=${runId} not found`);
    throw error;
  }
}

/**
 * A handle to write to a run: it must exist, not be deleted and still be running (keel's
 * runs take no writes once they have ended).
 */
export async function writableRun(ctx: MlflowContext, runId: string): Promise<RunHandle> {
  checkRunId(runId);
  if (await isRunDeleted(ctx.keel.metadata, runId)) {
    throw invalidParameter(
      `The run ${runId} must be in the 'active' state. Current state is deleted.`,
    );
  }
  try {
    return await ctx.handle(runId);
  } catch (error) {
    if (isKeelError(error, 'KEEL_NOT_FOUND')) throw doesNotExist(`Run with id=${runId} not found`);
    throw error;
  }
}

/**
 * Runs a write through a run's handle; when keel refuses it because the run ended elsewhere,
 * the handle is forgotten (the next request finds the run as it is).
 */
export async function writeRun<T>(
  ctx: MlflowContext,
  runId: string,
  write: (handle: RunHandle) => T | Promise<T>,
): Promise<T> {
  const handle = await writableRun(ctx, runId);
  try {
    return await write(handle);
  } catch (error) {
    if (isKeelError(error, 'KEEL_CONFLICT')) {
      const run = await ctx.keel.tracker.getRun(runId).catch(() => undefined);
      if (run?.status !== 'running') ctx.dropHandle(runId);
    }
    throw error;
  }
}

/** The dataset inputs log-inputs recorded for a run. */
export async function datasetInputs(keel: MlflowKeel, run: Run): Promise<DatasetInputJson[]> {
  // only runs with a dataset input have a document to read
  if (!run.inputs.some((ref) => ref.kind === 'dataset')) return [];
  const doc = await keel.metadata.get(mlflowKeys.runInputs(run.id));
  const inputs = (doc?.value as { inputs?: { input?: unknown }[] } | undefined)?.inputs;
  if (!Array.isArray(inputs)) return [];
  return inputs
    .map((entry) => entry?.input)
    .filter((input): input is DatasetInputJson => typeof input === 'object' && input !== null);
}

/** MLflow's Run JSON of a run, with its lifecycle stage and dataset inputs. */
export async function runReply(keel: MlflowKeel, run: Run): Promise<Record<string, unknown>> {
  const deleted = await isRunDeleted(keel.metadata, run.id);
  return runJson(run, deleted ? 'deleted' : 'active', await datasetInputs(keel, run));
}

import type { JsonValue } from '../core/json.js';
import type { Run } from '../tracking/types.js';
import { invalidParameter } from './errors.js';
import { experimentById } from './experiments.js';
import {
  keyValues,
  optionalEnum,
  optionalInt64,
  optionalString,
  runIdField,
  stringList,
} from './fields.js';
import {
  keelStatus,
  MLFLOW_RUN_STATUSES,
  mlflowStatus,
  RUN_STATUS_NUMBERS,
  runInfoJson,
} from './mapping.js';
import type { MlflowContext, MlflowRoute } from './route.js';
import { readRun, runReply, writableRun } from './run-access.js';
import { runLoggingRoutes } from './run-logging.js';
import { translateRunFilter, translateRunOrder } from './run-search.js';
import { deletedRunIds, isRunDeleted, mlflowKeys } from './store.js';

const API = '/api/2.0/mlflow/runs';

/** MLflow's default and largest page of runs, and keel's largest. */
const DEFAULT_MAX_RESULTS = 1000;
const MAX_RESULTS = 50_000;
const KEEL_MAX_LIMIT = 10_000;

async function createRun(ctx: MlflowContext, fields: Record<string, unknown>): Promise<object> {
  const experiment = await experimentById(ctx.keel, optionalString(fields, 'experiment_id') || '0');
  const tags = keyValues(fields, 'tags');
  const runName = optionalString(fields, 'run_name') || tags['mlflow.runName'];
  const userId = optionalString(fields, 'user_id');
  // MLflow keeps the name and the user as tags too
  if (runName !== undefined && tags['mlflow.runName'] === undefined)
    tags['mlflow.runName'] = runName;
  if (userId && tags['mlflow.user'] === undefined) tags['mlflow.user'] = userId;
  // start_time is keel's clock: keel stamps its own runs (docs/mlflow.md)
  optionalInt64(fields, 'start_time');
  const parent = tags['mlflow.parentRunId'];
  const parentRunId = parent !== undefined && (await runExists(ctx, parent)) ? parent : undefined;
  const handle = await ctx.keel.tracker.startRun({
    experiment: experiment.name,
    ...(runName === undefined ? {} : { name: runName }),
    tags,
    ...(parentRunId === undefined ? {} : { parentRunId }),
  });
  ctx.keepHandle(handle);
  return { run: await runReply(ctx.keel, await ctx.keel.tracker.getRun(handle.id)) };
}

async function runExists(ctx: MlflowContext, runId: string): Promise<boolean> {
  try {
    await readRun(ctx.keel, runId);
    return true;
  } catch {
    return false;
  }
}

async function updateRun(ctx: MlflowContext, fields: Record<string, unknown>): Promise<object> {
  const runId = runIdField(fields);
  const status = optionalEnum(fields, 'status', MLFLOW_RUN_STATUSES, RUN_STATUS_NUMBERS);
  const runName = optionalString(fields, 'run_name');
  // end_time is keel's clock, as start_time is
  optionalInt64(fields, 'end_time');
  let run = await readRun(ctx.keel, runId);
  if (runName !== undefined && runName !== '' && runName !== (run.name ?? '')) {
    throw invalidParameter(
      `keel runs keep the name they start with ('${run.name ?? ''}'): set run_name in runs/create`,
    );
  }
  if (status !== undefined && mlflowStatus(run.status) !== status) {
    const target = keelStatus(status);
    if (run.status !== 'running' || target === 'running') {
      throw invalidParameter(
        `Run ${runId} is ${mlflowStatus(run.status)}: keel ends a run once (RUNNING to FINISHED, FAILED or KILLED) and never reopens it`,
      );
    }
    const handle = await writableRun(ctx, runId);
    try {
      run = await handle.end(target);
    } finally {
      ctx.dropHandle(runId);
    }
  }
  return {
    run_info: runInfoJson(
      run,
      (await isRunDeleted(ctx.keel.metadata, runId)) ? 'deleted' : 'active',
    ),
  };
}

async function setDeleted(
  ctx: MlflowContext,
  fields: Record<string, unknown>,
  deleted: boolean,
): Promise<object> {
  const runId = runIdField(fields);
  await readRun(ctx.keel, runId);
  const key = mlflowKeys.deletedRun(runId);
  if (deleted) {
    const doc: JsonValue = { deletedAt: ctx.keel.clock.now() };
    await ctx.keel.metadata.put(key, doc);
  } else {
    await ctx.keel.metadata.delete(key);
  }
  return {};
}

async function searchRuns(ctx: MlflowContext, fields: Record<string, unknown>): Promise<object> {
  const ids = stringList(fields, 'experiment_ids');
  if (ids.length !== 1) {
    throw invalidParameter(
      ids.length === 0
        ? "Missing value for required parameter 'experiment_ids': name the experiment to search"
        : `keel searches one experiment at a time: got ${ids.length} experiment_ids, send one request per experiment`,
    );
  }
  const experiment = await experimentById(ctx.keel, ids[0]!);
  const view =
    optionalEnum(fields, 'run_view_type', ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'], {
      1: 'ACTIVE_ONLY',
      2: 'DELETED_ONLY',
      3: 'ALL',
    }) ?? 'ACTIVE_ONLY';
  const maxResults = optionalInt64(fields, 'max_results', 1) ?? DEFAULT_MAX_RESULTS;
  if (maxResults > MAX_RESULTS)
    throw invalidParameter(
      `Invalid value for max_results. It must be at most ${MAX_RESULTS}, but got ${maxResults}`,
    );
  const filter = translateRunFilter(optionalString(fields, 'filter') ?? '');
  const orderBy = translateRunOrder(stringList(fields, 'order_by'));
  let cursor = optionalString(fields, 'page_token') || undefined;
  const deleted = view === 'ALL' ? undefined : await deletedRunIds(ctx.keel.metadata);
  const keep = (run: Run): boolean =>
    deleted === undefined || (view === 'DELETED_ONLY') === deleted.has(run.id);
  // a page holds up to keel's largest page; more come with next_page_token
  const wanted = Math.min(maxResults, KEEL_MAX_LIMIT);
  const runs: Run[] = [];
  // Each keel page asks for exactly the runs still missing, so the last cursor is the place
  // after the last run taken: runs skipped as deleted (or active) never shift a page.
  for (;;) {
    const page = await ctx.keel.tracker.searchRuns({
      experiment: experiment.name,
      filter,
      orderBy,
      limit: wanted - runs.length,
      ...(cursor === undefined ? {} : { cursor }),
    });
    runs.push(...page.runs.filter(keep));
    cursor = page.nextCursor;
    if (cursor === undefined || runs.length >= wanted) break;
  }
  const reply: Record<string, unknown> = {
    runs: await Promise.all(runs.map((run) => runReply(ctx.keel, run))),
  };
  if (cursor !== undefined) reply.next_page_token = cursor;
  return reply;
}

/** The run routes. */
export const runRoutes: readonly MlflowRoute[] = [
  {
    methods: ['POST'],
    path: `${API}/create`,
    handle: (ctx, { fields }) => createRun(ctx, fields),
  },
  {
    methods: ['GET'],
    path: `${API}/get`,
    async handle(ctx, { fields }) {
      const run = await readRun(ctx.keel, runIdField(fields));
      return { run: await runReply(ctx.keel, run) };
    },
  },
  {
    methods: ['POST'],
    path: `${API}/update`,
    handle: (ctx, { fields }) => updateRun(ctx, fields),
  },
  {
    methods: ['POST'],
    path: `${API}/delete`,
    handle: (ctx, { fields }) => setDeleted(ctx, fields, true),
  },
  {
    methods: ['POST'],
    path: `${API}/restore`,
    handle: (ctx, { fields }) => setDeleted(ctx, fields, false),
  },
  {
    methods: ['GET', 'POST'],
    path: `${API}/search`,
    handle: (ctx, { fields }) => searchRuns(ctx, fields),
  },
  ...runLoggingRoutes,
];

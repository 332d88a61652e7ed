// MLflow's logging routes over a run's keel handle: log-metric, log-parameter, set-tag, delete-tag, log-batch, log-inputs and metrics/get-history.
import { canonicalJson } from '../core/canonical-json.js';
import type { JsonValue } from '../core/json.js';
import { keySchema, paramsSchema, tagsSchema } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import { doesNotExist, invalidParameter, MlflowApiError } from './errors.js';
import {
  keyValues,
  objectList,
  optionalInt64,
  optionalString,
  requiredDouble,
  requiredInt64,
  requiredString,
  runIdField,
} from './fields.js';
import { jsonDouble } from './mapping.js';
import type { MlflowContext, MlflowFields, MlflowRoute } from './route.js';
import { readRun, writeRun } from './run-access.js';
import { isRunDeleted, mlflowKeys } from './store.js';

const API = '/api/2.0/mlflow';

/** MLflow's limits of one log-batch request. */
export const BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  entities: 1000,
  bytes: 1_000_000,
} as const;

/** MLflow's default and largest page of metric history. */
const HISTORY_PAGE = 25_000;

interface Point {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** A metric of a request, checked as keel checks it (so that a batch is refused before any point is buffered). */
function readPoint(fields: MlflowFields, checkedKeys?: Set<string>): Point {
  const key = requiredString(fields, 'key');
  // a batch repeats a few keys many times: each is checked once
  if (!checkedKeys?.has(key)) {
    parseWith(keySchema, key, 'metric key');
    checkedKeys?.add(key);
  }
  return {
    key,
    value: requiredDouble(fields, 'value'),
    timestamp: requiredInt64(fields, 'timestamp'),
    step: optionalInt64(fields, 'step') ?? 0,
  };
}

function batchLimit(what: string, limit: number, count: number): void {
  if (count > limit)
    throw invalidParameter(
      `A batch logging request can contain at most ${limit} ${what}. Got ${count} ${what}. Please split up ${what} across multiple requests and try again.`,
    );
}

async function logBatch(
  ctx: MlflowContext,
  fields: MlflowFields,
  bodyBytes: number,
): Promise<object> {
  const runId = runIdField(fields);
  if (bodyBytes > BATCH_LIMITS.bytes)
    throw invalidParameter(
      `Batched logging API requests must be at most ${BATCH_LIMITS.bytes} bytes, got a request of size ${bodyBytes}.`,
    );
  const rawMetrics = objectList(fields, 'metrics');
  const rawParams = objectList(fields, 'params');
  const rawTags = objectList(fields, 'tags');
  batchLimit('metrics', BATCH_LIMITS.metrics, rawMetrics.length);
  batchLimit('params', BATCH_LIMITS.params, rawParams.length);
  batchLimit('tags', BATCH_LIMITS.tags, rawTags.length);
  batchLimit(
    'metrics, params, and tags',
    BATCH_LIMITS.entities,
    rawMetrics.length + rawParams.length + rawTags.length,
  );
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const p of rawParams) {
    const key = requiredString(p, 'key');
    if (seen.has(key)) dupes.push(key);
    seen.add(key);
  }
  if (dupes.length > 0)
    throw invalidParameter(
      `Duplicate parameter keys have been submitted: ${JSON.stringify(dupes)}. Please ensure the request contains only one param value per param key.`,
    );
  const checkedKeys = new Set<string>();
  const points = rawMetrics.map((m) => readPoint(m, checkedKeys));
  const params = parseWith(paramsSchema, keyValues(fields, 'params'), 'params');
  const tags = parseWith(tagsSchema, keyValues(fields, 'tags'), 'tags');
  await writeRun(ctx, runId, async (handle) => {
    // params first: a changed param is refused before any metric or tag is written
    if (Object.keys(params).length > 0) await handle.logParams(params);
    for (const p of points)
      handle.logMetric(p.key, p.value, { step: p.step, timestamp: p.timestamp });
    if (points.length > 0) await handle.flush();
    if (Object.keys(tags).length > 0) await handle.setTags(tags);
  });
  return {};
}

async function logInputs(ctx: MlflowContext, fields: MlflowFields): Promise<object> {
  const runId = runIdField(fields);
  const inputs = objectList(fields, 'datasets').map((input) => {
    const dataset = objectList({ d: [input.dataset ?? null].filter((d) => d !== null) }, 'd')[0];
    if (dataset === undefined)
      throw invalidParameter("Missing value for required parameter 'dataset'");
    const out: Record<string, unknown> = {};
    for (const [name, limit] of [
      ['name', 500],
      ['digest', 36],
      ['source_type', 1000],
      ['source', 65_535],
    ] as const) {
      const value = requiredString(dataset, name);
      if (value.length > limit)
        throw invalidParameter(`Dataset ${name} is longer than ${limit} characters`);
      out[name] = value;
    }
    for (const name of ['schema', 'profile'] as const) {
      const value = optionalString(dataset, name);
      if (value !== undefined) out[name] = value;
    }
    const tags = Object.entries(keyValues(input, 'tags')).map(([key, value]) => ({ key, value }));
    for (const t of tags) {
      if (t.key.length > 255 || t.value.length > 500)
        throw invalidParameter(
          'Dataset input tags have keys of at most 255 and values of at most 500 characters',
        );
    }
    return { dataset: out, ...(tags.length > 0 ? { tags } : {}) } as Record<string, JsonValue>;
  });
  if (inputs.length > 1000)
    throw invalidParameter('A log-inputs request can contain at most 1000 datasets');
  await writeRun(ctx, runId, async (handle) => {
    const key = mlflowKeys.runInputs(runId);
    for (const input of inputs) {
      const stored = await ctx.keel.artifacts.put(canonicalJson(input), {
        mediaType: 'application/json',
      });
      const dataset = input.dataset as { name: string };
      // lineage: the dataset's description is what the run consumed, by content
      await handle.logInput({ digest: stored.digest, name: dataset.name, kind: 'dataset' });
      const doc = await ctx.keel.metadata.get(key);
      const list = ((doc?.value as { inputs?: JsonValue[] } | undefined)?.inputs ?? []) as {
        digest?: string;
      }[];
      if (list.some((entry) => entry.digest === stored.digest)) continue;
      await ctx.keel.metadata.put(
        key,
        { inputs: [...(list as JsonValue[]), { digest: stored.digest, input }] },
        { ifRevision: doc?.revision ?? null },
      );
    }
  });
  return {};
}

async function metricHistory(ctx: MlflowContext, fields: MlflowFields): Promise<object> {
  const runId = runIdField(fields);
  const key = requiredString(fields, 'metric_key');
  const max = optionalInt64(fields, 'max_results', 1) ?? HISTORY_PAGE;
  if (max > HISTORY_PAGE)
    throw invalidParameter(`max_results is at most ${HISTORY_PAGE} for metric history, got ${max}`);
  const token = optionalString(fields, 'page_token');
  const offset = token ? Number(token) : 0;
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw invalidParameter(`Invalid page token '${String(token).slice(0, 100)}'`);
  await readRun(ctx.keel, runId);
  const points = await ctx.keel.tracker.metricHistory(runId, key);
  const page = points.slice(offset, offset + max).map((p) => ({
    key: p.key,
    value: jsonDouble(p.value),
    timestamp: p.timestamp,
    step: p.step,
  }));
  const reply: Record<string, unknown> = {};
  if (page.length > 0) reply.metrics = page;
  if (offset + max < points.length) reply.next_page_token = String(offset + max);
  return reply;
}

/** The logging routes of a run, and metric history. */
export const runLoggingRoutes: readonly MlflowRoute[] = [
  {
    methods: ['POST'],
    path: `${API}/runs/log-metric`,
    async handle(ctx, { fields }) {
      const runId = runIdField(fields);
      const p = readPoint(fields);
      await writeRun(ctx, runId, async (handle) => {
        handle.logMetric(p.key, p.value, { step: p.step, timestamp: p.timestamp });
        await handle.flush();
      });
      return {};
    },
  },
  {
    methods: ['POST'],
    path: `${API}/runs/log-parameter`,
    async handle(ctx, { fields }) {
      const runId = runIdField(fields);
      const key = requiredString(fields, 'key');
      const value = optionalString(fields, 'value') ?? '';
      const params = parseWith(paramsSchema, Object.fromEntries([[key, value]]), 'param');
      await writeRun(ctx, runId, (handle) => handle.logParams(params));
      return {};
    },
  },
  {
    methods: ['POST'],
    path: `${API}/runs/set-tag`,
    async handle(ctx, { fields }) {
      const runId = runIdField(fields);
      const key = requiredString(fields, 'key');
      const value = optionalString(fields, 'value') ?? '';
      const tags = parseWith(tagsSchema, Object.fromEntries([[key, value]]), 'tag');
      await writeRun(ctx, runId, (handle) => handle.setTags(tags));
      return {};
    },
  },
  {
    methods: ['POST'],
    path: `${API}/runs/delete-tag`,
    async handle(ctx, { fields }) {
      const runId = runIdField(fields);
      const key = requiredString(fields, 'key');
      const run = await readRun(ctx.keel, runId);
      if (await isRunDeleted(ctx.keel.metadata, runId))
        throw invalidParameter(
          `The run ${runId} must be in the 'active' state. Current state is deleted.`,
        );
      if (!Object.hasOwn(run.tags, key))
        throw doesNotExist(`No tag with name: ${key} in run with id ${runId}`);
      throw new MlflowApiError(
        'NOT_IMPLEMENTED',
        `keel's tags can be overwritten but not removed: set tag '${key}' to another value (runs/set-tag)`,
      );
    },
  },
  {
    methods: ['POST'],
    path: `${API}/runs/log-batch`,
    handle: (ctx, { fields, bodyBytes }) => logBatch(ctx, fields, bodyBytes),
  },
  {
    methods: ['POST'],
    path: `${API}/runs/log-inputs`,
    handle: (ctx, { fields }) => logInputs(ctx, fields),
  },
  {
    methods: ['GET'],
    path: `${API}/metrics/get-history`,
    handle: (ctx, { fields }) => metricHistory(ctx, fields),
  },
];

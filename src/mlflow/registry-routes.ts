/**
 * @module
 * MLflow's model registry routes over keel's registry: create and get a registered model,
 * create and get a model version, set, delete and read an alias. Versions are keel's numbers
 * (as strings), a version's `source` resolves to a stored blob (see model-sources.ts), and an
 * alias move goes through keel's alias policies: a refused promotion is an MLflow error that
 * says which policy refused it and why.
 */
import type { IncomingMessage } from 'node:http';
import { isKeelError, NotFoundError, PolicyError, ValidationError } from '../core/errors.js';
import type { Tags } from '../core/schemas.js';
import type { Model, ModelVersion } from '../registry/types.js';
import { MlflowApiError } from './errors.js';
import { queryFields, readJsonBody } from './http.js';
import { resolveSource } from './model-sources.js';
import type { MlflowFields, MlflowKeel, MlflowRoute } from './route.js';

/** The version tag keel keeps an MLflow `source` in (shown as `source`, not as a tag). */
export const SOURCE_TAG = 'mlflow.source';

/** An MLflow `{ key, value }` tag. */
interface KeyValue {
  key: string;
  value: string;
}

/** MLflow's `ModelVersion` message. */
export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: 'None' | 'Archived';
  description?: string;
  source: string;
  run_id?: string;
  status: 'READY';
  tags?: KeyValue[];
  aliases?: string[];
}

/** MLflow's `RegisteredModel` message. */
export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  description?: string;
  tags?: KeyValue[];
  aliases?: Array<{ alias: string; version: string }>;
  latest_versions?: MlflowModelVersion[];
}

const ms = (iso: string): number => Date.parse(iso);

function tagList(tags: Tags): KeyValue[] | undefined {
  const list = Object.entries(tags)
    .filter(([key]) => key !== SOURCE_TAG)
    .map(([key, value]) => ({ key, value }));
  return list.length ? list : undefined;
}

/** Reads MLflow's `[{ key, value }]` tags. */
function tagsFrom(value: unknown, what: string): Tags {
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value)) {
    throw new ValidationError(`[keel] invalid ${what}: tags must be a list of { key, value }`);
  }
  // own properties only: a "__proto__" key is kept as a key (and refused by keel), never dropped
  const tags: Tags = Object.create(null) as Tags;
  for (const item of value) {
    const { key, value: v } = (item ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || (v !== undefined && typeof v !== 'string')) {
      throw new ValidationError(
        `[keel] invalid ${what}: each tag must be { "key": string, "value": string }`,
      );
    }
    if (key === SOURCE_TAG) {
      throw new ValidationError(
        `[keel] invalid ${what}: the tag "${SOURCE_TAG}" is keel's record of the source; pass it as source`,
      );
    }
    tags[key] = v ?? '';
  }
  return tags;
}

/** A required string field. */
function required(params: MlflowFields, field: string, what: string): string {
  const value = params[field];
  if (typeof value !== 'string' || value === '') {
    throw new ValidationError(
      `[keel] invalid ${what} request: missing value for required parameter '${field}'`,
      { issues: [{ path: [field], message: 'required' }] },
    );
  }
  return value;
}

/** A version number from MLflow's string (or number) `version`. */
function versionOf(params: MlflowFields, what: string): number {
  const raw = params.version;
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,15}$/.test(text)) {
    throw new ValidationError(
      `[keel] invalid ${what} request: version must be a version number such as "1", got ${JSON.stringify(raw)?.slice(0, 40)}`,
    );
  }
  return Number(text);
}

/** The MLflow form of a keel version; `aliases` are the model's, by name. */
export function toMlflowVersion(
  v: ModelVersion,
  aliases: Record<string, number>,
): MlflowModelVersion {
  const pointing = Object.keys(aliases).filter((a) => aliases[a] === v.version);
  const tags = tagList(v.tags);
  return {
    name: v.model,
    version: String(v.version),
    creation_timestamp: ms(v.createdAt),
    last_updated_timestamp: ms(v.createdAt),
    user_id: v.createdBy,
    current_stage: v.status === 'archived' ? 'Archived' : 'None',
    ...(v.description === undefined ? {} : { description: v.description }),
    source: v.tags[SOURCE_TAG] ?? v.artifact.digest,
    ...(v.runId === undefined ? {} : { run_id: v.runId }),
    status: 'READY',
    ...(tags ? { tags } : {}),
    ...(pointing.length ? { aliases: pointing } : {}),
  };
}

async function registeredModel(keel: MlflowKeel, model: Model): Promise<MlflowRegisteredModel> {
  const aliases = await keel.registry.listAliases(model.name);
  const tags = tagList(model.tags);
  const entries = Object.entries(aliases).map(([alias, v]) => ({ alias, version: String(v) }));
  let latest: MlflowModelVersion | undefined;
  try {
    latest = toMlflowVersion(await keel.registry.getVersion(model.name, 'latest'), aliases);
  } catch (error) {
    if (!isKeelError(error, 'KEEL_NOT_FOUND')) throw error;
  }
  return {
    name: model.name,
    creation_timestamp: ms(model.createdAt),
    last_updated_timestamp: latest?.creation_timestamp ?? ms(model.createdAt),
    user_id: model.createdBy,
    ...(model.description === undefined ? {} : { description: model.description }),
    ...(tags ? { tags } : {}),
    ...(entries.length ? { aliases: entries } : {}),
    ...(latest ? { latest_versions: [latest] } : {}),
  };
}

/** `POST registered-models/create`. */
async function createRegisteredModel(
  keel: MlflowKeel,
  params: MlflowFields,
): Promise<{ registered_model: MlflowRegisteredModel }> {
  const name = required(params, 'name', 'registered-models/create');
  const description = params.description;
  const tags = tagsFrom(params.tags, 'registered-models/create request');
  let model: Model;
  try {
    model = await keel.registry.createModel(name, {
      tags,
      ...(typeof description === 'string' && description !== '' ? { description } : {}),
    });
  } catch (error) {
    if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    throw new MlflowApiError(
      'RESOURCE_ALREADY_EXISTS',
      `Registered Model (name=${name}) already exists; get it with registered-models/get`,
    );
  }
  return { registered_model: await registeredModel(keel, model) };
}

/** `GET registered-models/get?name=`. */
async function getRegisteredModel(
  keel: MlflowKeel,
  params: MlflowFields,
): Promise<{ registered_model: MlflowRegisteredModel }> {
  const name = required(params, 'name', 'registered-models/get');
  return { registered_model: await registeredModel(keel, await keel.registry.getModel(name)) };
}

/**
 * `POST model-versions/create`: registers the blob `source` names (its run's final metrics
 * become the version's registered metrics, for gates that judge them).
 */
async function createModelVersion(
  keel: MlflowKeel,
  params: MlflowFields,
): Promise<{ model_version: MlflowModelVersion }> {
  const what = 'model-versions/create';
  const name = required(params, 'name', what);
  const source = required(params, 'source', what);
  const runIdParam = params.run_id;
  if (runIdParam !== undefined && runIdParam !== null && typeof runIdParam !== 'string') {
    throw new ValidationError(`[keel] invalid ${what} request: run_id must be a string`);
  }
  const tags = tagsFrom(params.tags, `${what} request`);
  if (source.length > 5000) {
    throw new ValidationError(`[keel] invalid ${what} request: source is over 5000 characters`);
  }
  const resolved = await resolveSource(keel, source);
  const runId = runIdParam || resolved.run?.id;
  const run = resolved.run ?? (runId ? await keel.tracker.getRun(runId) : undefined);
  const metrics: Record<string, number> = {};
  for (const [key, point] of Object.entries(run?.metrics ?? {}))
    if (Number.isFinite(point.value)) metrics[key] = point.value;
  const description = params.description;
  const version = await keel.registry.registerVersion(name, {
    artifact: resolved.digest,
    ...(runId ? { runId } : {}),
    metrics,
    tags: { ...tags, [SOURCE_TAG]: source },
    ...(run ? { inputs: run.inputs } : {}),
    ...(typeof description === 'string' && description !== '' ? { description } : {}),
  });
  return { model_version: toMlflowVersion(version, await keel.registry.listAliases(name)) };
}

/** `GET model-versions/get?name=&version=`. */
async function getModelVersion(
  keel: MlflowKeel,
  params: MlflowFields,
): Promise<{ model_version: MlflowModelVersion }> {
  const name = required(params, 'name', 'model-versions/get');
  const version = await keel.registry.getVersion(name, versionOf(params, 'model-versions/get'));
  return { model_version: toMlflowVersion(version, await keel.registry.listAliases(name)) };
}

/**
 * `POST registered-models/alias`: moves the alias under its policy.
 *
 * @throws {PolicyError} when the alias policy refuses the move; the message names the alias
 *   policy and the gate policy or approvals it asks for.
 */
async function setRegisteredModelAlias(keel: MlflowKeel, params: MlflowFields): Promise<object> {
  const what = 'registered-models/alias';
  const name = required(params, 'name', what);
  const alias = required(params, 'alias', what);
  const version = versionOf(params, what);
  try {
    await keel.registry.setAlias(name, alias, version, { reason: 'set through the MLflow API' });
  } catch (error) {
    if (!isKeelError(error, 'KEEL_POLICY')) throw error;
    throw new PolicyError(
      `[keel] the alias policy of "${alias}" refused to point ${name}@${alias} at version ${version} (the MLflow API carries no gate report or approval; promote with keel.registry.setAlias and evidence, or approve first): ${error.message}`,
      { cause: error, ...(error.details ? { details: error.details } : {}) },
    );
  }
  return {};
}

/** `DELETE registered-models/alias` (name and alias in the body or the query). */
async function deleteRegisteredModelAlias(keel: MlflowKeel, params: MlflowFields): Promise<object> {
  const name = required(params, 'name', 'registered-models/alias');
  const alias = required(params, 'alias', 'registered-models/alias');
  await keel.registry.deleteAlias(name, alias, { reason: 'deleted through the MLflow API' });
  return {};
}

/** `GET registered-models/alias?name=&alias=`: the version the alias points to. */
async function getModelVersionByAlias(
  keel: MlflowKeel,
  params: MlflowFields,
): Promise<{ model_version: MlflowModelVersion }> {
  const name = required(params, 'name', 'registered-models/alias');
  const alias = required(params, 'alias', 'registered-models/alias');
  const aliases = await keel.registry.listAliases(name);
  const target = Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
  if (target === undefined) {
    throw new NotFoundError(
      `[keel] registered model "${name}" has no alias ${JSON.stringify(alias.slice(0, 80))}; set it with registered-models/alias`,
    );
  }
  const version = await keel.registry.getVersion(name, target);
  return { model_version: toMlflowVersion(version, aliases) };
}

/**
 * The fields of a JSON body, through the endpoint's reader, which returns either the fields or
 * `{ fields, bytes }` (its newer form, landing beside this one).
 *
 * @throws MlflowApiError as `readJsonBody` does.
 */
export async function readFields(req: IncomingMessage, limit: number): Promise<MlflowFields> {
  const read: unknown = await readJsonBody(req, limit);
  const wrapped = read as { fields?: unknown; bytes?: unknown };
  return (
    typeof wrapped.bytes === 'number' && typeof wrapped.fields === 'object' ? wrapped.fields : read
  ) as MlflowFields;
}

/** Largest JSON body an alias request may send. */
const ALIAS_BODY_LIMIT = 64 * 1024;

const api = '/api/2.0/mlflow';

/** The registry routes, for the endpoint's route table. */
export const registryRoutes: readonly MlflowRoute[] = [
  {
    methods: ['POST'],
    path: `${api}/registered-models/create`,
    handle: (ctx, request) => createRegisteredModel(ctx.keel, request.fields),
  },
  {
    methods: ['GET'],
    path: `${api}/registered-models/get`,
    handle: (ctx, request) => getRegisteredModel(ctx.keel, request.fields),
  },
  {
    methods: ['POST'],
    path: `${api}/model-versions/create`,
    handle: (ctx, request) => createModelVersion(ctx.keel, request.fields),
  },
  {
    methods: ['GET'],
    path: `${api}/model-versions/get`,
    handle: (ctx, request) => getModelVersion(ctx.keel, request.fields),
  },
  {
    // one path, three verbs: MLflow's clients send DELETE's fields as a JSON body, so the
    // body is read here for POST and DELETE (over the query's fields)
    methods: ['GET', 'POST', 'DELETE'],
    path: `${api}/registered-models/alias`,
    body: 'raw',
    async handle(ctx, request) {
      const query = queryFields(request.query);
      if (request.method === 'GET') return getModelVersionByAlias(ctx.keel, query);
      const fields = { ...query, ...(await readFields(request.raw, ALIAS_BODY_LIMIT)) };
      return request.method === 'POST'
        ? setRegisteredModelAlias(ctx.keel, fields)
        : deleteRegisteredModelAlias(ctx.keel, fields);
    },
  },
];

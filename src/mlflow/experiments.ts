// MLflow's experiments over keel's: create, get, get-by-name, search and set-experiment-tag.
import { ErrorCodes, isKeelError } from '../core/errors.js';
import { nameSchema, tagsSchema } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import type { Experiment } from '../tracking/types.js';
import { doesNotExist, invalidParameter, MlflowApiError } from './errors.js';
import { searchExperiments } from './experiment-search.js';
import { keyValues, optionalString, requiredString } from './fields.js';
import { DEFAULT_EXPERIMENT, EXPERIMENT_ID_PATTERN, mlflowExperimentId, ms } from './mapping.js';
import type { MlflowKeel, MlflowRoute } from './route.js';
import { listExperimentDocs, readExperimentDoc, updateExperimentDoc } from './store.js';

/** An experiment as MLflow sees it. */
export interface MlflowExperiment {
  /** keel's experiment id ("0" for `Default`). */
  id: string;
  /** keel's experiment name. */
  name: string;
  /** Milliseconds since the epoch. */
  creationTime: number;
  /** Milliseconds since the epoch. */
  lastUpdateTime: number;
  /** Experiment tags. */
  tags: Record<string, string>;
}

const API = '/api/2.0/mlflow/experiments';

/** Every experiment: keel's (made by a first run) and those created here before a run; `Default` always. */
export async function allExperiments(keel: MlflowKeel): Promise<MlflowExperiment[]> {
  const docs = await listExperimentDocs(keel.metadata);
  const byId = new Map<string, MlflowExperiment>();
  for (const e of await keel.tracker.listExperiments()) {
    const id = mlflowExperimentId(e.name);
    const doc = docs.get(id);
    const created = ms(e.createdAt);
    byId.set(id, {
      id,
      name: e.name,
      creationTime: doc?.creationTime ?? created,
      lastUpdateTime: doc?.lastUpdateTime ?? created,
      tags: doc?.tags ?? {},
    });
  }
  for (const [id, doc] of docs) if (!byId.has(id)) byId.set(id, { id, ...doc });
  if (!byId.has(DEFAULT_EXPERIMENT.id)) byId.set(DEFAULT_EXPERIMENT.id, defaultExperiment());
  return [...byId.values()];
}

function defaultExperiment(): MlflowExperiment {
  return { ...DEFAULT_EXPERIMENT, creationTime: 0, lastUpdateTime: 0, tags: {} };
}

/**
 * The experiment with MLflow id `id`: one read for an experiment created here (or already
 * looked up by name); a listing for one made by keel runs and never looked up by name.
 *
 * @throws {MlflowApiError} RESOURCE_DOES_NOT_EXIST when there is none; INVALID_PARAMETER_VALUE
 *   when `id` is not an MLflow experiment id.
 */
export async function experimentById(keel: MlflowKeel, id: string): Promise<MlflowExperiment> {
  if (!EXPERIMENT_ID_PATTERN.test(id)) throw invalidParameter(`Invalid experiment ID: '${id}'`);
  const found = await readExperimentDoc(keel.metadata, id);
  if (found) return { id, ...found.doc };
  const known = (await allExperiments(keel)).find((e) => e.id === id);
  if (!known) throw doesNotExist(`No Experiment with id=${id} exists`);
  return known;
}

/**
 * The experiment named `name`, by its keys (however many experiments there are). An experiment
 * made by keel runs gets its MLflow document here, so that later reads by id are one read too.
 *
 * @throws {MlflowApiError} RESOURCE_DOES_NOT_EXIST when there is none.
 */
export async function experimentByName(keel: MlflowKeel, name: string): Promise<MlflowExperiment> {
  const id = mlflowExperimentId(name);
  const found = await readExperimentDoc(keel.metadata, id);
  if (found?.doc.name === name) return { id, ...found.doc };
  const known = await keelExperiment(keel, name);
  if (!known) {
    if (id === DEFAULT_EXPERIMENT.id) return defaultExperiment();
    throw doesNotExist(`Could not find experiment with name '${name}'`);
  }
  const created = ms(known.createdAt);
  const doc = await updateExperimentDoc(
    keel.metadata,
    id,
    () => ({ name, creationTime: created, lastUpdateTime: created, tags: {} }),
    (existing) => existing,
  );
  return { id, ...doc };
}

/** keel's experiment named `name`, or undefined when no run was started under it. */
async function keelExperiment(keel: MlflowKeel, name: string): Promise<Experiment | undefined> {
  try {
    return await keel.tracker.getExperiment(name);
  } catch (error) {
    if (isKeelError(error, ErrorCodes.notFound) || isKeelError(error, ErrorCodes.validation)) {
      return undefined;
    }
    throw error;
  }
}

/** MLflow's `Experiment` JSON. */
export function experimentJson(e: MlflowExperiment): Record<string, unknown> {
  const out: Record<string, unknown> = {
    experiment_id: e.id,
    name: e.name,
    artifact_location: `mlflow-artifacts:/${e.id}`,
    lifecycle_stage: 'active',
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
  };
  const tags = Object.entries(e.tags).map(([key, value]) => ({ key, value }));
  if (tags.length > 0) out.tags = tags;
  return out;
}

/** The experiment routes. */
export const experimentRoutes: readonly MlflowRoute[] = [
  {
    methods: ['POST'],
    path: `${API}/create`,
    async handle({ keel }, { fields }) {
      const name = requiredString(fields, 'name');
      parseWith(nameSchema, name, 'experiment name');
      const tags = parseWith(tagsSchema, keyValues(fields, 'tags'), 'experiment tags');
      const id = mlflowExperimentId(name);
      const exists = async () =>
        id === DEFAULT_EXPERIMENT.id || (await keelExperiment(keel, name)) !== undefined;
      const already = new MlflowApiError(
        'RESOURCE_ALREADY_EXISTS',
        `Experiment '${name}' already exists.`,
      );
      if (await exists()) throw already;
      const now = keel.clock.now();
      let created = false;
      await updateExperimentDoc(
        keel.metadata,
        id,
        () => {
          created = true;
          return { name, creationTime: now, lastUpdateTime: now, tags: { ...tags } };
        },
        (doc) => {
          if (!created) throw already;
          return doc;
        },
      );
      return { experiment_id: id };
    },
  },
  {
    methods: ['GET'],
    path: `${API}/get`,
    async handle({ keel }, { fields }) {
      const id = requiredString(fields, 'experiment_id');
      return { experiment: experimentJson(await experimentById(keel, id)) };
    },
  },
  {
    methods: ['GET'],
    path: `${API}/get-by-name`,
    async handle({ keel }, { fields }) {
      const name = requiredString(fields, 'experiment_name');
      return { experiment: experimentJson(await experimentByName(keel, name)) };
    },
  },
  {
    methods: ['GET', 'POST'],
    path: `${API}/search`,
    async handle({ keel }, { fields }) {
      const page = searchExperiments(await allExperiments(keel), fields);
      return {
        experiments: page.experiments.map(experimentJson),
        ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
      };
    },
  },
  {
    methods: ['POST'],
    path: `${API}/set-experiment-tag`,
    async handle({ keel }, { fields }) {
      const id = requiredString(fields, 'experiment_id');
      const key = requiredString(fields, 'key');
      const value = optionalString(fields, 'value') ?? '';
      const tags = parseWith(tagsSchema, Object.fromEntries([[key, value]]), 'experiment tag');
      const e = await experimentById(keel, id);
      const now = keel.clock.now();
      await updateExperimentDoc(
        keel.metadata,
        id,
        () => ({ name: e.name, creationTime: e.creationTime, lastUpdateTime: now, tags: {} }),
        (doc) => ({ ...doc, lastUpdateTime: now, tags: { ...doc.tags, ...tags } }),
      );
      return {};
    },
  },
];

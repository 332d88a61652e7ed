// MLflow's experiments over keel's: create, get, get-by-name, search and set-experiment-tag.
import { nameSchema, tagsSchema } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
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
 * The experiment with MLflow id `id`.
 *
 * @throws {MlflowApiError} RESOURCE_DOES_NOT_EXIST when there is none; INVALID_PARAMETER_VALUE
 *   when `id` is not an MLflow experiment id.
 */
export async function experimentById(keel: MlflowKeel, id: string): Promise<MlflowExperiment> {
  if (!EXPERIMENT_ID_PATTERN.test(id)) throw invalidParameter(`Invalid experiment ID: '${id}'`);
  const found = await readExperimentDoc(keel.metadata, id);
  if (found) {
    const known = (await keel.tracker.listExperiments()).find((e) => e.name === found.doc.name);
    return { id, ...found.doc, ...(known ? { creationTime: ms(known.createdAt) } : {}) };
  }
  const known = (await allExperiments(keel)).find((e) => e.id === id);
  if (!known) throw doesNotExist(`No Experiment with id=${id} exists`);
  return known;
}

/**
 * The experiment named `name`.
 *
 * @throws {MlflowApiError} RESOURCE_DOES_NOT_EXIST when there is none.
 */
export async function experimentByName(keel: MlflowKeel, name: string): Promise<MlflowExperiment> {
  const known = (await allExperiments(keel)).find((e) => e.name === name);
  if (!known) throw doesNotExist(`Could not find experiment with name '${name}'`);
  return known;
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
        (await keel.tracker.listExperiments()).some((e) => e.name === name) ||
        id === DEFAULT_EXPERIMENT.id;
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

// What MLflow has and keel's tracker does not, kept as documents under `mlflow/` in keel's metadata store: experiments created before their first run, experiment tags, deleted runs, dataset inputs.

import { isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';

/** The keys of the endpoint's documents. */
export const mlflowKeys = {
  experimentsPrefix: 'mlflow/experiments/',
  experiment: (id: string): string => `mlflow/experiments/${id}`,
  deletedRunsPrefix: 'mlflow/deleted-runs/',
  deletedRun: (runId: string): string => `mlflow/deleted-runs/${runId}`,
  runInputs: (runId: string): string => `mlflow/run-inputs/${runId}`,
} as const;

/** An experiment as the endpoint records it (keel's own record is made by its first run). */
export interface ExperimentDoc {
  /** The experiment's name (keel's experiment name). */
  name: string;
  /** Milliseconds since the epoch. */
  creationTime: number;
  /** Milliseconds since the epoch. */
  lastUpdateTime: number;
  /** Experiment tags. */
  tags: Record<string, string>;
}

/** Reads an experiment document, or `undefined`. */
export async function readExperimentDoc(
  metadata: MetadataStore,
  id: string,
): Promise<{ doc: ExperimentDoc; revision: string } | undefined> {
  const found = await metadata.get(mlflowKeys.experiment(id));
  const doc = found === undefined ? undefined : parseExperimentDoc(found.value);
  return doc === undefined ? undefined : { doc, revision: found!.revision };
}

/** Every experiment document, by id. */
export async function listExperimentDocs(
  metadata: MetadataStore,
): Promise<Map<string, ExperimentDoc>> {
  const out = new Map<string, ExperimentDoc>();
  for await (const { key, value } of metadata.list(mlflowKeys.experimentsPrefix)) {
    const doc = parseExperimentDoc(value);
    if (doc) out.set(key.slice(mlflowKeys.experimentsPrefix.length), doc);
  }
  return out;
}

function parseExperimentDoc(value: unknown): ExperimentDoc | undefined {
  const doc = value as Partial<ExperimentDoc> | null;
  if (typeof doc?.name !== 'string') return undefined;
  const creationTime = typeof doc.creationTime === 'number' ? doc.creationTime : 0;
  return {
    name: doc.name,
    creationTime,
    lastUpdateTime: typeof doc.lastUpdateTime === 'number' ? doc.lastUpdateTime : creationTime,
    tags: readTags(doc.tags),
  };
}

/**
 * Applies `change` to an experiment document with compare-and-swap, retrying a lost race;
 * `create` is the document when there is none yet.
 */
export async function updateExperimentDoc(
  metadata: MetadataStore,
  id: string,
  create: () => ExperimentDoc,
  change: (doc: ExperimentDoc) => ExperimentDoc,
): Promise<ExperimentDoc> {
  for (let attempt = 0; ; attempt++) {
    const found = await readExperimentDoc(metadata, id);
    const next = change(found?.doc ?? create());
    try {
      await metadata.put(mlflowKeys.experiment(id), next as unknown as JsonValue, {
        ifRevision: found?.revision ?? null,
      });
      return next;
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT') || attempt >= 10) throw error;
    }
  }
}

/** Whether a run is deleted (MLflow's lifecycle stage `deleted`). */
export async function isRunDeleted(metadata: MetadataStore, runId: string): Promise<boolean> {
  return (await metadata.get(mlflowKeys.deletedRun(runId))) !== undefined;
}

/** The ids of every deleted run. */
export async function deletedRunIds(metadata: MetadataStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const { key } of metadata.list(mlflowKeys.deletedRunsPrefix))
    out.add(key.slice(mlflowKeys.deletedRunsPrefix.length));
  return out;
}

function readTags(value: unknown): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

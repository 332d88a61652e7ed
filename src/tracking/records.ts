/**
 * @module
 * How the Tracker lays its data out in a MetadataStore: the keys, the run document (with
 * its write sequence number), and the conversions between stored JSON and {@link Run}.
 * Non-finite metric values are stored as the strings "NaN", "Infinity" and "-Infinity".
 */
import { sha256 } from '../core/digest.js';
import { IntegrityError } from '../core/errors.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { Params, Tags } from '../core/schemas.js';
import type { Environment, LineageRef, MetricPoint, Run, RunStatus } from './types.js';

/** Every key the tracker writes starts with this. */
export const TRACKING_ROOT = 'tracking';

/** The keys and log names of the tracker's layout. */
export const trackingKeys: {
  readonly experimentsPrefix: string;
  experiment(name: string): string;
  readonly runsPrefix: string;
  run(runId: string): string;
  metricsLog(runId: string): string;
  /** Every run-document write appends `[runId, seq]` here first: the search cache follows it. */
  readonly journal: string;
  /** The search cache of keel before journal compaction (ADR 0017): no longer written; `keel.doctor()` removes it. */
  readonly searchSnapshot: string;
} = {
  experimentsPrefix: `${TRACKING_ROOT}/experiments/`,
  experiment: (name) => `${TRACKING_ROOT}/experiments/${experimentId(name)}`,
  runsPrefix: `${TRACKING_ROOT}/runs/`,
  run: (runId) => `${TRACKING_ROOT}/runs/${runId}`,
  metricsLog: (runId) => `${TRACKING_ROOT}/metrics/${runId}`,
  journal: `${TRACKING_ROOT}/journal`,
  searchSnapshot: `${TRACKING_ROOT}/search-snapshot`,
};

/** Which side of a run a lineage reference is on. */
export type LineageRole = 'produced' | 'consumed';

/** The stable id of an experiment: derived from its name, so two processes agree on it. */
export function experimentId(name: string): string {
  return sha256(name).slice(7, 39);
}

/** Run ids are the tracker's time-sortable ids: 26 lowercase base32 characters. */
export const RUN_ID_PATTERN: RegExp = /^[0-9a-hjkmnp-tv-z]{26}$/;

/** The stored form of a run, with `seq`: the number of writes so far (for the search cache). */
export interface RunDocument {
  run: Run;
  seq: number;
}

/** Encodes a number JSON cannot carry (NaN, +/-Infinity) as a string. */
export function encodeNumber(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

/** Decodes {@link encodeNumber}; anything else is `undefined`. */
export function decodeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
  return undefined;
}

/** The JSON stored for a run. */
export function runToJson(doc: RunDocument): JsonObject {
  const { run } = doc;
  const metrics: JsonObject = {};
  for (const [key, point] of Object.entries(run.metrics)) {
    metrics[key] = [encodeNumber(point.value), point.step, point.timestamp];
  }
  const out: JsonObject = {
    format: 1,
    seq: doc.seq,
    id: run.id,
    experiment: run.experiment,
    status: run.status,
    startTime: run.startTime,
    params: run.params,
    tags: run.tags,
    metrics,
    inputs: run.inputs as unknown as JsonValue,
    outputs: run.outputs as unknown as JsonValue,
  };
  if (run.name !== undefined) out.name = run.name;
  if (run.endTime !== undefined) out.endTime = run.endTime;
  if (run.parentRunId !== undefined) out.parentRunId = run.parentRunId;
  if (run.environment !== undefined) out.environment = run.environment as unknown as JsonValue;
  if (run.error !== undefined) out.error = run.error as unknown as JsonValue;
  return out;
}

/** Reads a stored run; `IntegrityError` when the document is not one. */
export function runFromJson(key: string, value: JsonValue): RunDocument {
  const doc = asObject(value);
  const metricsDoc = doc ? asObject(doc.metrics) : undefined;
  const params = doc ? asObject(doc.params) : undefined;
  const tags = doc ? asObject(doc.tags) : undefined;
  if (
    doc?.format !== 1 ||
    typeof doc.seq !== 'number' ||
    typeof doc.id !== 'string' ||
    typeof doc.experiment !== 'string' ||
    !STATUSES.has(doc.status as string) ||
    typeof doc.startTime !== 'string' ||
    !metricsDoc ||
    !params ||
    !tags ||
    !Array.isArray(doc.inputs) ||
    !Array.isArray(doc.outputs)
  ) {
    throw new IntegrityError(
      `[keel] the run document ${key} is malformed: it was not written by this tracker or was damaged; restore it from a backup or delete it`,
    );
  }
  const metrics: Record<string, MetricPoint> = {};
  for (const [metricKey, stored] of Object.entries(metricsDoc)) {
    const [value, step, timestamp] = Array.isArray(stored) ? stored : [];
    const decoded = decodeNumber(value);
    if (decoded === undefined || typeof step !== 'number' || typeof timestamp !== 'number')
      continue;
    metrics[metricKey] = { key: metricKey, value: decoded, step, timestamp };
  }
  const run: Run = {
    id: doc.id,
    experiment: doc.experiment,
    status: doc.status as RunStatus,
    startTime: doc.startTime,
    params: params as Params,
    tags: tags as Tags,
    metrics,
    inputs: doc.inputs as unknown as LineageRef[],
    outputs: doc.outputs as unknown as LineageRef[],
  };
  if (typeof doc.name === 'string') run.name = doc.name;
  if (typeof doc.endTime === 'string') run.endTime = doc.endTime;
  if (typeof doc.parentRunId === 'string') run.parentRunId = doc.parentRunId;
  if (asObject(doc.environment)) run.environment = doc.environment as unknown as Environment;
  if (asObject(doc.error)) run.error = doc.error as unknown as { message: string; code?: string };
  return { run, seq: doc.seq };
}

/** True when two lineage references are the same reference. */
export function sameRef(a: LineageRef, b: LineageRef): boolean {
  return a.digest === b.digest && a.name === b.name && a.kind === b.kind;
}

const STATUSES = new Set<string>(['running', 'completed', 'failed', 'killed']);

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

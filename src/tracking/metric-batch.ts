/**
 * @module
 * The stored form of one flushed batch of metric points: one log entry per batch whose
 * numbers travel as little-endian float64/uint32 columns in base64. That keeps every
 * double exact (NaN, infinities and -0 included, which JSON cannot carry) and makes a
 * flush cost a few nanoseconds per point.
 */
import { decodeBase64, encodeBase64 } from '../core/base64.js';
import { IntegrityError } from '../core/errors.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { MetricPoint } from './types.js';

/** The `format` tag of a stored batch. */
export const METRIC_BATCH_FORMAT = 'keel.metrics/1';

/** Points in columns: `keyIndex[i]` indexes `keys`. */
export interface MetricColumns {
  keys: string[];
  keyIndex: Uint32Array;
  values: Float64Array;
  steps: Float64Array;
  timestamps: Float64Array;
  count: number;
}

/**
 * Encodes a batch as a JSON log entry:
 * `{ format, batch, keys, count, data }` where `data` is base64 of
 * values (f64 x count), steps (f64 x count), timestamps (f64 x count), key indexes (u32 x count).
 */
export function encodeMetricBatch(batch: string, columns: MetricColumns): JsonObject {
  const { count } = columns;
  const bytes = new Uint8Array(count * BYTES_PER_POINT);
  if (LITTLE_ENDIAN) {
    bytes.set(asBytes(columns.values, count * 8), 0);
    bytes.set(asBytes(columns.steps, count * 8), count * 8);
    bytes.set(asBytes(columns.timestamps, count * 8), count * 16);
    bytes.set(asBytes(columns.keyIndex, count * 4), count * 24);
  } else {
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < count; i++) {
      view.setFloat64(i * 8, columns.values[i]!, true);
      view.setFloat64(count * 8 + i * 8, columns.steps[i]!, true);
      view.setFloat64(count * 16 + i * 8, columns.timestamps[i]!, true);
      view.setUint32(count * 24 + i * 4, columns.keyIndex[i]!, true);
    }
  }
  return {
    format: METRIC_BATCH_FORMAT,
    batch,
    keys: columns.keys,
    count,
    data: encodeBase64(bytes),
  };
}

/** Decodes a stored batch; `IntegrityError` when the entry is not one. */
export function decodeMetricBatch(
  log: string,
  entry: JsonValue,
): { batch: string; columns: MetricColumns } {
  const record = entry as {
    format?: unknown;
    batch?: unknown;
    keys?: unknown;
    count?: unknown;
    data?: unknown;
  } | null;
  const count = record?.count;
  if (
    record === null ||
    typeof record !== 'object' ||
    record.format !== METRIC_BATCH_FORMAT ||
    typeof record.batch !== 'string' ||
    !Array.isArray(record.keys) ||
    !record.keys.every((k) => typeof k === 'string') ||
    typeof count !== 'number' ||
    !Number.isSafeInteger(count) ||
    count < 0 ||
    typeof record.data !== 'string'
  ) {
    throw damaged(log);
  }
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(record.data);
  } catch {
    throw damaged(log);
  }
  if (bytes.length !== count * BYTES_PER_POINT) throw damaged(log);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const columns: MetricColumns = {
    keys: record.keys as string[],
    keyIndex: new Uint32Array(count),
    values: new Float64Array(count),
    steps: new Float64Array(count),
    timestamps: new Float64Array(count),
    count,
  };
  for (let i = 0; i < count; i++) {
    columns.values[i] = view.getFloat64(i * 8, true);
    columns.steps[i] = view.getFloat64(count * 8 + i * 8, true);
    columns.timestamps[i] = view.getFloat64(count * 16 + i * 8, true);
    const index = view.getUint32(count * 24 + i * 4, true);
    if (index >= columns.keys.length) throw damaged(log);
    columns.keyIndex[i] = index;
  }
  return { batch: record.batch, columns };
}

/** True when point `a` (step, timestamp) is at least as late as `b`: the later one wins ties. */
export function isLaterOrSame(
  a: Pick<MetricPoint, 'step' | 'timestamp'>,
  b: Pick<MetricPoint, 'step' | 'timestamp'>,
): boolean {
  return a.step > b.step || (a.step === b.step && a.timestamp >= b.timestamp);
}

const BYTES_PER_POINT = 28;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function asBytes(array: Float64Array | Uint32Array, length: number): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, length);
}

function damaged(log: string): IntegrityError {
  return new IntegrityError(
    `[keel] a metric batch in ${log} is malformed: it was not written by this tracker or was damaged; restore the log from a backup`,
  );
}

/**
 * @module
 * What gate rules judge: the candidate's (and optionally the champion's) metrics,
 * predictions, latencies, costs and per-example samples, plus a drift report; and the
 * boundary check of their shapes (values are judged by the rules, so NaN is accepted here).
 */
import { z } from 'zod';
import { toJsonValue } from '../core/canonical-json.js';
import { ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import { parseWith, unreadable } from '../core/validate.js';
import type { DatasetDriftReport } from '../drift/types.js';

/** Evidence about one model. Arrays may be plain arrays or typed arrays. */
export interface ModelEvidence {
  /** Named scalar metrics (`metric`, `compare`). */
  metrics?: Record<string, number>;
  /** Predicted labels 0/1, aligned with `labels` and each `groups` attribute. */
  predictions?: ArrayLike<number>;
  /** Ground truth 0/1. */
  labels?: ArrayLike<number>;
  /** Sensitive attributes by name, aligned with `predictions`. */
  groups?: Record<string, ArrayLike<string>>;
  /** Per-request latencies in milliseconds. */
  latenciesMs?: ArrayLike<number>;
  /** Named costs (`cost`). */
  costs?: Record<string, number>;
  /** Per-example values (e.g. correctness 0/1, squared error) for `significance`. */
  samples?: Record<string, ArrayLike<number>>;
  /** Metric histories in training order, e.g. the loss per epoch (`convergence`). */
  history?: Record<string, ArrayLike<number>>;
  /** Digests of the rows of each data split, e.g. `train` and `test` (`leakage`). */
  rowDigests?: Record<string, ArrayLike<string>>;
}

/** Everything a gate policy may look at. Extra fields are kept for code-defined rules. */
export interface Evidence {
  /** The model being judged; every rule reads its evidence from here. */
  candidate: ModelEvidence;
  /** The model the candidate must beat (`compare`, `significance`). */
  champion?: ModelEvidence;
  /** A dataset drift report (`drift`). */
  drift?: DatasetDriftReport;
}

/** The key of the object that stands for a number JSON cannot carry (`{ "$keel:number": "NaN" }`). */
const NUMBER_TAG = '$keel:number';

/**
 * The evidence as plain JSON, so that it can be stored and judged again exactly: typed arrays
 * become arrays, and NaN, the infinities and -0 become `{ "$keel:number": "NaN" }` (and so
 * on). `undefined` when the evidence holds what JSON cannot carry (a function, a bigint, a
 * class instance, a cycle) or an object that looks like such a tag.
 *
 * @throws {ValidationError} when reading the evidence throws (a getter or proxy), or it is
 *   malformed.
 */
export function encodeEvidence(evidence: Evidence): JsonValue | undefined {
  try {
    return encode(evidence, new Set(), 0);
  } catch (error) {
    if (error === UNENCODABLE) return undefined;
    if (error instanceof ValidationError) throw error;
    throw unreadable('gate evidence', error);
  }
}

/**
 * The evidence {@link encodeEvidence} encoded, with its numbers restored.
 *
 * @throws {ValidationError} when `value` is not plain JSON (as {@link toJsonValue} checks).
 */
export function decodeEvidence(value: JsonValue): Evidence {
  // a plain JSON copy first: decoding never reads a caller's getters or proxies
  return decode(toJsonValue(value)) as unknown as Evidence;
}

/** Throws `ValidationError` when `evidence` is not shaped as {@link Evidence}. */
export function checkEvidence(evidence: unknown): Evidence {
  parseWith(evidenceSchema, evidence, 'gate evidence');
  // The caller's object is returned as is: parsing would copy large arrays.
  return evidence as Evidence;
}

const numberArray = z.custom<ArrayLike<number>>(
  (v) => isArrayLike(v) && every(v, (x) => typeof x === 'number'),
  'expected an array (or typed array) of numbers',
);
const stringArray = z.custom<ArrayLike<string>>(
  (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
  'expected an array of strings',
);
// NaN and infinities pass here on purpose: the rules report them as failures.
const anyNumber = z.custom<number>((v) => typeof v === 'number', 'expected a number');

const modelEvidenceSchema = z.looseObject({
  metrics: z.record(z.string(), anyNumber).optional(),
  predictions: numberArray.optional(),
  labels: numberArray.optional(),
  groups: z.record(z.string(), stringArray).optional(),
  latenciesMs: numberArray.optional(),
  costs: z.record(z.string(), anyNumber).optional(),
  samples: z.record(z.string(), numberArray).optional(),
  history: z.record(z.string(), numberArray).optional(),
  rowDigests: z.record(z.string(), stringArray).optional(),
});

const driftSchema = z.looseObject({
  drifted: z.boolean(),
  share: anyNumber,
  driftedColumns: anyNumber,
  driftShare: anyNumber,
  columns: z.record(
    z.string(),
    z.looseObject({
      method: z.string(),
      statistic: anyNumber,
      pValue: anyNumber.optional(),
      threshold: anyNumber,
      drifted: z.boolean(),
    }),
  ),
});

const evidenceSchema = z.looseObject({
  candidate: modelEvidenceSchema,
  champion: modelEvidenceSchema.optional(),
  drift: driftSchema.optional(),
});

const UNENCODABLE: unique symbol = Symbol('unencodable');

function encodeNumber(value: number): JsonValue {
  if (Number.isFinite(value) && !Object.is(value, -0)) return value;
  return { [NUMBER_TAG]: Object.is(value, -0) ? '-0' : String(value) };
}

function encode(value: unknown, seen: Set<object>, depth: number): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return encodeNumber(value);
  if (typeof value !== 'object' || depth > 64 || seen.has(value)) throw UNENCODABLE;
  if (isArrayLike(value) && !Array.isArray(value)) {
    return Array.from(value as ArrayLike<number>, encodeNumber);
  }
  seen.add(value);
  let out: JsonValue;
  if (Array.isArray(value)) {
    out = value.map((item) => {
      if (item === undefined) throw UNENCODABLE;
      return encode(item, seen, depth + 1);
    });
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw UNENCODABLE;
    const fields: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === NUMBER_TAG || key === '__proto__') throw UNENCODABLE;
      if (item !== undefined) fields[key] = encode(item, seen, depth + 1);
    }
    out = fields;
  }
  seen.delete(value);
  return out;
}

function decode(value: JsonValue): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === NUMBER_TAG) {
    const tag = value[NUMBER_TAG];
    return tag === '-0' ? -0 : Number(tag);
  }
  const out: Record<string, unknown> = {};
  // encodeEvidence never writes "__proto__"; a stored document that has it was not made by keel.
  for (const key of keys) if (key !== '__proto__') out[key] = decode(value[key]!);
  return out;
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    Array.isArray(value) ||
    (ArrayBuffer.isView(value) &&
      !(value instanceof DataView) &&
      !(value instanceof BigInt64Array) &&
      !(value instanceof BigUint64Array))
  );
}

function every(values: ArrayLike<unknown>, test: (value: unknown) => boolean): boolean {
  if (!Array.isArray(values)) return true; // a numeric typed array holds numbers only
  for (let i = 0; i < values.length; i++) if (!test(values[i])) return false;
  return true;
}

/**
 * @module
 * What gate rules judge: the candidate's (and optionally the champion's) metrics,
 * predictions, latencies, costs and per-example samples, plus a drift report; and the
 * boundary check of their shapes (values are judged by the rules, so NaN is accepted here).
 */
import { z } from 'zod';
import { parseWith } from '../core/validate.js';
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
  candidate: ModelEvidence;
  /** The model the candidate must beat (`compare`, `significance`). */
  champion?: ModelEvidence;
  /** A dataset drift report (`drift`). */
  drift?: DatasetDriftReport;
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

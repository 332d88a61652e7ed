/**
 * @module
 * `scoreBatch`: offline scoring. Pins the version an alias points to when scoring starts,
 * loads it once, and yields outputs batch by batch as an async iterator, recording every
 * prediction into an optional monitor (the same hooks as online serving).
 */
import { z } from 'zod';
import { isKeelError, NotFoundError, ValidationError } from '../core/errors.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import { modelNameSchema, readableAliasSchema } from '../registry/schemas.js';
import type { ModelVersion } from '../registry/types.js';
import { checkOpsKeel, type OpsKeel } from './context.js';
import type { PredictionRecorder, Predictor } from './router/types.js';

/** Options of {@link scoreBatch}. */
export interface ScoreBatchOptions<I, O> {
  /** A keel instance (its registry resolves the alias). */
  keel: OpsKeel;
  /** The registered model whose alias scores the rows. */
  model: string;
  /** The alias to score with, resolved once at the start. Default `champion`. */
  alias?: string;
  /** Turns the version into a predictor (called once). */
  load: (version: ModelVersion) => Predictor<I, O> | Promise<Predictor<I, O>>;
  /** The rows to score, of any length (streamed: never all in memory). */
  rows: Iterable<I> | AsyncIterable<I>;
  /** Rows per yielded batch. Default 1000. */
  batchSize?: number;
  /** Predictions of one batch run at once (for async predictors). Default 1: in order. */
  concurrency?: number;
  /** Receives every prediction (e.g. a monitor, for drift on the scored data). */
  monitor?: PredictionRecorder;
  /** Stops between batches. */
  signal?: AbortSignal;
}

/** One scored batch. */
export interface ScoredBatch<I, O> {
  /** The version that scored every batch of this job. */
  version: number;
  /** 0, 1, 2, ... */
  index: number;
  /** Position of the batch's first row in the input. */
  offset: number;
  /** The rows of this batch, in input order. */
  rows: I[];
  /** `outputs[i]` is the output for `rows[i]`. */
  outputs: O[];
}

/**
 * Scores `rows` with the version behind `alias`, one batch at a time. A predictor error
 * stops the iteration (it rejects with that error); scored batches stay delivered.
 *
 * @throws {ValidationError} (at once) when `keel`, `load` or `rows` is missing or of the wrong
 *   kind, or `model`, `alias`, `batchSize` or `concurrency` is invalid; (on iteration) when
 *   `load` does not return a function.
 * @throws {NotFoundError} (on iteration) when the model has no such alias.
 *
 * @example
 * ```ts
 * for await (const batch of scoreBatch({ keel, model: 'churn', load, rows: readRows(), batchSize: 5000 })) {
 *   await writeScores(batch.rows, batch.outputs);
 * }
 * ```
 */
export function scoreBatch<I, O>(
  options: ScoreBatchOptions<I, O>,
): AsyncIterable<ScoredBatch<I, O>> {
  assertReadableObject(options, 'scoreBatch options');
  const { keel, load, rows, monitor, signal } = options ?? ({} as ScoreBatchOptions<I, O>);
  checkOpsKeel(keel);
  const o = parseWith(optionsSchema, pick(options), 'scoreBatch options');
  if (typeof load !== 'function') {
    throw new ValidationError(
      '[keel] invalid scoreBatch options: load must be a function (version) => predictor',
      {
        issues: [{ path: ['load'], message: 'expected a function' }],
      },
    );
  }
  if (!isIterable(rows)) {
    throw new ValidationError(
      '[keel] invalid scoreBatch options: rows must be an iterable or async iterable of rows',
      {
        issues: [{ path: ['rows'], message: 'expected an iterable' }],
      },
    );
  }
  const alias = o.alias ?? 'champion';
  const batchSize = o.batchSize ?? 1000;
  const concurrency = o.concurrency ?? 1;
  return {
    async *[Symbol.asyncIterator]() {
      let version: ModelVersion;
      try {
        version = await keel.registry.resolve(o.model, alias);
      } catch (error) {
        if (!isKeelError(error, 'KEEL_NOT_FOUND')) throw error;
        throw new NotFoundError(
          `[keel] scoreBatch cannot start: model "${o.model}" has no alias "${alias}"; set it or pass another alias`,
          { cause: error },
        );
      }
      const predict = await load(version);
      if (typeof predict !== 'function') {
        throw new ValidationError(
          `[keel] scoreBatch: load returned ${typeof predict} for ${o.model} v${version.version}; return the predictor (input) => output`,
        );
      }
      let index = 0;
      let offset = 0;
      let batch: I[] = [];
      const flush = async (): Promise<ScoredBatch<I, O>> => {
        const outputs = await scoreRows(batch, predict, concurrency, monitor);
        const scored = { version: version.version, index, offset, rows: batch, outputs };
        index++;
        offset += batch.length;
        batch = [];
        return scored;
      };
      for await (const row of rows) {
        batch.push(row);
        if (batch.length === batchSize) {
          signal?.throwIfAborted();
          yield await flush();
        }
      }
      if (batch.length > 0) {
        signal?.throwIfAborted();
        yield await flush();
      }
    },
  };
}

const optionsSchema = z.object({
  model: modelNameSchema,
  alias: readableAliasSchema.optional(),
  batchSize: z.number().int().min(1).max(10_000_000).optional(),
  concurrency: z.number().int().min(1).max(10_000).optional(),
});

function pick<I, O>(options: ScoreBatchOptions<I, O>): Record<string, unknown> {
  const { keel: _k, load: _l, rows: _r, monitor: _m, signal: _s, ...rest } = options;
  return rest;
}

async function scoreRows<I, O>(
  rows: I[],
  predict: Predictor<I, O>,
  concurrency: number,
  monitor: PredictionRecorder | undefined,
): Promise<O[]> {
  const outputs = new Array<O>(rows.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const i = next++;
      const row = rows[i] as I;
      const start = performance.now();
      const output = await predict(row);
      monitor?.record(row, output, performance.now() - start);
      outputs[i] = output;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  return outputs;
}

function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

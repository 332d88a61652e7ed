/**
 * @module
 * HDDM_W (Frías-Blanco et al. 2015, W-test), a port of River's `drift.binary.HDDM_W`:
 * McDiarmid bounds on exponentially weighted moving averages.
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { unitValue } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link HddmW} (River's parameters, camel-cased). */
export interface HddmWOptions {
  /** Confidence level of the drift test. Default 0.001. */
  driftConfidence?: number;
  /** Confidence level of the warning test. Default 0.005. */
  warningConfidence?: number;
  /** Weight of the newest value in the moving averages (River's `lambda_val`). Default 0.05. */
  lambda?: number;
  /** Also detect a decrease of the mean. Default false. */
  twoSidedTest?: boolean;
}

const optionsSchema = z.object({
  driftConfidence: z.number().gt(0).lt(1).default(0.001),
  warningConfidence: z.number().gt(0).lt(1).default(0.005),
  lambda: z.number().gt(0).lt(1).default(0.05),
  twoSidedTest: z.boolean().default(false),
});

/**
 * Drift detection with McDiarmid bounds on weighted moving averages (HDDM_W), for values in
 * [0, 1]; reacts faster than HDDM_A to abrupt changes.
 *
 * @example
 * ```ts
 * const hddm = new HddmW({ lambda: 0.05 });
 * if (hddm.update(isError ? 1 : 0).drift) retrain();
 * ```
 */
export class HddmW implements StreamingDetector {
  /** Always `hddm_w`. */
  readonly name: string = 'hddm_w';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Required<HddmWOptions>>;
  #drift = false;
  #warning = false;
  #total: WeightedStats;
  #sample1Decr: WeightedStats;
  #sample1Incr: WeightedStats;
  #sample2Decr: WeightedStats;
  #sample2Incr: WeightedStats;
  #incrCutoff = Number.POSITIVE_INFINITY;
  #decrCutoff = Number.NEGATIVE_INFINITY;

  /** @throws {ValidationError} on invalid options. */
  constructor(options: HddmWOptions = {}) {
    this.options = parseWith(optionsSchema, options, 'HddmW options');
    const lambda = this.options.lambda;
    this.#total = new WeightedStats(lambda);
    this.#sample1Decr = new WeightedStats(lambda);
    this.#sample1Incr = new WeightedStats(lambda);
    this.#sample2Decr = new WeightedStats(lambda);
    this.#sample2Incr = new WeightedStats(lambda);
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** Whether the last update was in the warning zone. */
  get warningDetected(): boolean {
    return this.#warning;
  }

  /**
   * Feeds one value in [0, 1].
   *
   * @throws {ValidationError} when `x` is outside [0, 1] (the state is unchanged).
   */
  update(x: number | boolean): StreamingUpdate {
    const value = unitValue(x, 'HddmW');
    if (this.#drift) this.reset();
    const { driftConfidence, warningConfidence, lambda } = this.options;
    this.#total.update(value);
    let bound = mcDiarmid(this.#total.boundFactor, driftConfidence);
    if (this.#total.mean + bound < this.#incrCutoff) {
      this.#incrCutoff = this.#total.mean + bound;
      this.#sample1Incr = this.#total.clone();
      this.#sample2Incr = new WeightedStats(lambda);
    } else {
      this.#sample2Incr.update(value);
    }
    if (meanChanged(this.#sample1Incr, this.#sample2Incr, driftConfidence)) {
      this.#warning = false;
      this.#drift = true;
    } else if (meanChanged(this.#sample1Incr, this.#sample2Incr, warningConfidence)) {
      this.#warning = true;
      this.#drift = false;
    } else {
      this.#warning = false;
      this.#drift = false;
    }
    bound = mcDiarmid(this.#total.boundFactor, driftConfidence);
    if (this.#total.mean - bound > this.#decrCutoff) {
      this.#decrCutoff = this.#total.mean - bound;
      this.#sample1Decr = this.#total.clone();
      this.#sample2Decr = new WeightedStats(lambda);
    } else {
      this.#sample2Decr.update(value);
    }
    if (this.options.twoSidedTest) {
      if (meanChanged(this.#sample2Decr, this.#sample1Decr, driftConfidence)) this.#drift = true;
      else if (meanChanged(this.#sample2Decr, this.#sample1Decr, warningConfidence)) {
        this.#warning = true;
      }
    }
    return { drift: this.#drift, warning: this.#warning };
  }

  /**
   * Forgets everything seen so far.
   *
   * Never throws.
   */
  reset(): void {
    const lambda = this.options.lambda;
    this.#drift = false;
    this.#warning = false;
    this.#total = new WeightedStats(lambda);
    this.#sample1Decr = new WeightedStats(lambda);
    this.#sample1Incr = new WeightedStats(lambda);
    this.#sample2Decr = new WeightedStats(lambda);
    this.#sample2Incr = new WeightedStats(lambda);
    this.#incrCutoff = Number.POSITIVE_INFINITY;
    this.#decrCutoff = Number.NEGATIVE_INFINITY;
  }
}

/** An exponentially weighted mean and the factor of its McDiarmid bound (River's SampleInfo). */
class WeightedStats {
  mean = 0;
  started = false;
  boundFactor = 1;
  readonly #lambda: number;

  constructor(lambda: number) {
    this.#lambda = lambda;
  }

  update(x: number): void {
    const lambda = this.#lambda;
    this.mean = this.started ? lambda * x + (1 - lambda) * this.mean : x;
    this.started = true;
    this.boundFactor = lambda * lambda + (1 - lambda) * (1 - lambda) * this.boundFactor;
  }

  clone(): WeightedStats {
    const copy = new WeightedStats(this.#lambda);
    copy.mean = this.mean;
    copy.started = this.started;
    copy.boundFactor = this.boundFactor;
    return copy;
  }
}

function mcDiarmid(boundFactor: number, confidence: number): number {
  return Math.sqrt((boundFactor * Math.log(1 / confidence)) / 2);
}

function meanChanged(before: WeightedStats, after: WeightedStats, confidence: number): boolean {
  if (!(before.started && after.started)) return false;
  return after.mean - before.mean > mcDiarmid(before.boundFactor + after.boundFactor, confidence);
}

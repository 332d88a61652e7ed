/**
 * @module
 * HDDM_A (Frías-Blanco et al. 2015, A-test), a port of River's `drift.binary.HDDM_A`:
 * Hoeffding bounds on moving averages detect a rise (and optionally a fall) of the mean.
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { RunningMean, unitValue } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link HddmA} (River's parameters, camel-cased). */
export interface HddmAOptions {
  /** Confidence level of the drift test. Default 0.001. */
  driftConfidence?: number;
  /** Confidence level of the warning test. Default 0.005. */
  warningConfidence?: number;
  /** Also detect a decrease of the mean. Default false. */
  twoSidedTest?: boolean;
}

const optionsSchema = z.object({
  driftConfidence: z.number().gt(0).lt(1).default(0.001),
  warningConfidence: z.number().gt(0).lt(1).default(0.005),
  twoSidedTest: z.boolean().default(false),
});

/**
 * Drift detection with Hoeffding bounds on the average (HDDM_A), for values in [0, 1] such as
 * error indicators.
 *
 * @example
 * ```ts
 * const hddm = new HddmA();
 * if (hddm.update(isError ? 1 : 0).drift) retrain();
 * ```
 */
export class HddmA implements StreamingDetector {
  /** Always `hddm_a`. */
  readonly name: string = 'hddm_a';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Required<HddmAOptions>>;
  #drift = false;
  #warning = false;
  #xMin = new RunningMean();
  #xMax = new RunningMean();
  #z = new RunningMean();

  /** @throws {ValidationError} on invalid options. */
  constructor(options: HddmAOptions = {}) {
    this.options = parseWith(optionsSchema, options, 'HddmA options');
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
    const value = unitValue(x, 'HddmA');
    if (this.#drift) this.reset();
    const { driftConfidence, warningConfidence } = this.options;
    this.#z.update(value);
    if (this.#xMin.n === 0) this.#xMin = this.#z.clone();
    if (this.#xMax.n === 0) this.#xMax = this.#z.clone();
    const boundZ = this.#hoeffding(this.#z.n);
    if (this.#xMin.mean + this.#hoeffding(this.#xMin.n) >= this.#z.mean + boundZ) {
      this.#xMin = this.#z.clone();
    }
    if (this.#xMax.mean - this.#hoeffding(this.#xMax.n) <= this.#z.mean - boundZ) {
      this.#xMax = this.#z.clone();
    }
    if (meanIncreased(this.#xMin, this.#z, driftConfidence)) {
      this.#warning = false;
      this.#drift = true;
    } else if (meanIncreased(this.#xMin, this.#z, warningConfidence)) {
      this.#warning = true;
      this.#drift = false;
    } else {
      this.#warning = false;
      this.#drift = false;
    }
    if (this.options.twoSidedTest) {
      if (meanDecreased(this.#xMax, this.#z, driftConfidence)) this.#drift = true;
      else if (meanDecreased(this.#xMax, this.#z, warningConfidence)) this.#warning = true;
    }
    return { drift: this.#drift, warning: this.#warning };
  }

  /**
   * Forgets everything seen so far.
   *
   * Never throws.
   */
  reset(): void {
    this.#drift = false;
    this.#warning = false;
    this.#xMin = new RunningMean();
    this.#xMax = new RunningMean();
    this.#z = new RunningMean();
  }

  #hoeffding(n: number): number {
    return Math.sqrt((1 / (2 * n)) * Math.log(1 / this.options.driftConfidence));
  }
}

function meanIncreased(cut: RunningMean, all: RunningMean, confidence: number): boolean {
  if (cut.n === all.n) return false;
  const m = ((all.n - cut.n) / cut.n) * (1 / all.n);
  return all.mean - cut.mean >= Math.sqrt((m / 2) * Math.log(2 / confidence));
}

function meanDecreased(cut: RunningMean, all: RunningMean, confidence: number): boolean {
  if (cut.n === all.n) return false;
  const m = ((all.n - cut.n) / cut.n) * (1 / all.n);
  return cut.mean - all.mean >= Math.sqrt((m / 2) * Math.log(2 / confidence));
}

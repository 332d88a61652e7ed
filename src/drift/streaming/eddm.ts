/**
 * @module
 * EDDM (Early Drift Detection Method, Baena-García et al. 2006), a port of River's
 * `drift.binary.EDDM`: watches the distance between consecutive errors.
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { binaryValue, RunningVariance } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link Eddm} (River's parameters, camel-cased). */
export interface EddmOptions {
  /** Values (and errors) to see before warnings and drifts can be reported. Default 30. */
  warmStart?: number;
  /** Warning when the distance level falls below this ratio of its maximum. Default 0.95. */
  alpha?: number;
  /** Drift when the distance level falls below this ratio of its maximum. Default 0.9. */
  beta?: number;
}

const optionsSchema = z
  .object({
    warmStart: z.number().int().min(0).default(30),
    alpha: z.number().gt(0).lt(1).default(0.95),
    beta: z.number().gt(0).lt(1).default(0.9),
  })
  .refine((o) => o.beta <= o.alpha, { message: 'beta must not exceed alpha' });

/**
 * Early Drift Detection Method on a binary stream of errors (1 = error, 0 = correct); better
 * than DDM at detecting slow, gradual change.
 *
 * @example
 * ```ts
 * const eddm = new Eddm();
 * if (eddm.update(isError).drift) retrain();
 * ```
 */
export class Eddm implements StreamingDetector {
  /** Always `eddm`. */
  readonly name: string = 'eddm';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Required<EddmOptions>>;
  #drift = false;
  #warning = false;
  #distance = new RunningVariance();
  #n = 0;
  #lastError = 0;
  #errors = 0;
  #max = -1;

  /** @throws {ValidationError} on invalid options. */
  constructor(options: EddmOptions = {}) {
    this.options = parseWith(optionsSchema, options, 'Eddm options');
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
   * Feeds one outcome: 1 (or true) for an error, 0 (or false) for a correct prediction.
   *
   * @throws {ValidationError} when `x` is not 0, 1 or a boolean (the state is unchanged).
   */
  update(x: number | boolean): StreamingUpdate {
    const value = binaryValue(x, 'Eddm');
    if (this.#drift) this.reset();
    this.#n += 1;
    if (value === 1) {
      this.#errors += 1;
      this.#distance.update(this.#n - this.#lastError);
      if (this.#n > this.options.warmStart) {
        const level = this.#distance.mean.mean + 2 * Math.sqrt(this.#distance.variance);
        if (level > this.#max) this.#max = level;
        else if (this.#errors > this.options.warmStart) {
          const ratio = level / this.#max;
          if (ratio < this.options.beta) this.#drift = true;
          else if (ratio < this.options.alpha) this.#warning = true;
          else this.#warning = false;
        }
      }
      this.#lastError = this.#n;
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
    this.#distance = new RunningVariance();
    this.#n = 0;
    this.#lastError = 0;
    this.#errors = 0;
    this.#max = -1;
  }
}

/**
 * @module
 * DDM (Drift Detection Method, Gama et al. 2004), a port of River's `drift.binary.DDM`:
 * watches the error rate of a classifier and its standard deviation.
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { binaryValue, RunningMean } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link Ddm} (River's parameters, camel-cased). */
export interface DdmOptions {
  /** Values to see before warnings and drifts can be reported. Default 30. */
  warmStart?: number;
  /** Standard deviations above the minimum that raise a warning. Default 2. */
  warningThreshold?: number;
  /** Standard deviations above the minimum that signal a drift. Default 3. */
  driftThreshold?: number;
}

const optionsSchema = z
  .object({
    warmStart: z.number().int().min(0).default(30),
    warningThreshold: z.number().positive().finite().default(2),
    driftThreshold: z.number().positive().finite().default(3),
  })
  .refine((o) => o.warningThreshold <= o.driftThreshold, {
    message: 'warningThreshold must not exceed driftThreshold',
  });

/**
 * Drift Detection Method on a binary stream of errors (1 = error, 0 = correct).
 *
 * @example
 * ```ts
 * const ddm = new Ddm();
 * const { drift, warning } = ddm.update(prediction === label ? 0 : 1);
 * ```
 */
export class Ddm implements StreamingDetector {
  /** Always `ddm`. */
  readonly name: string = 'ddm';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Required<DdmOptions>>;
  #drift = false;
  #warning = false;
  #p = new RunningMean();
  #pMin = Number.POSITIVE_INFINITY;
  #sMin = Number.POSITIVE_INFINITY;
  #psMin = Number.POSITIVE_INFINITY;

  /** @throws {ValidationError} on invalid options. */
  constructor(options: DdmOptions = {}) {
    this.options = parseWith(optionsSchema, options, 'Ddm options');
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
    const value = binaryValue(x, 'Ddm');
    if (this.#drift) this.reset();
    this.#p.update(value);
    const p = this.#p.mean;
    const n = this.#p.n;
    const s = Math.sqrt((p * (1 - p)) / n);
    if (n > this.options.warmStart) {
      if (p + s <= this.#psMin) {
        this.#pMin = p;
        this.#sMin = s;
        this.#psMin = p + s;
      }
      this.#warning = p + s > this.#pMin + this.options.warningThreshold * this.#sMin;
      if (p + s > this.#pMin + this.options.driftThreshold * this.#sMin) {
        this.#drift = true;
        this.#warning = false;
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
    this.#drift = false;
    this.#warning = false;
    this.#p = new RunningMean();
    this.#pMin = Number.POSITIVE_INFINITY;
    this.#sMin = Number.POSITIVE_INFINITY;
    this.#psMin = Number.POSITIVE_INFINITY;
  }
}

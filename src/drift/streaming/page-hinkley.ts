/**
 * @module
 * Page-Hinkley change detection, a port of River's `drift.PageHinkley` (the version with
 * `mode`): cumulative deviations from the running mean, compared with a threshold.
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { RunningMean, streamValue } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link PageHinkley} (River's parameters, camel-cased). */
export interface PageHinkleyOptions {
  /** Values to see before a drift can be reported. Default 30. */
  minInstances?: number;
  /** Tolerated deviation (magnitude of changes ignored). Default 0.005. */
  delta?: number;
  /** Detection threshold (River's lambda). Default 50. */
  threshold?: number;
  /** Forgetting factor of the cumulative sums. Default 1 - 0.0001. */
  alpha?: number;
  /** Which changes to detect: increases (`up`), decreases (`down`) or `both` (default). */
  mode?: 'up' | 'down' | 'both';
}

const optionsSchema = z.object({
  minInstances: z.number().int().min(1).default(30),
  delta: z.number().min(0).finite().default(0.005),
  threshold: z.number().positive().finite().default(50),
  alpha: z
    .number()
    .gt(0)
    .max(1)
    .default(1 - 0.0001),
  mode: z.enum(['up', 'down', 'both']).default('both'),
});

/**
 * Page-Hinkley test for a change in the mean of a numeric stream.
 *
 * @example
 * ```ts
 * const ph = new PageHinkley();
 * for (const [i, x] of stream.entries()) if (ph.update(x).drift) console.log('change at', i);
 * ```
 */
export class PageHinkley implements StreamingDetector {
  /** Always `page_hinkley`. */
  readonly name: string = 'page_hinkley';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Required<PageHinkleyOptions>>;
  #drift = false;
  #mean = new RunningMean();
  #sumIncrease = 0;
  #sumDecrease = 0;
  #minIncrease = Number.POSITIVE_INFINITY;
  #maxDecrease = -1;

  /** @throws {ValidationError} on invalid options. */
  constructor(options: PageHinkleyOptions = {}) {
    this.options = parseWith(optionsSchema, options, 'PageHinkley options');
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** Page-Hinkley has no warning zone: always false. */
  get warningDetected(): boolean {
    return false;
  }

  /**
   * Feeds one value.
   *
   * @throws {ValidationError} when `x` is neither a finite number nor a boolean (the state is
   *   unchanged).
   */
  update(x: number | boolean): StreamingUpdate {
    const value = streamValue(x, 'PageHinkley');
    if (this.#drift) this.reset();
    const { alpha, delta, threshold, minInstances, mode } = this.options;
    this.#mean.update(value);
    const deviation = value - this.#mean.mean;
    this.#sumIncrease = alpha * this.#sumIncrease + deviation - delta;
    this.#sumDecrease = alpha * this.#sumDecrease + deviation + delta;
    if (this.#sumIncrease < this.#minIncrease) this.#minIncrease = this.#sumIncrease;
    if (this.#sumDecrease > this.#maxDecrease) this.#maxDecrease = this.#sumDecrease;
    if (this.#mean.n >= minInstances) {
      const up = this.#sumIncrease - this.#minIncrease > threshold;
      const down = this.#maxDecrease - this.#sumDecrease > threshold;
      this.#drift = mode === 'up' ? up : mode === 'down' ? down : up || down;
    }
    return { drift: this.#drift, warning: false };
  }

  /**
   * Forgets everything seen so far.
   *
   * Never throws.
   */
  reset(): void {
    this.#drift = false;
    this.#mean = new RunningMean();
    this.#sumIncrease = 0;
    this.#sumDecrease = 0;
    this.#minIncrease = Number.POSITIVE_INFINITY;
    this.#maxDecrease = -1;
  }
}

/**
 * @module
 * Running statistics of the streaming detectors, written with River's exact update formulas
 * (`river.stats.Mean`, `river.stats.Var`) so that detections land on the same indices.
 */
import { ValidationError } from '../../core/errors.js';

/** Running mean, updated as River's `stats.Mean` (weighted incremental form). */
export class RunningMean {
  /** Number of values seen (sum of weights). */
  n = 0;
  /** The current mean. */
  mean = 0;

  /** Adds `x` with weight `w`. */
  update(x: number, w = 1): void {
    this.n += w;
    this.mean += (w / this.n) * (x - this.mean);
  }

  /** A copy with the same state (River deep-copies its means in HDDM_A). */
  clone(): RunningMean {
    const copy = new RunningMean();
    copy.n = this.n;
    copy.mean = this.mean;
    return copy;
  }
}

/** Running variance with `ddof = 1`, updated as River's `stats.Var`. */
export class RunningVariance {
  /** The mean of the values seen. */
  readonly mean: RunningMean = new RunningMean();
  /** The current variance (0 until two values were seen). */
  variance = 0;

  /** Adds `x` with weight `w`. */
  update(x: number, w = 1): void {
    const before = this.mean.mean;
    this.mean.update(x, w);
    if (this.mean.n > 1) {
      this.variance +=
        (w * ((x - before) * (x - this.mean.mean) - this.variance)) / (this.mean.n - 1);
    }
  }
}

/**
 * Reads a numeric stream value: a finite number, or a boolean as 1/0.
 *
 * @throws {ValidationError} when the value is not finite.
 */
export function streamValue(x: unknown, detector: string): number {
  if (typeof x === 'boolean') return x ? 1 : 0;
  if (typeof x === 'number' && Number.isFinite(x)) return x;
  throw new ValidationError(
    `[keel] invalid ${detector} update: expected a finite number, got ${describe(x)}; ` +
      'filter missing and infinite values before updating the detector',
  );
}

/**
 * Reads a binary stream value (1 = error, 0 = correct), as River's binary detectors expect.
 *
 * @throws {ValidationError} when the value is not 0, 1 or a boolean.
 */
export function binaryValue(x: unknown, detector: string): 0 | 1 {
  if (x === true || x === 1) return 1;
  if (x === false || x === 0) return 0;
  throw new ValidationError(
    `[keel] invalid ${detector} update: expected 0/1 or a boolean, got ${describe(x)}; ` +
      'feed 1 for an error and 0 for a correct prediction',
  );
}

/**
 * Reads a value in [0, 1] (HDDM's bounded input).
 *
 * @throws {ValidationError} when the value is outside [0, 1].
 */
export function unitValue(x: unknown, detector: string): number {
  const v = typeof x === 'boolean' ? (x ? 1 : 0) : x;
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  throw new ValidationError(
    `[keel] invalid ${detector} update: expected a number in [0, 1], got ${describe(x)}; ` +
      'HDDM bounds rely on inputs in [0, 1], rescale the values first',
  );
}

function describe(x: unknown): string {
  return typeof x === 'number' ? String(x) : typeof x;
}

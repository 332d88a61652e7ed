/**
 * @module
 * A clock that moves only when told to: deterministic timestamps in tests.
 */
import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';

/**
 * A {@link Clock} whose time changes only through `set` and `advance`.
 *
 * @example
 * ```ts
 * const clock = new ManualClock('2026-01-01T00:00:00Z');
 * clock.advance(1000);
 * ```
 */
export class ManualClock implements Clock {
  private time: number;

  /**
   * Starts at `start` (ms since the epoch or an ISO date); default 2026-01-01T00:00:00Z.
   *
   * @throws {ValidationError} when `start` is not a finite number or a date `Date.parse` reads.
   */
  constructor(start: number | string = '2026-01-01T00:00:00.000Z') {
    this.time = toTime(start, 'new ManualClock(start)');
  }

  /**
   * The current time in milliseconds since the epoch.
   *
   * Never throws.
   */
  now(): number {
    return this.time;
  }

  /**
   * Moves the clock forward by `ms` milliseconds.
   *
   * @throws {ValidationError} when `ms` is not a finite number (the clock would stop telling time).
   */
  advance(ms: number): number {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new ValidationError(
        `[keel] clock.advance(ms) needs a finite number of milliseconds, got ${String(ms)}`,
      );
    }
    this.time += ms;
    return this.time;
  }

  /**
   * Sets the time (ms since the epoch or an ISO date).
   *
   * @throws {ValidationError} when `time` is not a finite number or a date `Date.parse` reads.
   */
  set(time: number | string): void {
    this.time = toTime(time, 'clock.set(time)');
  }
}

/** Milliseconds since the epoch from a number or a date string, refusing what is not a time. */
function toTime(value: unknown, call: string): number {
  const time =
    typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new ValidationError(
      `[keel] ${call} needs milliseconds since the epoch or an ISO date such as ` +
        `'2026-01-01T00:00:00Z', got ${JSON.stringify(String(value)).slice(0, 80)}`,
    );
  }
  return time;
}

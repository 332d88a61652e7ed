/**
 * @module
 * A clock that moves only when told to: deterministic timestamps in tests.
 */
import type { Clock } from '../core/clock.js';

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
   * Never throws: check the date you pass (an unparseable one gives `NaN`).
   */
  constructor(start: number | string = '2026-01-01T00:00:00.000Z') {
    this.time = typeof start === 'number' ? start : Date.parse(start);
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
   * Never throws.
   */
  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }

  /**
   * Sets the time (ms since the epoch or an ISO date).
   *
   * Never throws (an unparseable date gives `NaN`).
   */
  set(time: number | string): void {
    this.time = typeof time === 'number' ? time : Date.parse(time);
  }
}

/**
 * @module
 * Injectable time: every timestamp keel writes comes from a `Clock`, so tests can fix it.
 */

/** A source of the current time in milliseconds since the Unix epoch. */
export interface Clock {
  /** The current time in milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock (`Date.now()`). */
export const systemClock: Clock = { now: () => Date.now() };

/** The clock's time as an ISO-8601 string. */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}

// ManualClock: moves only when told, and refuses what is not a time instead of turning into NaN.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

describe('ManualClock', () => {
  it('starts at the given time and moves only through advance and set', () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    expect(clock.now()).toBe(Date.UTC(2026, 0, 1));
    expect(clock.advance(1500)).toBe(Date.UTC(2026, 0, 1) + 1500);
    clock.set(42);
    expect(clock.now()).toBe(42);
  });

  it.each([['not a date'], [Number.NaN], [Number.POSITIVE_INFINITY], [{} as unknown as string]])(
    'refuses %s as a start or a new time, and keeps its time',
    (bad) => {
      expect(() => new ManualClock(bad)).toThrow(ValidationError);
      const clock = new ManualClock(1000);
      expect(() => clock.set(bad)).toThrow(/ISO date/);
      expect(clock.now()).toBe(1000);
    },
  );

  it('refuses a step that is not a finite number', () => {
    const clock = new ManualClock(0);
    expect(() => clock.advance(Number.NaN)).toThrow(ValidationError);
    expect(() => clock.advance('5' as unknown as number)).toThrow(/finite number/);
    expect(clock.now()).toBe(0);
  });
});

// Profiles of extreme but finite values: refused with a ValidationError, never stored as null / NaN,
// and a sketch-profile test never reports an overflowed or undefined statistic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError, ValidationError } from '../../src/core/errors.js';
import { detectDrift } from '../../src/drift/dataset.js';
import { mergeProfiles, parseProfile, profile } from '../../src/drift/profile.js';
import { QuantileSketch } from '../../src/drift/sketch.js';

const MAX = Number.MAX_VALUE;

describe('profiles of extreme values', () => {
  it('refuses a column whose moments overflow, naming the column and the fix', () => {
    const big = Array.from({ length: 50 }, (_, i) => (i % 2 ? 1e200 : -1e200) * (1 + i / 100));
    expect(() => profile({ ok: big.map(() => 1), wide: big })).toThrow(ValidationError);
    expect(() => profile({ wide: big })).toThrow(/column "wide".*rescale the column/);
    expect(() => profile({ huge: [MAX, -MAX, 0] })).toThrow(/rescale/);
  });

  it('refuses a merge whose moments overflow', () => {
    const a = profile({ x: [1e153, 1e153, 1e153] });
    const b = profile({ x: [-1e153, -1e153] });
    expect(() => mergeProfiles(a, b)).toThrow(/merged profile.*rescale/);
  });

  it('every profile it returns parses again (property)', () => {
    const value = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(MAX, -MAX, 1e154, -1e154, 5e-324),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 40 }), (values) => {
        let stored: unknown;
        try {
          stored = JSON.parse(JSON.stringify(profile({ x: values }, { exactUpTo: 10 })));
        } catch (error) {
          expect(isKeelError(error)).toBe(true);
          return;
        }
        expect(() => parseProfile(stored)).not.toThrow();
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it('a sketch-profile test refuses an overflowed statistic instead of reporting it', () => {
    // A stored profile from elsewhere: finite moments, values spanning the whole double range.
    const values = Array.from({ length: 2000 }, (_, i) => (i % 2 ? MAX : -MAX));
    const sketch = new QuantileSketch({ k: 200 }).updateMany(Float64Array.from(values).sort());
    const ramp = Array.from({ length: 2000 }, (_, i) => i);
    const stored = profile({ x: ramp, ok: ramp }, { exactUpTo: 10 });
    const column = stored.columns.x as Extract<
      (typeof stored.columns)[string],
      { type: 'numerical' }
    >;
    Object.assign(column, {
      min: -MAX,
      max: MAX,
      mean: 0,
      m2: 1e300,
      m3: 0,
      sketch: sketch.toJSON(),
    });
    const current = { x: [-MAX, -MAX, -MAX, MAX], ok: [1, 2, 3, 4] };
    const report = detectDrift(parseProfile(stored), current, { method: 'wasserstein' });
    expect(report.tested).toBe(1);
    expect(report.columns.x).toBeUndefined();
    expect(report.skipped.x?.message).toMatch(/wasserstein.*overflows the largest double/);
  });
});

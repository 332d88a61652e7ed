import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { createRandom } from '../../src/core/random.js';

describe('createRandom', () => {
  it('gives the same stream for the same seed', () => {
    const a = createRandom('seed');
    const b = createRandom('seed');
    for (let i = 0; i < 100; i++) expect(a.nextUint32()).toBe(b.nextUint32());
  });

  it('matches an independent sfc32 (Python, state from SHA-256 of the seed JSON, 12 outputs skipped)', () => {
    const keel = createRandom('keel');
    expect(Array.from({ length: 5 }, () => keel.nextUint32())).toEqual([
      4115699255, 3364236679, 3011057251, 3112816127, 1364746289,
    ]);
    const n = createRandom(42);
    expect(Array.from({ length: 3 }, () => n.nextUint32())).toEqual([
      2618143328, 4068501344, 2263741393,
    ]);
  });

  it('keeps the unsigned arithmetic bit for bit over a million draws', () => {
    // Checksum of the draws of the unsigned implementation (the state is kept signed for speed).
    const long = createRandom('long');
    let sum = 0;
    for (let i = 0; i < 1_000_000; i++) sum = (sum + long.nextUint32()) % 4294967296;
    expect(sum).toBe(2324510639);
  });

  it('gives unrelated streams for different seeds, and 1 differs from "1"', () => {
    const draw = (seed: string | number): number[] => {
      const rng = createRandom(seed);
      return Array.from({ length: 8 }, () => rng.nextUint32());
    };
    expect(draw('a')).not.toEqual(draw('b'));
    expect(draw(1)).not.toEqual(draw('1'));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('next() stays in [0, 1) and is roughly uniform', () => {
    const rng = createRandom(42);
    const bins = new Array<number>(10).fill(0);
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.next();
      if (!(x >= 0 && x < 1)) outside++;
      bins[Math.floor(x * 10)]!++;
    }
    expect(outside).toBe(0);
    // Chi-square with 9 dof: 27.9 is its 0.999 quantile.
    const chi2 = bins.reduce((sum, count) => sum + (count - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('int(n) covers [0, n) uniformly, including a bound that does not divide 2^32', () => {
    const rng = createRandom('int');
    const n = 7;
    const counts = new Array<number>(n).fill(0);
    const draws = 70_000;
    let outside = 0;
    for (let i = 0; i < draws; i++) {
      const k = rng.int(n);
      if (!(Number.isInteger(k) && k >= 0 && k < n)) outside++;
      counts[k]!++;
    }
    expect(outside).toBe(0);
    // Chi-square with 6 dof: 22.5 is its 0.999 quantile.
    const chi2 = counts.reduce((sum, c) => sum + (c - draws / n) ** 2 / (draws / n), 0);
    expect(chi2).toBeLessThan(22.5);
    expect(createRandom('x').int(1)).toBe(0);
    expect(createRandom('x').int(2 ** 32)).toBeLessThan(2 ** 32);
  });

  it('refuses bad seeds and bounds with ValidationError', () => {
    expect(() => createRandom(Number.NaN)).toThrowError(/seed/);
    expect(() => createRandom({} as unknown as string)).toThrowError(/seed/);
    const rng = createRandom(0);
    for (const bad of [0, -1, 1.5, 2 ** 32 + 1]) {
      try {
        rng.int(bad);
        expect.unreachable();
      } catch (error) {
        expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
      }
    }
  });
});

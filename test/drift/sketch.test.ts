import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { searchRight as upperBound } from '../../src/drift/binning.js';
import { QuantileSketch } from '../../src/drift/sketch.js';
import { normals } from '../helpers/data.js';

/** The largest absolute rank error of the sketch over every distinct value of the data. */
function maxRankError(sketch: QuantileSketch, data: ArrayLike<number>): number {
  const sorted = Float64Array.from(data).sort();
  const { values, cumulative } = sketch.weightedItems();
  let worst = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i + 1 < sorted.length && sorted[i + 1] === sorted[i]) continue;
    const x = sorted[i]!;
    const j = upperBound(values, x);
    const estimate = j === 0 ? 0 : cumulative[j - 1]!;
    worst = Math.max(worst, Math.abs(estimate - (i + 1)));
  }
  return worst;
}

describe('QuantileSketch', () => {
  it('is exact while it holds fewer than k values', () => {
    const s = new QuantileSketch({ k: 64 }).updateMany([5, 1, 3, 3, 2]);
    expect(s.rankErrorBound).toBe(0);
    expect(s.rank(3)).toBe(4);
    expect(s.rank(0)).toBe(0);
    expect(s.quantile(0.5)).toBe(3);
    expect(s.quantile(0)).toBe(1);
    expect(s.quantile(1)).toBe(5);
  });

  it('stays within its guaranteed bound and near 1.5/k in practice (1M normals, default k)', () => {
    const data = normals('sketch-1m', 1_000_000);
    const s = new QuantileSketch().updateMany(data);
    expect(s.n).toBe(1_000_000);
    const err = maxRankError(s, data);
    expect(err).toBeLessThanOrEqual(s.rankErrorBound);
    expect(s.k).toBe(1024);
    expect(s.normalizedRankError()).toBeLessThan(0.012);
    expect(err / s.n).toBeLessThan(2.5 / s.k);
    const sorted = Float64Array.from(data).sort();
    expect(s.min).toBe(sorted[0]); // the extremes are exact
    expect(s.max).toBe(sorted[sorted.length - 1]);
    expect(Math.abs(s.quantile(0.5))).toBeLessThan(0.01);
  });

  it('never exceeds its bound, for any input order and any split into merged parts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        (values, parts, sortInput) => {
          const data = sortInput ? [...values].sort((a, b) => a - b) : values;
          const size = Math.ceil(data.length / parts);
          let merged = new QuantileSketch({ k: 16 });
          for (let p = 0; p < parts; p++) {
            merged = merged.merge(
              new QuantileSketch({ k: 16 }).updateMany(data.slice(p * size, (p + 1) * size)),
            );
          }
          expect(merged.n).toBe(data.length);
          expect(maxRankError(merged, data)).toBeLessThanOrEqual(merged.rankErrorBound);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('merging two halves is within the bound of the whole', () => {
    const data = normals('sketch-merge', 200_000);
    const a = new QuantileSketch().updateMany(data.subarray(0, 100_000));
    const b = new QuantileSketch().updateMany(data.subarray(100_000));
    const merged = a.clone().merge(b);
    const whole = new QuantileSketch().updateMany(data);
    expect(merged.n).toBe(whole.n);
    expect(merged.min).toBe(whole.min);
    expect(merged.max).toBe(whole.max);
    expect(maxRankError(merged, data)).toBeLessThanOrEqual(merged.rankErrorBound);
    for (const q of [0.01, 0.1, 0.5, 0.9, 0.99]) {
      const x = whole.quantile(q);
      expect(Math.abs(merged.rank(x) - whole.rank(x))).toBeLessThanOrEqual(
        merged.rankErrorBound + whole.rankErrorBound,
      );
    }
  });

  it('round-trips through JSON unchanged and keeps behaving the same', () => {
    const data = normals('sketch-json', 50_000);
    const s = new QuantileSketch({ k: 128 }).updateMany(data);
    const text = JSON.stringify(s);
    const back = QuantileSketch.fromJSON(JSON.parse(text));
    expect(JSON.stringify(back)).toBe(text);
    back.updateMany(data);
    s.updateMany(data);
    expect(JSON.stringify(back)).toBe(JSON.stringify(s));
    const empty = QuantileSketch.fromJSON(JSON.parse(JSON.stringify(new QuantileSketch())));
    expect(empty.n).toBe(0);
    expect(empty.min).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses bad values, bad options, bad JSON and mismatched merges', () => {
    const failures = [
      () => new QuantileSketch().update(Number.NaN),
      () => new QuantileSketch({ k: 7 }),
      () => new QuantileSketch().quantile(0.5),
      () => new QuantileSketch({ k: 16 }).merge(new QuantileSketch({ k: 32 })),
      () => QuantileSketch.fromJSON({ format: 'keel.quantile-sketch', version: 1 }),
      () =>
        QuantileSketch.fromJSON({
          ...new QuantileSketch().updateMany([1, 2]).toJSON(),
          n: 3,
        }),
    ];
    for (const f of failures) {
      let error: unknown;
      try {
        f();
      } catch (e) {
        error = e;
      }
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    }
  });
});

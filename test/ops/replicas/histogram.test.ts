import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../../src/core/errors.js';
import { percentileSorted } from '../../../src/gates/stats.js';
import {
  binOf,
  HISTOGRAM_BINS,
  LatencyHistogram,
  middleOf,
} from '../../../src/ops/replicas/histogram.js';

const latency = fc.double({ min: 0.001, max: 1_000_000, noNaN: true });

function histogramOf(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h;
}

describe('latency histogram', () => {
  it('reads a latency back within 2.2 % (its bin middle)', () => {
    fc.assert(
      fc.property(latency, (ms) => {
        const back = middleOf(binOf(ms));
        expect(Math.abs(back - ms) / ms).toBeLessThanOrEqual(2 ** (1 / 32) - 1 + 1e-12);
      }),
    );
  });

  it('merging equals recording everything in one histogram, and survives JSON', () => {
    fc.assert(
      fc.property(fc.array(latency), fc.array(latency), (a, b) => {
        const merged = histogramOf(a);
        merged.merge(LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(histogramOf(b)))));
        expect(merged.toJSON()).toEqual(histogramOf([...a, ...b]).toJSON());
        expect(merged.total).toBe(a.length + b.length);
      }),
    );
  });

  it('puts zero, negatives, NaN below the lowest bin and huge values in the overflow bin', () => {
    expect([0, -1, Number.NaN, 1e-9].map(binOf)).toEqual([0, 0, 0, 0]);
    expect(binOf(Number.POSITIVE_INFINITY)).toBe(HISTOGRAM_BINS - 1);
    expect(binOf(1e12)).toBe(HISTOGRAM_BINS - 1);
  });

  it('gives samples whose percentiles match the recorded ones, scaled down to the limit', () => {
    fc.assert(
      fc.property(
        fc.array(latency, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 500 }),
        (values, limit) => {
          const samples = histogramOf(values).samples(limit);
          expect(samples.length).toBe(Math.min(values.length, limit));
          for (let i = 1; i < samples.length; i++)
            expect(samples[i]!).toBeGreaterThanOrEqual(samples[i - 1]!);
          if (limit >= values.length) {
            const sorted = Float64Array.from(values).sort();
            const binned = Float64Array.from(sorted, (v) => middleOf(binOf(v)));
            for (const p of [50, 95, 99]) {
              expect(percentileSorted(samples, p)).toBeCloseTo(percentileSorted(binned, p), 9);
            }
          }
        },
      ),
    );
  });

  it('keeps proportions when scaling down (largest remainders)', () => {
    const h = histogramOf([...Array(300).fill(1), ...Array(100).fill(100)]);
    const samples = h.samples(40);
    expect(samples.filter((v) => v < 10)).toHaveLength(30);
    expect(samples.filter((v) => v > 10)).toHaveLength(10);
  });

  it('refuses hostile stored histograms with ValidationError', () => {
    for (const bad of [
      null,
      {},
      '[[1,2]]',
      [[1]],
      [[-1, 2]],
      [[HISTOGRAM_BINS, 1]],
      [[1.5, 1]],
      [[1, 0]],
      [[1, -3]],
      [[1, Number.NaN]],
      [[1, 2 ** 60]],
      [['__proto__', 1]],
    ]) {
      let caught: unknown;
      try {
        LatencyHistogram.fromJSON(bad);
      } catch (error) {
        caught = error;
      }
      expect(isKeelError(caught, 'KEEL_VALIDATION')).toBe(true);
    }
  });
});

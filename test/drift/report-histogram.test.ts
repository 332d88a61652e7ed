import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectDrift } from '../../src/drift/dataset.js';
import { profile } from '../../src/drift/profile.js';
import {
  type CategoricalDriftHistogram,
  driftHistogram,
  HISTOGRAM_MAX_BINS,
  HISTOGRAM_MAX_CATEGORIES,
  HISTOGRAM_MAX_LABEL,
  type NumericDriftHistogram,
} from '../../src/drift/report-histogram.js';
import { categoricalSample, numericSample } from '../../src/drift/sample.js';
import { labels, normals } from '../helpers/data.js';

const sum = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0);

/** numpy.histogram's count for bin i: [e_i, e_i+1), the last bin closed. */
function naiveCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array(edges.length - 1).fill(0);
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    for (let i = 0; i < counts.length; i++) {
      const last = i === counts.length - 1;
      if (v >= edges[i]! && (v < edges[i + 1]! || (last && v <= edges[i + 1]!))) {
        counts[i]++;
        break;
      }
    }
  }
  return counts;
}

describe('drift report histograms', () => {
  it('numerical: shared bins over both samples, counts as numpy.histogram, every value counted', () => {
    const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(
        fc.array(finite, { minLength: 1, maxLength: 300 }),
        fc.array(finite, { minLength: 1, maxLength: 300 }),
        (a, b) => {
          const ref = numericSample(a, 'ref');
          const cur = numericSample(b, 'cur');
          const h = driftHistogram(ref, cur);
          if (h.type === 'categorical') {
            // few distinct values: one bar per value
            expect(sum(h.reference)).toBe(a.length);
            expect(sum(h.current)).toBe(b.length);
            return;
          }
          expect(h.edges.length).toBeLessThanOrEqual(HISTOGRAM_MAX_BINS + 1);
          for (let i = 1; i < h.edges.length; i++)
            expect(h.edges[i]!).toBeGreaterThan(h.edges[i - 1]!);
          expect(h.edges[0]).toBeLessThanOrEqual(Math.min(...a, ...b));
          expect(h.edges.at(-1)).toBeGreaterThanOrEqual(Math.max(...a, ...b));
          expect(h.reference).toEqual(naiveCounts(ref.sorted, h.edges));
          expect(h.current).toEqual(naiveCounts(cur.sorted, h.edges));
          expect(sum(h.reference)).toBe(a.length);
          expect(sum(h.current)).toBe(b.length);
        },
      ),
    );
  });

  it('numerical with few distinct values: one bar pair per value, in value order', () => {
    const h = driftHistogram(numericSample([3, 1, 1, 2], 'r'), numericSample([1, 5, 5], 'c'));
    expect(h).toEqual({
      type: 'categorical',
      labels: ['1', '2', '3', '5'],
      reference: [2, 1, 1, 0],
      current: [1, 0, 0, 2],
    });
  });

  it('one value everywhere: one bin around it (numpy’s rule)', () => {
    const many = Array.from({ length: 40 }, (_, i) => i);
    const h = driftHistogram(
      numericSample([7, 7, ...many.map(() => 7)], 'r'),
      numericSample([7], 'c'),
    );
    expect(h.type).toBe('categorical');
    const wide = driftHistogram(
      numericSample(many, 'r'),
      numericSample([39.5], 'c'),
    ) as NumericDriftHistogram;
    expect(wide.type).toBe('numerical');
    expect(sum(wide.current)).toBe(1);
  });

  it('categorical: the 20 most frequent labels by combined share, the rest in other', () => {
    const values = Array.from({ length: 30 }, (_, i) => `label-${i}`);
    const ref = categoricalSample(labels('r', 3000, values), 'r');
    const cur = categoricalSample(
      [...labels('c', 1000, values), ...new Array(500).fill('new')],
      'c',
    );
    const h = driftHistogram(ref, cur) as CategoricalDriftHistogram;
    expect(h.labels).toHaveLength(HISTOGRAM_MAX_CATEGORIES);
    expect(h.labels[0]).toBe('new'); // a third of the current sample
    expect(sum(h.reference) + h.other!.reference).toBe(3000);
    expect(sum(h.current) + h.other!.current).toBe(1500);
    const shares = h.labels.map((_, i) => h.reference[i]! / 3000 + h.current[i]! / 1500);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeLessThanOrEqual(shares[i - 1]!);
  });

  it('cuts long labels, never inside a surrogate pair', () => {
    const long = `${'a'.repeat(HISTOGRAM_MAX_LABEL - 2)}😀${'b'.repeat(100)}`;
    const h = driftHistogram(
      categoricalSample([long], 'r'),
      categoricalSample([long], 'c'),
    ) as CategoricalDriftHistogram;
    expect(h.labels[0]!.length).toBeLessThanOrEqual(HISTOGRAM_MAX_LABEL);
    expect(h.labels[0]!.endsWith('…')).toBe(true);
    expect(h.labels[0]).not.toMatch(/[\uD800-\uDBFF]…$/);
  });

  it('a sketch profile reference: estimated counts that still add up to its count', () => {
    const big = { x: normals('big', 20_000) };
    const p = profile(big, { exactUpTo: 1000, sketchK: 256 });
    const h = detectDrift(p, { x: normals('later', 500, 0.5) }, { method: 'wasserstein' }).columns
      .x!.histogram as NumericDriftHistogram;
    expect(h.type).toBe('numerical');
    expect(sum(h.reference)).toBe(20_000);
    expect(sum(h.current)).toBe(500);
    const exact = naiveCounts(Float64Array.from(big.x).sort(), h.edges);
    for (let i = 0; i < exact.length; i++)
      expect(Math.abs(h.reference[i]! - exact[i]!)).toBeLessThan(20_000 * 0.02);
  });

  it('a truncated categorical profile: labels outside it are counted in other', () => {
    const values = labels('t', 2000, ['a', 'b', 'c', 'd', 'e']);
    const p = profile({ x: values }, { maxCategories: 2 });
    const h = detectDrift(p, { x: labels('u', 300, ['a', 'e', 'z']) }).columns.x!
      .histogram as CategoricalDriftHistogram;
    expect(h.labels.every((l) => !l.includes('\u0000'))).toBe(true);
    expect(sum(h.reference) + (h.other?.reference ?? 0)).toBe(2000);
    expect(sum(h.current) + (h.other?.current ?? 0)).toBe(300);
  });

  it('bounded: 100 columns of any size stay under 2.5 KB each as JSON', () => {
    const cols: Record<string, Float64Array | string[]> = {};
    const cur: Record<string, Float64Array | string[]> = {};
    for (let i = 0; i < 50; i++) {
      cols[`n${i}`] = normals(`r${i}`, 5000);
      cur[`n${i}`] = normals(`c${i}`, 5000, 0.1);
      const longLabels = Array.from({ length: 100 }, (_, k) => `${'x'.repeat(200)}${k}`);
      cols[`c${i}`] = labels(`lr${i}`, 5000, longLabels);
      cur[`c${i}`] = labels(`lc${i}`, 5000, longLabels);
    }
    const report = detectDrift(cols, cur);
    for (const c of Object.values(report.columns)) {
      expect(JSON.stringify(c.histogram).length).toBeLessThan(2500);
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinnedWindow } from '../../src/ops/monitor/binned-window.js';
import { buildColumnModels, numericModel, OTHER_LABEL } from '../../src/ops/monitor/columns.js';

/** The bin of x by binary search: the number of edges <= x. */
function bisect(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

describe('binned window', () => {
  it('bins numbers exactly as a binary search over the edges would, for any reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), {
          minLength: 10,
          maxLength: 400,
        }),
        fc.array(fc.double({ min: -2e6, max: 2e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 3 }),
        (reference, current, skew) => {
          // Skewed references put many edges in few grid cells.
          const ref = reference.map((x) =>
            skew === 0 ? x : Math.sign(x) * Math.abs(x) ** (1 / (skew + 1)),
          );
          const model = numericModel('x', Float64Array.from(ref).sort(), 0);
          if ('reason' in model || model.edges === undefined) return;
          const window = new BinnedWindow([model], 1000);
          for (const x of current) window.record({ x });
          window.advance(1e9);
          const expected = new Float64Array(model.a.length);
          for (const x of current.slice(-1000)) expected[bisect(model.edges, x)]!++;
          expect(Array.from(window.counts[0]!)).toEqual(Array.from(expected));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('slides: rows leave the counts as new ones arrive, and a long gap starts afresh', () => {
    const { columns } = buildColumnModels(
      {
        x: Array.from({ length: 100 }, (_, i) => i),
        c: Array.from({ length: 100 }, (_, i) => (i % 2 ? 'a' : 'b')),
      },
      'reference',
    );
    const window = new BinnedWindow(columns, 10);
    const total = (j: number): number =>
      window.counts[j]!.reduce((a, b) => a + b, 0) + window.missing[j]!;
    for (let i = 0; i < 25; i++) {
      window.record({ x: i < 20 ? 1 : Number.NaN, c: i < 20 ? 'a' : 'zzz' });
      if (i % 7 === 0) window.advance(3);
    }
    window.advance(100);
    expect(window.rows).toBe(10);
    expect(total(0)).toBe(10);
    // Rows 15..24: five with x = 1, five NaN; five 'a', five unknown labels (the other bin).
    expect(window.missing[0]).toBe(5);
    const labels = columns[1]!.labels;
    expect(window.counts[1]![labels.indexOf('a')]).toBe(5);
    expect(window.counts[1]![labels.indexOf(OTHER_LABEL)]).toBe(5);
    // More than a window behind: the counts restart from the newest rows only.
    for (let i = 0; i < 35; i++) window.record({ x: 50, c: 'b' });
    window.advance(100);
    expect(window.missing[0]).toBe(0);
    expect(window.counts[1]![labels.indexOf('b')]).toBe(10);
    expect(total(1)).toBe(10);
  });

  it('reads rows built key by key (V8 dictionary mode) and from literals alike', () => {
    const { columns } = buildColumnModels(
      Object.fromEntries(
        Array.from({ length: 20 }, (_, j) => [`f${j}`, Array.from({ length: 50 }, (_, i) => i)]),
      ),
      'reference',
    );
    const a = new BinnedWindow(columns, 40_000);
    const b = new BinnedWindow(columns, 40_000);
    for (let i = 0; i < 40_000; i++) {
      const built: Record<string, number> = {};
      for (let j = 0; j < 20; j++) built[`f${j}`] = (i * (j + 1)) % 50;
      a.record(built);
      b.record(JSON.parse(JSON.stringify(built)));
    }
    a.advance(1e9);
    b.advance(1e9);
    expect(a.counts).toEqual(b.counts);
    expect(a.mismatched.rows).toBe(0);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinnedWindow, blockRows } from '../../src/ops/monitor/binned-window.js';
import {
  type ColumnModel,
  categoricalModel,
  numericModel,
  OTHER_LABEL,
} from '../../src/ops/monitor/columns.js';
import { buildColumnModels } from '../../src/ops/monitor/reference-steps.js';

/** The bin of x by binary search: the number of edges < x. */
function bisect(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The bins a value equal to edge `i` may fall in: from `i` to the bin of its last gap. */
function tieRange(model: ColumnModel, i: number): [number, number] {
  const { cuts, below, tied } = model.ties!;
  let hi = i;
  while (hi < cuts.length && cuts[hi]! <= below[i]! + tied[i]!) hi++;
  return [i, hi];
}

describe('binned window', () => {
  it('bins numbers as a binary search over the edges would, ties within their tie block, for any reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), {
          minLength: 10,
          maxLength: 400,
        }),
        fc.array(fc.double({ min: -2e6, max: 2e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 4 }),
        (reference, drawn, skew, discrete) => {
          // Skewed references put many edges in few grid cells; rounded ones have tie blocks.
          const ref = reference.map((x) => {
            const y = skew === 0 ? x : Math.sign(x) * Math.abs(x) ** (1 / (skew + 1));
            return discrete === 0 ? y : Math.round(y / 10 ** (discrete + 2));
          });
          // Half of the current values repeat reference values (ties with the edges).
          const current = drawn.map((x, i) => (i % 2 ? x : ref[i % ref.length]!));
          const model = numericModel('x', Float64Array.from(ref).sort(), 0);
          if ('reason' in model || model.edges === undefined) return;
          const window = new BinnedWindow([model], 1000);
          for (const x of current) window.record({ x });
          window.advance(1e9);
          const fixed = new Float64Array(model.a.length);
          const spread: [number, number][] = [];
          for (const x of current.slice(-1000)) {
            const bin = bisect(model.edges, x);
            if (model.edges[bin] === x) spread.push(tieRange(model, bin));
            else fixed[bin]!++;
          }
          const counts = window.counts[0]!;
          // Every tied value lands in its range: what is left over the fixed counts fits there.
          let placed = 0;
          for (let b = 0; b < counts.length; b++) {
            const extra = counts[b]! - fixed[b]!;
            expect(extra).toBeGreaterThanOrEqual(0);
            if (extra > 0) expect(spread.some(([lo, hi]) => lo <= b && b <= hi)).toBe(true);
            placed += extra;
          }
          expect(placed).toBe(spread.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('bins across the ring wrap in any chunks as at once, and keeps non-finite values as missing', () => {
    const model = numericModel(
      'x',
      Float64Array.from({ length: 500 }, (_, i) => Math.sin(i) * 100).sort(),
      0,
    );
    if ('reason' in model) throw new Error(model.message);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.array(
          fc.oneof(
            fc.double({ min: -300, max: 300, noNaN: true }),
            fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
          ),
          { minLength: 1, maxLength: 200 },
        ),
        fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 20 }),
        (size, values, chunks) => {
          const chunked = new BinnedWindow([model], size);
          let c = 0;
          for (const x of values) {
            chunked.record({ x });
            if (chunked.pending >= chunks[c % chunks.length]!)
              chunked.advance(chunks[c++ % chunks.length]!);
          }
          while (chunked.advance(chunks[c++ % chunks.length]!) > 0);
          const kept = values.slice(-size);
          const fixed = new Float64Array(model.a.length);
          let missing = 0;
          for (const x of kept) {
            if (!Number.isFinite(x)) missing++;
            else fixed[bisect(model.edges!, x)]!++;
          }
          // Sine values repeat rarely: a value equal to an edge may take a neighbouring bin.
          const ties = kept.filter((x) => model.edges!.includes(x)).length;
          const counts = chunked.counts[0]!;
          let differing = 0;
          for (let b = 0; b < counts.length; b++) differing += Math.abs(counts[b]! - fixed[b]!);
          expect(differing).toBeLessThanOrEqual(2 * ties);
          expect(chunked.missing[0]).toBe(missing);
          expect(chunked.rows).toBe(Math.min(values.length, size));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('moves a block at a time exactly as row by row, in any chunks, across ring wraps and long gaps', () => {
    // A number column with ties, and a label column (labels are binned when the window moves).
    const { columns } = buildColumnModels(
      {
        x: Array.from({ length: 500 }, (_, i) => Math.round(Math.sin(i) * 20)),
        c: Array.from({ length: 500 }, (_, i) => ['a', 'b', 'c'][i % 3]),
      },
      'reference',
    );
    fc.assert(
      fc.property(
        fc.constantFrom(32, 40, 64),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.oneof(fc.integer({ min: -25, max: 25 }), fc.constant(Number.NaN), fc.constant('x')),
          { minLength: 1, maxLength: 1500, size: 'max' },
        ),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (block, blocks, values, drawn, aligned) => {
          const size = block * blocks;
          // Checks on time advance whole blocks; others any number of rows.
          const chunks = aligned ? drawn.map((n) => block * (1 + (n % 3))) : drawn;
          const blocked = new BinnedWindow(columns, size, { block });
          // The same rows, counted one by one to wherever the blocked window stands.
          const plain = new BinnedWindow(columns, size);
          const agree = () => {
            while (plain.processed < blocked.processed) {
              plain.advance(blocked.processed - plain.processed);
            }
            expect(plain.processed).toBe(blocked.processed);
            expect(blocked.counts.map((c) => Array.from(c))).toEqual(
              plain.counts.map((c) => Array.from(c)),
            );
            expect(Array.from(blocked.missing)).toEqual(Array.from(plain.missing));
            expect(blocked.rows).toBe(plain.rows);
          };
          let c = 0;
          for (const [i, x] of values.entries()) {
            // Now and then a row that is no object at all: every column missing.
            const row =
              i % 11 === 10
                ? null
                : { x, c: i % 5 === 0 ? 'new' : i % 7 === 0 ? null : ['a', 'b', 'c'][i % 3] };
            blocked.record(row);
            plain.record(row);
            if (blocked.pending >= chunks[c % chunks.length]!) {
              blocked.advance(chunks[c++ % chunks.length]!);
              agree();
            }
          }
          while (blocked.advance(chunks[c++ % chunks.length]!) > 0);
          agree();
          expect(blocked.rows).toBe(Math.min(values.length, size));
          for (const j of [0, 1]) {
            const total = blocked.counts[j]!.reduce((a, b) => a + b, 0) + blocked.missing[j]!;
            expect(total).toBe(blocked.rows);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts blocks of more rows than 16 bits hold', () => {
    const model = numericModel(
      'x',
      Float64Array.from({ length: 100 }, (_, i) => i),
      0,
    );
    if ('reason' in model) throw new Error(model.message);
    const block = blockRows(200_000, 100_000);
    expect(block).toBe(100_000);
    const window = new BinnedWindow([model], 200_000, { block });
    const row = { x: 50.5 };
    for (let i = 0; i < 300_000; i++) window.record(row);
    while (window.advance(block) > 0);
    expect(window.rows).toBe(200_000);
    expect(Math.max(...window.counts[0]!)).toBe(200_000);
  });

  it('blocks fit the window and its checks: their common divisor, none when too small or too many', () => {
    expect(blockRows(1000, 100)).toBe(100);
    expect(blockRows(1000, 250)).toBe(250);
    expect(blockRows(5000, 500)).toBe(500);
    expect(blockRows(100, 10)).toBe(0);
    expect(blockRows(997, 100)).toBe(0);
    expect(blockRows(50_000, 100)).toBe(0);
  });

  it('spreads a value tied with reference values uniformly over the gaps around them', () => {
    // 40 zeros, 40 ones, 40 twos: the ones occupy gaps 40..80 (41 gaps) of 121.
    const ref = Float64Array.from({ length: 120 }, (_, i) => Math.floor(i / 40));
    const model = numericModel('x', ref, 0) as ColumnModel;
    const m = 20_000;
    const window = new BinnedWindow([model], m);
    for (let i = 0; i < m; i++) window.record({ x: 1 });
    window.advance(1e9);
    const { cuts } = model.ties!;
    let start = 0;
    for (let b = 0; b < model.a.length; b++) {
      const end = b < cuts.length ? cuts[b]! : 121;
      const share = Math.max(0, Math.min(end, 81) - Math.max(start, 40)) / 41;
      const sd = Math.sqrt(m * share * (1 - share));
      // Six standard deviations: no seed of the window's generator fails this by chance.
      expect(Math.abs(window.counts[0]![b]! - m * share)).toBeLessThanOrEqual(6 * sd + 1e-9);
      start = end;
    }
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

describe('labels the reference never had', () => {
  it("get Esty's wider law when the reference is small against the labels, the plain one otherwise", () => {
    const counts = (n: number) => {
      const m = new Map<string, number>();
      // 50 labels: a few seen once or twice at 200 rows, none at 50 000.
      for (let i = 0; i < n; i++) {
        const label = `l${(i * 7919) % 50}`;
        m.set(label, (m.get(label) ?? 0) + (n === 200 && i % 40 === 0 ? 0 : 1));
      }
      m.set('once', 1);
      if (n === 200) m.set('twice', 2);
      return m;
    };
    const other = (n: number) => {
      const model = categoricalModel('x', counts(n), 0) as ColumnModel;
      const spec = model.tests.find((t) => t.kind === 'share' && t.label === OTHER_LABEL);
      return { model, spec: spec as Extract<typeof spec, { kind: 'share' }> };
    };
    const small = other(200);
    const prior = small.spec!.prior!;
    const bin = small.model.a.length - 1;
    // Same mean as the Dirichlet marginal, fewer pseudo-counts (a wider law).
    expect(prior.alpha / (prior.alpha + prior.beta)).toBeCloseTo(
      small.model.a[bin]! / small.model.total,
      12,
    );
    expect(prior.alpha + prior.beta).toBeLessThan(small.model.total / 2);
    // A large reference: the singleton is the only rare label; Esty's law is about as wide.
    const large = other(50_000);
    const p = large.spec!.prior;
    if (p) expect(p.alpha + p.beta).toBeGreaterThan(0.9 * large.model.total);
  });
});

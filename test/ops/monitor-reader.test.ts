import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ReaderColumn, rowReader } from '../../src/ops/monitor/row-reader.js';

/** What a reader must store for one row: the specification, one column at a time by name. */
function expected(columns: readonly ReaderColumn[], row: Record<string, unknown>) {
  const numbers: number[] = [];
  const labels: unknown[] = [];
  const mismatched = columns.map(() => 0);
  let bad = false;
  columns.forEach((c, j) => {
    const v = row[c.name];
    if (c.numeric) numbers.push(typeof v === 'number' ? v : Number.NaN);
    else labels.push(typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : undefined);
    const ok = c.numeric ? typeof v === 'number' : typeof v === 'string' || typeof v === 'boolean';
    if (!ok && v !== null) {
      mismatched[j]!++;
      bad = true;
    }
  });
  return { numbers, labels, mismatched, bad };
}

// Hostile names: quotes, backslashes, line separators, prototype keys, lone surrogates.
const names = fc.uniqueArray(
  fc.oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      '"',
      "'",
      '\\',
      '`${'.concat('x}`'),
      '\u2028',
      '\ud800',
      '',
    ),
    fc.string({ maxLength: 6 }),
  ),
  { minLength: 1, maxLength: 70 },
);
const value = fc.oneof(
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constantFrom(null, undefined, Number.NaN, Number.POSITIVE_INFINITY),
  fc.object({ maxDepth: 0 }),
);

describe('row reader', () => {
  it('compiled and loop readers store what reading each column by name gives, for any row', () => {
    fc.assert(
      fc.property(
        names,
        fc.array(fc.boolean(), { minLength: 70, maxLength: 70 }),
        fc.array(fc.tuple(fc.array(value, { minLength: 70, maxLength: 70 }), fc.boolean()), {
          minLength: 1,
          maxLength: 8,
        }),
        (keys, kinds, drawn) => {
          const columns = keys.map((name, j) => ({ name, numeric: kinds[j]! }));
          const width = { n: columns.filter((c) => c.numeric).length };
          const readers = [rowReader(columns, true), rowReader(columns, false)];
          for (const [values, shuffle] of drawn) {
            // Rows with every column, some absent, extra keys, and another key order.
            const row: Record<string, unknown> = shuffle ? { extra: 1 } : {};
            const order = shuffle ? [...keys].reverse() : keys;
            order.forEach((name, i) => {
              if (values[i] !== undefined || i % 3 !== 0)
                Object.defineProperty(row, name, {
                  value: values[i],
                  enumerable: true,
                  writable: true,
                  configurable: true,
                });
            });
            const want = expected(columns, row);
            for (const read of readers) {
              const numbers = new Float64Array(width.n + 2).fill(7);
              const labels = new Array<unknown>(columns.length - width.n + 2).fill('x');
              const mismatched = new Float64Array(columns.length);
              const bad = read(row, numbers, 1, labels, 1, mismatched);
              expect(Array.from(numbers.subarray(1, 1 + width.n))).toEqual(want.numbers);
              expect(labels.slice(1, labels.length - 1)).toEqual(want.labels);
              expect(Array.from(mismatched)).toEqual(want.mismatched);
              expect(bad).toBe(want.bad);
              // Nothing outside the row's slots is touched.
              expect([numbers[0], numbers[width.n + 1], labels[0], labels.at(-1)]).toEqual([
                7,
                7,
                'x',
                'x',
              ]);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads the same through both readers when rows change shape from one call to the next', () => {
    const columns = [
      { name: 'a', numeric: true },
      { name: 'b', numeric: false },
    ];
    const rows: Record<string, unknown>[] = [
      { a: 1, b: 'x' },
      { b: 'y', a: 2 },
      { a: 3 },
      Object.create({ a: 4, b: true }) as Record<string, unknown>,
      { a: '5', b: 6, c: 7 },
    ];
    for (const compile of [true, false]) {
      const read = rowReader(columns, compile);
      const numbers = new Float64Array(rows.length);
      const labels = new Array<unknown>(rows.length);
      const mismatched = new Float64Array(2);
      rows.forEach((row, i) => {
        read(row, numbers, i, labels, i, mismatched);
      });
      expect(Array.from(numbers)).toEqual([1, 2, 3, 4, Number.NaN]);
      expect(labels).toEqual(['x', 'y', undefined, 'true', undefined]);
      expect(Array.from(mismatched)).toEqual([1, 2]);
    }
  });
});

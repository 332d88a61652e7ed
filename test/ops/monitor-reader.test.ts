import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ColumnModel } from '../../src/ops/monitor/columns.js';
import { buildColumnModels } from '../../src/ops/monitor/reference-steps.js';
import { rowReader } from '../../src/ops/monitor/row-reader.js';
import { ValueBins } from '../../src/ops/monitor/value-bins.js';

/**
 * What a reader must write for one row: the specification, one column at a time by name, each
 * number binned by the binner itself (codes of label columns are left as they were: 7), each
 * label kept as it is.
 */
function expected(bins: ValueBins, row: Record<string, unknown>) {
  const codes: number[] = [];
  const labels: unknown[] = [];
  const mismatched = bins.columns.map(() => 0);
  let bad = false;
  bins.columns.forEach((c, j) => {
    const v = row[c.name];
    const numeric = c.type === 'numerical';
    const ok = numeric ? typeof v === 'number' : typeof v === 'string' || typeof v === 'boolean';
    if (!ok && v !== null) {
      mismatched[j]!++;
      bad = true;
    }
    if (!numeric) {
      codes.push(7);
      labels.push(ok ? String(v) : undefined);
    } else codes.push(ok ? bins.number(j, v as number) : bins.missing[j]!);
  });
  return { codes, labels, mismatched, bad };
}

/** Where each column's bins start in a histogram of all of them. */
function offsetsOf(columns: readonly ColumnModel[]): Int32Array {
  let at = 0;
  return Int32Array.from(columns, (c) => {
    const o = at;
    at += c.a.length + 1;
    return o;
  });
}

/**
 * Models for these names: numbers 0..49 (ties with edges), 0/1, or labels. (Built under plain
 * names, then renamed: a reference refuses names such as `__proto__`; a reader must not care.)
 */
function modelsFor(keys: readonly string[], kinds: readonly number[]): ColumnModel[] {
  const reference: Record<string, unknown[]> = {};
  keys.forEach((_, j) => {
    const kind = kinds[j]! % 3;
    reference[`c${j}`] = Array.from({ length: 200 }, (_, i) =>
      kind === 0 ? i % 50 : kind === 1 ? i % 2 : ['a', 'b', 'true', 'c'][i % 4],
    );
  });
  const { columns } = buildColumnModels(reference, 'reference');
  return keys.map((name, j) => ({ ...columns.find((c) => c.name === `c${j}`)!, name }));
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
  fc.integer({ min: -2, max: 52 }),
  fc.constantFrom('a', 'b', 'c', 'd'),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constantFrom(null, undefined, Number.NaN, Number.POSITIVE_INFINITY),
  fc.object({ maxDepth: 0 }),
);

describe('row reader', () => {
  it('compiled and loop readers write what binning each column by name gives, for any row', () => {
    fc.assert(
      fc.property(
        names,
        fc.array(fc.nat(), { minLength: 70, maxLength: 70 }),
        fc.array(fc.tuple(fc.array(value, { minLength: 70, maxLength: 70 }), fc.boolean()), {
          minLength: 1,
          maxLength: 8,
        }),
        (keys, kinds, drawn) => {
          const columns = modelsFor(keys, kinds);
          const k = columns.length;
          const offsets = offsetsOf(columns);
          const width = offsets[k - 1]! + columns[k - 1]!.a.length + 1;
          // Each reader with its own binner, all from the same random state (ties draw from it).
          const spec = new ValueBins(columns);
          const readers = [true, false].map((compile) =>
            rowReader(new ValueBins(columns), offsets, compile),
          );
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
            const want = expected(spec, row);
            const histogram = new Float64Array(width + 2);
            want.codes.forEach((code, j) => {
              if (columns[j]!.type === 'numerical') histogram[1 + offsets[j]! + code]!++;
            });
            const labelled = want.labels.length;
            for (const read of readers) {
              const codes = new Uint8Array(k + 2).fill(7);
              const counts = new Uint32Array(width + 2);
              const labels = new Array<unknown>(labelled + 2).fill('x');
              const mismatched = new Float64Array(k);
              const bad = read(row, codes, 1, counts, 1, labels, 1, mismatched);
              expect(Array.from(codes.subarray(1, 1 + k))).toEqual(want.codes);
              expect(Array.from(counts)).toEqual(Array.from(histogram));
              expect(labels.slice(1, 1 + labelled)).toEqual(want.labels);
              expect(Array.from(mismatched)).toEqual(want.mismatched);
              expect(bad).toBe(want.bad);
              // Nothing outside the row's slots is touched.
              expect([codes[0], codes[k + 1], labels[0], labels.at(-1)]).toEqual([7, 7, 'x', 'x']);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads the same through both readers when rows change shape from one call to the next', () => {
    const columns = modelsFor(['a', 'b'], [0, 2]);
    const offsets = offsetsOf(columns);
    const rows: Record<string, unknown>[] = [
      { a: 1, b: 'a' },
      { b: 'c', a: 2 },
      { a: 3 },
      Object.create({ a: 4, b: true }) as Record<string, unknown>,
      { a: '5', b: 6, c: 7 },
    ];
    const bins = new ValueBins(columns);
    for (const compile of [true, false]) {
      const read = rowReader(new ValueBins(columns), offsets, compile);
      const codes = new Uint8Array(rows.length * 2);
      const counts = new Uint32Array(200);
      const labels = new Array<unknown>(rows.length);
      const mismatched = new Float64Array(2);
      rows.forEach((row, i) => {
        read(row, codes, 2 * i, counts, 0, labels, i, mismatched);
      });
      const a = Array.from({ length: rows.length }, (_, i) => codes[2 * i]);
      expect(a).toEqual([...[1, 2, 3, 4].map((x) => bins.number(0, x)), bins.missing[0]]);
      expect(labels).toEqual(['a', 'c', undefined, 'true', undefined]);
      expect(Array.from(mismatched)).toEqual([1, 2]);
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/core/errors.js';
import type { FieldValue } from '../../src/tracking/filter/evaluate.js';
import { decodeColumn, encodeColumn } from '../../src/tracking/search-columns.js';

const value: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constant(undefined),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.constantFrom('__proto__', 'NaN', 'constructor'),
);

describe('search snapshot columns', () => {
  it('decode what they encode, for any mix of numbers (NaN, infinities, -0), strings, booleans and gaps', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(value, { maxLength: 300 }),
          fc.array(fc.oneof(fc.double(), fc.constant(undefined))),
        ),
        (values) => {
          const stored = JSON.parse(JSON.stringify(encodeColumn('params.x', values)));
          const column = decodeColumn('k', stored, 'params.x', values.length);
          // a dictionary keeps one of 0 and -0 (they compare equal in filters and orders)
          const plain = (v: FieldValue) => (v === 0 ? 0 : v);
          const back = values.map((_, row) => plain(column.at(row)));
          expect(back).toEqual(values.map(plain));
        },
      ),
    );
  });

  it('a dictionary column gives codes that identify equal values', () => {
    const values: FieldValue[] = ['a', 'b', undefined, 'a', 3, true];
    const column = decodeColumn('k', encodeColumn('experiment', values), 'experiment', 6);
    expect(column.codeOf!('a')).toBe(column.codeAt!(0));
    expect(column.codeAt!(3)).toBe(column.codeAt!(0));
    expect(column.codeAt!(2)).toBe(0);
    expect(column.codeOf!('missing')).toBe(0);
  });

  it('refuses a damaged column with IntegrityError, never another error', () => {
    const numbers = encodeColumn('metrics.acc', [1, 2, 3]) as Record<string, unknown>;
    const strings = encodeColumn('tags.t', ['a', 'b', 'a']) as Record<string, unknown>;
    const damaged: unknown[] = [
      null,
      'junk',
      { ...numbers, count: 4 },
      { ...numbers, name: 'other' },
      { ...numbers, values: 'AAAA' },
      { ...numbers, values: '!!!' },
      { ...numbers, present: 'AA==AA' },
      { ...numbers, kind: 'dictionary' },
      { ...strings, codes: 'AgMD' },
      { ...strings, width: 3 },
      { ...strings, dict: '{"__proto__": 1}' },
      { ...strings, dict: '[{"x": 1}, "b"]' },
      { ...strings, dict: 'not json' },
    ];
    for (const doc of damaged) {
      expect(() => decodeColumn('k', doc as never, 'metrics.acc', 3)).toThrow(IntegrityError);
    }
    for (const doc of damaged.slice(8)) {
      expect(() => decodeColumn('k', doc as never, 'tags.t', 3)).toThrow(IntegrityError);
    }
  });
});

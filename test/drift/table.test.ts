import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { inferColumnType, isMissing, tableColumns } from '../../src/drift/table.js';

function validationError(f: () => unknown): boolean {
  try {
    f();
  } catch (e) {
    return isKeelError(e, 'KEEL_VALIDATION');
  }
  return false;
}

describe('tableColumns', () => {
  it('reads rows: the union of keys in first-seen order, absent keys as undefined', () => {
    const t = tableColumns([{ a: 1, b: 'x' }, { a: 2 }, { c: true, a: 3 }], 'table');
    expect(t.names).toEqual(['a', 'b', 'c']);
    expect(t.rows).toBe(3);
    expect(Array.from(t.column('a'))).toEqual([1, 2, 3]);
    expect(Array.from(t.column('b'))).toEqual(['x', undefined, undefined]);
    expect(Array.from(t.column('c'))).toEqual([undefined, undefined, true]);
    expect(t.column('a')).toBe(t.column('a')); // transposed once
    expect(t.has('b')).toBe(true);
    expect(t.has('z')).toBe(false);
  });

  it('reads columns as they are, typed arrays included, without copying', () => {
    const x = new Float64Array([1, 2, 3]);
    const t = tableColumns({ x, y: ['a', 'b', null] }, 'table');
    expect(t.names).toEqual(['x', 'y']);
    expect(t.rows).toBe(3);
    expect(t.column('x')).toBe(x);
  });

  it('handles empty tables', () => {
    expect(tableColumns([], 't').names).toEqual([]);
    expect(tableColumns({}, 't').rows).toBe(0);
  });

  it('refuses malformed tables with ValidationError', () => {
    expect(validationError(() => tableColumns({ a: [1, 2], b: [1] }, 't'))).toBe(true);
    expect(validationError(() => tableColumns({ a: 3 } as never, 't'))).toBe(true);
    expect(validationError(() => tableColumns([{ a: 1 }, null] as never, 't'))).toBe(true);
    expect(validationError(() => tableColumns([[1, 2]] as never, 't'))).toBe(true);
    expect(validationError(() => tableColumns('rows' as never, 't'))).toBe(true);
    expect(validationError(() => tableColumns(JSON.parse('[{"__proto__": 1}]'), 't'))).toBe(true);
    expect(validationError(() => tableColumns({ a: [1] }, 't').column('b'))).toBe(true);
  });
});

describe('inferColumnType', () => {
  it('infers numerical, categorical, empty and mixed columns', () => {
    expect(inferColumnType([1, null, Number.NaN, 2.5, Number.POSITIVE_INFINITY]).type).toBe(
      'numerical',
    );
    expect(inferColumnType(new Int32Array([1, 2])).type).toBe('numerical');
    expect(inferColumnType(new Float64Array([Number.NaN])).type).toBe('empty');
    expect(inferColumnType(['a', true, undefined]).type).toBe('categorical');
    expect(inferColumnType([null, undefined, Number.NaN]).type).toBe('empty');
    expect(inferColumnType([]).type).toBe('empty');
    expect(inferColumnType([1, 'a'])).toEqual({
      type: 'mixed',
      index: 1,
      detail: 'number at 0, string at 1',
    });
    expect(inferColumnType(['a', { b: 1 }]).type).toBe('mixed');
  });

  it('isMissing matches null, undefined and NaN only', () => {
    expect([null, undefined, Number.NaN, 0, '', false].map(isMissing)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('row tables with inherited names', () => {
  it('a row without a column named like an Object.prototype member reads undefined', () => {
    const t = tableColumns([{ toString: 'x', a: 1 }, { a: 2 }], 'table');
    expect(Array.from(t.column('toString'))).toEqual(['x', undefined]);
    expect(Array.from(t.column('a'))).toEqual([1, 2]);
  });
});

describe('row transposition keeps every value', () => {
  it('numbers, then labels or missing values, in any row', () => {
    const rows = [
      { a: 1, b: -0 },
      { a: 'x', b: 2 },
      { a: 3, b: null },
      { b: Number.NaN },
      { a: 4 },
    ];
    const t = tableColumns(rows, 'table');
    expect(Array.from(t.column('a'))).toEqual([1, 'x', 3, undefined, 4]);
    expect(Array.from(t.column('b'))).toEqual([-0, 2, null, Number.NaN, undefined]);
    expect(Object.is(t.column('b')[0], -0)).toBe(true);
    expect(t.column('a')).toBeInstanceOf(Array);
    const numeric = tableColumns([{ v: 1.5 }, { v: 2 }], 'table').column('v');
    expect(numeric).toBeInstanceOf(Float64Array);
  });
});

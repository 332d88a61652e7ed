import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isKeelError } from '../../src/core/errors.js';
import { createRandom } from '../../src/core/random.js';
import { profile } from '../../src/drift/profile.js';
import { validateData, validateDataAsync } from '../../src/drift/validate-data.js';
import { thrown } from '../helpers/data.js';

const rows = [
  { id: 1, age: 34, country: 'NO', score: 0.5 },
  { id: 2, age: -3, country: 'SE', score: null },
  { id: 3, age: 150, country: 'XX', score: 0.7 },
  { id: 3, age: 40, country: 'NO', score: Number.NaN },
  { id: 5, age: '41', country: 'DK', score: 0.1 },
];

describe('validateData', () => {
  it('reports each failed expectation with counts and example row indices', () => {
    const report = validateData(rows, {
      schema: z.object({ id: z.number().int(), age: z.number(), country: z.string().length(2) }),
      columns: {
        id: { unique: true },
        age: { min: 0, max: 120 },
        country: { allowed: ['NO', 'SE', 'DK'] },
        score: { maxNullRate: 0.2 },
        missing: {},
        optional: { required: false },
      },
    });
    expect(report.passed).toBe(false);
    expect(report.rows).toBe(5);
    const byKind = Object.fromEntries(
      report.checks.map((c) => [`${c.expectation}:${c.column ?? ''}`, c]),
    );
    expect(byKind['schema:']).toMatchObject({ passed: false, count: 1, examples: [4] });
    expect(byKind['schema:']?.details?.issues).toEqual([
      { row: 4, issues: [expect.stringMatching(/^at age: /)] },
    ]);
    expect(byKind['unique:id']).toMatchObject({
      passed: false,
      count: 1,
      examples: [3],
      details: { values: [3] },
    });
    expect(byKind['type:age']).toMatchObject({
      passed: false,
      count: 1,
      examples: [4],
      details: { values: ['41'] },
    });
    expect(byKind['range:age']).toMatchObject({
      passed: false,
      count: 2,
      examples: [1, 2],
      rate: 0.4,
    });
    expect(byKind['allowed:country']).toMatchObject({
      passed: false,
      count: 1,
      examples: [2],
      details: { values: ['XX'] },
    });
    expect(byKind['null_rate:score']).toMatchObject({
      passed: false,
      count: 2,
      rate: 0.4,
      examples: [1, 3],
    });
    expect(byKind['column:missing']).toMatchObject({ passed: false, count: 5, rate: 1 });
    expect(byKind['column:optional']).toBeUndefined();
    expect(report.failures).toEqual(report.checks.filter((c) => !c.passed));
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('passes clean data, on rows or columns (typed arrays too)', () => {
    const spec = {
      columns: { x: { min: 0, max: 1, maxNullRate: 0, unique: true }, c: { allowed: ['a', 'b'] } },
    };
    const columns = { x: new Float64Array([0, 0.5, 1]), c: ['a', 'b', 'a'] };
    const report = validateData(columns, spec);
    expect(report.passed).toBe(true);
    expect(report.failures).toEqual([]);
    expect(report.checks.map((c) => c.expectation)).toEqual([
      'type',
      'range',
      'null_rate',
      'unique',
      'allowed',
    ]);
    const asRows = [0, 1, 2].map((i) => ({ x: columns.x[i], c: columns.c[i] }));
    expect(validateData(asRows, spec)).toEqual(report);
    expect(
      validateData(columns, { schema: z.object({ x: z.number(), c: z.enum(['a', 'b']) }) }).passed,
    ).toBe(true);
  });

  it('never throws on bad data: rows that are not objects are reported', () => {
    const report = validateData([{ a: 1 }, null, 'x', { a: 2 }] as never, {
      schema: z.object({ a: z.number() }),
      columns: { a: { maxNullRate: 0.25 } },
    });
    expect(report.failures.map((f) => f.expectation)).toEqual(['row', 'schema', 'null_rate']);
    expect(report.failures[0]).toMatchObject({ count: 2, examples: [1, 2] });
    expect(report.failures[1]).toMatchObject({ count: 2, examples: [1, 2] });
  });

  it('limits examples to maxExamples', () => {
    const values = Array.from({ length: 100 }, (_, i) => i);
    const report = validateData({ v: values }, { columns: { v: { max: 10 } }, maxExamples: 3 });
    expect(report.failures[0]).toMatchObject({
      expectation: 'range',
      count: 89,
      examples: [11, 12, 13],
    });
  });

  it('checks drift against a reference table or profile', () => {
    const rng = createRandom('vd');
    const ref = { x: Array.from({ length: 2000 }, () => rng.next()) };
    const same = { x: Array.from({ length: 1000 }, () => rng.next()) };
    const shifted = { x: Array.from({ length: 1000 }, () => rng.next() + 0.5) };
    expect(validateData(same, { drift: { reference: ref } }).passed).toBe(true);
    const bad = validateData(shifted, { drift: { reference: profile(ref), correction: 'bh' } });
    expect(bad.passed).toBe(false);
    expect(bad.drift?.drifted).toBe(true);
    expect(bad.failures[0]).toMatchObject({
      expectation: 'drift',
      count: 1,
      details: { driftedColumns: ['x'] },
    });
  });

  it('throws only on a bad spec', () => {
    const bad = [
      { schema: { parse: () => 1 } },
      { columns: { a: { min: 2, max: 1 } } },
      { columns: { a: { maxNullRate: 2 } } },
      { columns: { a: { allowed: [] } } },
      { columns: { a: { min: 0, type: 'categorical' } } },
      { columns: { a: { unknown: true } } },
      { maxExamples: -1 },
      { drift: { current: [] } },
      { other: 1 },
    ];
    for (const spec of bad) {
      expect(
        isKeelError(
          thrown(() => validateData([{ a: 1 }], spec as never)),
          'KEEL_VALIDATION',
        ),
      ).toBe(true);
    }
  });

  it('needs validateDataAsync for asynchronous schemas, which handles both', async () => {
    const asyncSchema = z
      .object({ a: z.number() })
      .refine(async (r) => r.a > 0, 'must be positive');
    const data = [{ a: 1 }, { a: -1 }];
    expect(thrown(() => validateData(data, { schema: asyncSchema }))).toMatchObject({
      code: 'KEEL_VALIDATION',
      message: expect.stringMatching(/validateDataAsync/),
    });
    const report = await validateDataAsync(data, { schema: asyncSchema });
    expect(report.failures).toMatchObject([{ expectation: 'schema', count: 1, examples: [1] }]);
    expect(await validateDataAsync(data, { columns: { a: { min: 0 } } })).toEqual(
      validateData(data, { columns: { a: { min: 0 } } }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError, ValidationError } from '../../src/core/errors.js';
import {
  ATTRIBUTE_KEYS,
  type FieldRef,
  type FilterExpr,
  type FilterValue,
} from '../../src/tracking/filter/ast.js';
import { matchesFilter } from '../../src/tracking/filter/evaluate.js';
import { MAX_FILTER_DEPTH, parseFilter, RUN_STATUSES } from '../../src/tracking/filter/parser.js';
import { printFilter } from '../../src/tracking/filter/print.js';
import { tokenize } from '../../src/tracking/filter/tokenizer.js';
import { parseOrderBy } from '../../src/tracking/order.js';
import type { Run } from '../../src/tracking/types.js';

const run: Run = {
  id: '01arz3ndektsv4rrffq69g5fav',
  experiment: 'e',
  name: 'a.b',
  status: 'completed',
  startTime: '2026-01-01T00:00:00.000Z',
  endTime: '2026-01-01T01:00:00.000Z',
  params: { lr: 0.1, opt: 'adam', n: '32', flag: true },
  tags: { 'x.y': "it's", team: 'ml' },
  metrics: {
    acc: { key: 'acc', value: 0.9, step: 1, timestamp: 1 },
    nan: { key: 'nan', value: Number.NaN, step: 1, timestamp: 1 },
    inf: { key: 'inf', value: Number.POSITIVE_INFINITY, step: 1, timestamp: 1 },
  },
  inputs: [],
  outputs: [],
};

function matches(filter: string): boolean {
  return matchesFilter(parseFilter(filter), run);
}

function columnOf(filter: string): number | undefined {
  try {
    parseFilter(filter);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details?.column as number;
  }
}

describe('filter parser', () => {
  it('builds a typed AST with and binding tighter than or', () => {
    expect(
      parseFilter("metrics.acc > 0.9 OR params.opt = 'adam' AnD tags.team IN ('ml', 'cv')"),
    ).toEqual({
      type: 'or',
      clauses: [
        { type: 'comparison', field: { kind: 'metrics', key: 'acc' }, op: '>', value: 0.9 },
        {
          type: 'and',
          clauses: [
            { type: 'comparison', field: { kind: 'params', key: 'opt' }, op: '=', value: 'adam' },
            {
              type: 'in',
              field: { kind: 'tags', key: 'team' },
              negated: false,
              values: ['ml', 'cv'],
            },
          ],
        },
      ],
    });
  });

  it('reads backticked keys, doubled quotes, negative and exponent numbers', () => {
    expect(parseFilter("tags.`a ``b`` c` = 'it''s'")).toEqual({
      type: 'comparison',
      field: { kind: 'tags', key: 'a `b` c' },
      op: '=',
      value: "it's",
    });
    expect(parseFilter('metrics.train/loss:x >= -1.5e-3')).toMatchObject({
      field: { key: 'train/loss:x' },
      value: -1.5e-3,
    });
    expect(parseFilter('metrics.a<.5')).toMatchObject({ op: '<', value: 0.5 });
    expect(parseFilter('metrics.a = -0')).toMatchObject({ value: 0 });
    expect(Object.is((parseFilter('metrics.a = -0') as { value: number }).value, 0)).toBe(true);
    expect(parseFilter("params.x NOT IN ('a')")).toMatchObject({ type: 'in', negated: true });
    expect(parseFilter("params.x ilike 'A%'")).toMatchObject({
      type: 'like',
      caseInsensitive: true,
      pattern: 'A%',
    });
  });

  it('an empty or blank filter matches everything', () => {
    expect(parseFilter('')).toBeUndefined();
    expect(parseFilter('  \n ')).toBeUndefined();
    expect(matchesFilter(undefined, run)).toBe(true);
  });

  it('names the 1-based column of the error', () => {
    expect(columnOf('metrics.acc >')).toBe(14);
    expect(columnOf('  metrics.acc = = 1')).toBe(17);
    expect(columnOf("metrics.acc like 'x'")).toBe(13);
    expect(columnOf('tags.team = 1')).toBe(13);
    expect(columnOf('metrics. = 1')).toBe(9);
    expect(columnOf('metrics.`` = 1')).toBe(9);
    expect(columnOf('metrics.`abc = 1')).toBe(17);
    expect(columnOf('attributes.colour = 1')).toBe(1);
    expect(columnOf("attributes.start_time > 'yesterday'")).toBe(25);
    expect(columnOf('metrics.a in ()')).toBe(15);
    expect(columnOf('metrics.a in (1 2)')).toBe(17);
    expect(columnOf('metrics.a not like 1')).toBe(15);
    expect(columnOf('metrics.a = 1)')).toBe(14);
    expect(columnOf('metrics.a = 1x')).toBe(14);
    expect(columnOf('metrics.a ! 1')).toBe(11);
    expect(columnOf('and metrics.a = 1')).toBe(1);
    const error = (() => {
      try {
        parseFilter('metrics.acc >');
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(error?.message).toMatch(/^\[keel\] invalid filter at column 14: expected a value/);
    expect(error?.code).toBe('KEEL_VALIDATION');
  });

  it('refuses filters that are too deep or too long, without overflowing the stack', () => {
    const deep = `${'('.repeat(MAX_FILTER_DEPTH + 1)}metrics.a = 1${')'.repeat(MAX_FILTER_DEPTH + 1)}`;
    expect(() => parseFilter(deep)).toThrow(ValidationError);
    const ok = `${'('.repeat(MAX_FILTER_DEPTH)}metrics.a = 1${')'.repeat(MAX_FILTER_DEPTH)}`;
    expect(parseFilter(ok)).toMatchObject({ type: 'comparison' });
    expect(() => parseFilter('('.repeat(100_000))).toThrow(ValidationError);
    const long = Array.from({ length: 2000 }, (_, i) => `metrics.m${i} = ${i}`).join(' and ');
    expect(() => parseFilter(long)).toThrow(ValidationError);
    const chain = Array.from({ length: 1000 }, (_, i) => `metrics.m = ${i}`).join(' or ');
    expect(parseFilter(chain)).toMatchObject({ type: 'or' });
    expect(() => parseFilter(42 as unknown as string)).toThrow(ValidationError);
  });

  it('tokenizes with columns', () => {
    expect(tokenize("metrics.a>='x'").map((t) => [t.type, t.column])).toEqual([
      ['field', 1],
      ['operator', 10],
      ['string', 12],
      ['end', 15],
    ]);
  });
});

describe('filter evaluation', () => {
  it('compares metrics numerically, with NaN as IEEE-754 and missing keys never matching', () => {
    expect(matches('metrics.acc > 0.5')).toBe(true);
    expect(matches('metrics.acc in (0.8, 0.9)')).toBe(true);
    expect(matches('metrics.nan = 1 or metrics.nan < 1 or metrics.nan >= 1')).toBe(false);
    expect(matches('metrics.nan != 1')).toBe(true);
    expect(matches('metrics.inf > 1e308')).toBe(true);
    expect(matches('metrics.missing != 1')).toBe(false);
    expect(matches('metrics.missing not in (1)')).toBe(false);
  });

  it('compares params by type, a string literal with the string form of a number', () => {
    expect(matches('params.lr = 0.1')).toBe(true);
    expect(matches("params.lr = '0.1'")).toBe(true);
    expect(matches('params.n > 31')).toBe(true);
    expect(matches("params.flag = 'true'")).toBe(true);
    expect(matches('params.flag = 1')).toBe(false);
    expect(matches("params.opt < 'b'")).toBe(true);
    expect(matches('params.opt = 1')).toBe(false);
  });

  it('like and ilike match the whole value, % and _ only as wildcards', () => {
    expect(matches("attributes.name like 'a.b'")).toBe(true);
    expect(matches("attributes.name like 'a_b'")).toBe(true);
    expect(matches("attributes.name like 'a%'")).toBe(true);
    expect(matches("attributes.name like 'A%'")).toBe(false);
    expect(matches("attributes.name ilike 'A%'")).toBe(true);
    expect(matches("attributes.name like 'a'")).toBe(false);
    expect(matches("tags.team like 'm(l'")).toBe(false);
    expect(matches("params.lr like '0.%'")).toBe(true);
    expect(matches("tags.`x.y` like 'it''s'")).toBe(true);
  });

  it('compares times as milliseconds or ISO strings', () => {
    expect(matches(`attributes.start_time = ${Date.parse(run.startTime)}`)).toBe(true);
    expect(matches("attributes.end_time > '2026-01-01T00:30:00Z'")).toBe(true);
    expect(matches("attributes.status in ('completed', 'killed')")).toBe(true);
    expect(matches(`attributes.run_id = '${run.id}'`)).toBe(true);
    expect(
      matchesFilter(parseFilter('attributes.end_time > 0'), {
        ...run,
        endTime: undefined as never,
      }),
    ).toBe(false);
  });
});

describe('orderBy parsing', () => {
  it('parses entries and appends the run id tie-breaker', () => {
    expect(parseOrderBy(['metrics.`a b` DESC', 'params.x'])).toEqual([
      { field: { kind: 'metrics', key: 'a b' }, descending: true },
      { field: { kind: 'params', key: 'x' }, descending: false },
      { field: { kind: 'attributes', key: 'run_id' }, descending: false },
    ]);
    expect(parseOrderBy(undefined).map((k) => [k.field.key, k.descending])).toEqual([
      ['start_time', true],
      ['run_id', true],
    ]);
    expect(() => parseOrderBy(['metrics.a desc desc'])).toThrow(/orderBy\[0\] at column 16/);
  });
});

const keyArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_\-/:]{1,8}$/),
  fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }),
);
const numberArb = fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n));
const stringArb = fc.string({ maxLength: 8, unit: 'binary' });

const fieldArb: fc.Arbitrary<FieldRef> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('metrics', 'params', 'tags') as fc.Arbitrary<FieldRef['kind']>,
    key: keyArb,
  }),
  fc.record({
    kind: fc.constant('attributes') as fc.Arbitrary<FieldRef['kind']>,
    key: fc.constantFrom(...ATTRIBUTE_KEYS),
  }),
);

function valueArb(field: FieldRef): fc.Arbitrary<FilterValue> {
  if (field.kind === 'metrics') return numberArb;
  if (field.kind === 'tags') return stringArb;
  if (field.kind === 'params') return fc.oneof(numberArb, stringArb);
  if (field.key === 'status') return fc.constantFrom(...RUN_STATUSES);
  if (field.key === 'start_time' || field.key === 'end_time') {
    return fc.oneof(
      numberArb,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
  }
  return stringArb;
}

const clauseArb: fc.Arbitrary<FilterExpr> = fieldArb.chain((field) => {
  const options: fc.Arbitrary<FilterExpr>[] = [
    fc.record({
      type: fc.constant('comparison' as const),
      field: fc.constant(field),
      op: fc.constantFrom('=', '!=', '<', '<=', '>', '>=' as const),
      value: valueArb(field),
    }),
    fc.record({
      type: fc.constant('in' as const),
      field: fc.constant(field),
      negated: fc.boolean(),
      values: fc.array(valueArb(field), { minLength: 1, maxLength: 4 }),
    }),
  ];
  const likeable =
    field.kind === 'params' ||
    field.kind === 'tags' ||
    (field.kind === 'attributes' && ['status', 'name', 'run_id'].includes(field.key));
  if (likeable) {
    options.push(
      fc.record({
        type: fc.constant('like' as const),
        field: fc.constant(field),
        caseInsensitive: fc.boolean(),
        pattern: stringArb,
      }),
    );
  }
  return fc.oneof(...options);
});

const { expr: exprArb } = fc.letrec<{ expr: FilterExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    clauseArb,
    fc.record({
      type: fc.constantFrom('and', 'or' as const),
      clauses: fc.array(tie('expr'), { minLength: 2, maxLength: 4 }),
    }) as fc.Arbitrary<FilterExpr>,
  ),
}));

describe('filter properties', () => {
  it('printing an AST and parsing it back gives the same AST', () => {
    fc.assert(
      fc.property(exprArb, (expr) => {
        expect(parseFilter(printFilter(expr))).toEqual(expr);
      }),
      { numRuns: 2000 },
    );
  });

  it('random text never throws anything but ValidationError, and what parses evaluates', () => {
    const soup = fc
      .array(
        fc.constantFrom(
          'metrics.a',
          'params.`b c`',
          'tags.t',
          'attributes.status',
          'attributes.start_time',
          'and',
          'OR',
          'not',
          'in',
          'like',
          'ilike',
          '(',
          ')',
          ',',
          '=',
          '!=',
          '<',
          '<=',
          '>',
          '>=',
          '!',
          "'x'",
          "'%_'",
          "''''",
          '1',
          '-2.5e3',
          '.5',
          '-',
          '`',
          "'",
          'metrics.',
          'foo.bar',
          "'completed'",
          '\u0000',
          'é',
        ),
        { maxLength: 12 },
      )
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(fc.oneof(soup, fc.string({ unit: 'binary', maxLength: 40 })), (text) => {
        try {
          const ast = parseFilter(text);
          matchesFilter(ast, run);
          if (ast) expect(parseFilter(printFilter(ast))).toEqual(ast);
        } catch (error) {
          expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
        }
        try {
          parseOrderBy([text]);
        } catch (error) {
          expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

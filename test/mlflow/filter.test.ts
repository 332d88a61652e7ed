/**
 * MLflow's filter language: the parser reads back every filter printed from random clauses
 * (any quoting, keyword case and spacing), refuses garbage only with MLflow's error, `LIKE`
 * matches as a regular expression would, and a translated filter selects in keel exactly the
 * runs MLflow's own semantics select.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createKeel, type Keel } from '../../src/keel.js';
import { MlflowApiError } from '../../src/mlflow/errors.js';
import {
  likeMatch,
  type MlflowClause,
  parseMlflowFilter,
  parseMlflowOrderBy,
} from '../../src/mlflow/filter.js';
import { mlflowStatus } from '../../src/mlflow/mapping.js';
import { translateRunFilter } from '../../src/mlflow/run-search.js';
import type { Run } from '../../src/tracking/types.js';

const ALIASES = {
  metric: ['metric', 'metrics'],
  parameter: ['param', 'params', 'parameter', 'parameters'],
  tag: ['tag', 'tags'],
  attribute: ['attribute', 'attributes', 'attr', 'run'],
} as const;

const quote = (text: string, q: string) => q + text.replaceAll(q, q + q) + q;
const anyCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const space = fc.constantFrom('', ' ', '  ', '\t', '\n ');
const bareKey = fc.stringMatching(
  /^[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,5}){0,2}$/,
);
const anyKey = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' });
const finite = fc
  .double({ noNaN: true, noDefaultInfinity: true })
  .map((n) => (Object.is(n, -0) ? 0 : n));

/** A clause and one way of writing it. */
const clause: fc.Arbitrary<[MlflowClause, fc.Arbitrary<string>]> = fc
  .record({
    entity: fc.constantFrom('metric', 'parameter', 'tag', 'attribute') as fc.Arbitrary<
      keyof typeof ALIASES
    >,
    key: fc.oneof(bareKey, anyKey),
    numeric: fc.boolean(),
    comparator: fc.constantFrom('=', '!=', '<', '<=', '>', '>=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'),
    number: finite,
    text: fc.string({ maxLength: 10, unit: 'grapheme' }),
    list: fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  })
  .map((r) => {
    const isList = r.comparator === 'IN' || r.comparator === 'NOT IN';
    const value = isList ? r.list : r.numeric ? r.number : r.text;
    const c: MlflowClause = {
      entity: r.entity,
      key: r.key,
      comparator: r.comparator as MlflowClause['comparator'],
      value,
    };
    const bare = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(r.key);
    const written = fc
      .record({
        alias: fc.constantFrom(...ALIASES[r.entity]),
        keyQuote: bare ? fc.constantFrom('', '"', '`', "'") : fc.constantFrom('"', '`', "'"),
        valueQuote: fc.constantFrom("'", '"'),
        op:
          r.comparator === 'NOT IN'
            ? fc.tuple(anyCase('not'), anyCase('in')).map(([n, i]) => `${n} ${i}`)
            : /^[A-Z]/.test(r.comparator)
              ? anyCase(r.comparator)
              : fc.constant(r.comparator),
        s1: space,
        s2: space,
      })
      .map(({ alias, keyQuote, valueQuote, op, s1, s2 }) => {
        const key = keyQuote === '' ? r.key : quote(r.key, keyQuote);
        const v = isList
          ? `(${r.list.map((x) => quote(x, valueQuote)).join(', ')})`
          : typeof value === 'number'
            ? String(value)
            : quote(value as string, valueQuote);
        const word = /^[A-Za-z]/.test(op);
        return `${alias}.${key}${word ? ' ' : s1}${op}${word ? ' ' : s2}${v}`;
      });
    return [c, written] as [MlflowClause, fc.Arbitrary<string>];
  });

const filter = fc.array(clause, { maxLength: 4 }).chain((clauses) =>
  fc
    .tuple(
      ...clauses.map(([, w]) => w),
      fc.array(anyCase('and'), { minLength: clauses.length, maxLength: clauses.length }),
      space,
    )
    .map((parts) => {
      const texts = parts.slice(0, clauses.length) as string[];
      const ands = parts[clauses.length] as string[];
      const text = texts.map((t, i) => (i === 0 ? t : ` ${ands[i]} ${t}`)).join('');
      return { clauses: clauses.map(([c]) => c), text: `${parts[clauses.length + 1]}${text}` };
    }),
);

describe('parseMlflowFilter', () => {
  it('reads back every filter printed from clauses', () => {
    fc.assert(
      fc.property(filter, ({ clauses, text }) => {
        expect(parseMlflowFilter(text)).toEqual(clauses);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses anything else with INVALID_PARAMETER_VALUE, never another error', () => {
    const pieces = fc.constantFrom(
      'metrics.',
      'params.a',
      'tags."x"',
      '=',
      '!=',
      '<>',
      '>',
      ' and ',
      ' or ',
      ' LIKE ',
      ' not ',
      ' in ',
      '(',
      ')',
      ',',
      "'v'",
      '"v',
      '`k`',
      '1.5',
      '-',
      '.',
      'status',
      ' ',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')),
        ),
        (text) => {
          try {
            parseMlflowFilter(text);
          } catch (error) {
            expect(error).toBeInstanceOf(MlflowApiError);
            expect((error as MlflowApiError).code).toBe('INVALID_PARAMETER_VALUE');
          }
        },
      ),
      { numRuns: 2000 },
    );
    for (const bad of [
      'metrics.a > 1 or metrics.b < 2',
      'metrics.a <> 1',
      'x.a = 1',
      "tags.a = 'x' and",
      'metrics.a > 1e999',
    ]) {
      expect(() => parseMlflowFilter(bad), bad).toThrow(MlflowApiError);
    }
    expect(() => parseMlflowFilter('x'.repeat(20_001))).toThrow(/longer than/);
  });

  it('reads order_by entries', () => {
    expect(parseMlflowOrderBy('metrics.`val loss` DESC')).toEqual({
      entity: 'metric',
      key: 'val loss',
      descending: true,
    });
    expect(parseMlflowOrderBy('start_time')).toEqual({
      entity: 'attribute',
      key: 'start_time',
      descending: false,
    });
    expect(parseMlflowOrderBy('tags.mlflow.runName asc')).toEqual({
      entity: 'tag',
      key: 'mlflow.runName',
      descending: false,
    });
    for (const bad of ['metrics.a sideways', '', 'metrics.a desc extra', 'x.y'])
      expect(() => parseMlflowOrderBy(bad), bad).toThrow(MlflowApiError);
  });
});

describe('likeMatch', () => {
  it('matches as the regular expression MLflow builds from the pattern', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', 'A', '%', '_'), maxLength: 8 });
    fc.assert(
      fc.property(text, text, fc.boolean(), (value, pattern, ignoreCase) => {
        const source = `^${[...pattern].map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c)).join('')}$`;
        const expected = new RegExp(source, ignoreCase ? 'isu' : 'su').test(value);
        expect(likeMatch(value, pattern, ignoreCase)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('translateRunFilter', () => {
  let keel: Keel;
  const runs: Run[] = [];
  beforeAll(async () => {
    keel = createKeel({ backend: memoryBackend() });
    const specs: [
      Record<string, string>,
      Record<string, string>,
      Record<string, number>,
      'completed' | 'failed' | undefined,
    ][] = [
      [{ lr: '0.1', opt: 'adam' }, { team: 'a' }, { acc: 0.9, loss: 0.1 }, 'completed'],
      [{ lr: '0.01', opt: 'AdamW' }, { team: 'b' }, { acc: 0.5, loss: Number.NaN }, 'failed'],
      [{ lr: '0.1' }, {}, { acc: Number.POSITIVE_INFINITY }, undefined],
      [{ opt: 'sgd' }, { team: 'a', 'mlflow.user': 'ana' }, { loss: -1 }, 'completed'],
      [{}, {}, {}, undefined],
    ];
    for (const [params, tags, metrics, end] of specs) {
      const run = await keel.tracker.startRun({ experiment: 'p', params, tags });
      for (const [k, v] of Object.entries(metrics)) run.logMetric(k, v, { step: 0, timestamp: 1 });
      await run.flush();
      if (end) await run.end(end);
      runs.push(await keel.tracker.getRun(run.id));
    }
  });
  afterAll(async () => {
    await keel.close();
  });

  /** MLflow's meaning of a clause (SearchUtils), on a keel run. */
  function mlflowMatches(run: Run, c: MlflowClause): boolean {
    let lhs: string | number | undefined;
    if (c.entity === 'metric') lhs = run.metrics[c.key]?.value;
    else if (c.entity === 'parameter')
      lhs = Object.hasOwn(run.params, c.key) ? String(run.params[c.key]) : undefined;
    else if (c.entity === 'tag') lhs = Object.hasOwn(run.tags, c.key) ? run.tags[c.key] : undefined;
    else lhs = mlflowStatus(run.status);
    if (lhs === undefined) return false;
    const v = c.value;
    switch (c.comparator) {
      case 'IN':
        return (v as string[]).includes(lhs as string);
      case 'NOT IN':
        return !(v as string[]).includes(lhs as string);
      case 'LIKE':
        return likeMatch(String(lhs), v as string, false);
      case 'ILIKE':
        return likeMatch(String(lhs), v as string, true);
      case '=':
        return lhs === v;
      case '!=':
        return lhs !== v;
      case '<':
        return lhs < v;
      case '<=':
        return lhs <= v;
      case '>':
        return lhs > v;
      default:
        return lhs >= v;
    }
  }

  const runClause: fc.Arbitrary<MlflowClause> = fc.oneof(
    fc.record({
      entity: fc.constant('metric' as const),
      key: fc.constantFrom('acc', 'loss', 'none'),
      comparator: fc.constantFrom('=', '!=', '<', '<=', '>', '>=' as const),
      value: fc.constantFrom(0.9, 0.5, 0.1, -1, 0, 1e308),
    }),
    fc.record({
      entity: fc.constantFrom('parameter' as const, 'tag' as const),
      key: fc.constantFrom('lr', 'opt', 'team', 'mlflow.user', 'none'),
      comparator: fc.constantFrom('=', '!=', 'LIKE', 'ILIKE' as const),
      value: fc.constantFrom(
        '0.1',
        '0.01',
        'adam',
        'ADAM%',
        'adam%',
        '%a%',
        '_',
        'a',
        'b',
        'ana',
        '',
      ),
    }),
    fc.record({
      entity: fc.constant('attribute' as const),
      key: fc.constant('status'),
      comparator: fc.constantFrom('=', '!=', 'LIKE', 'ILIKE' as const),
      value: fc.constantFrom(
        'RUNNING',
        'FINISHED',
        'FAILED',
        'KILLED',
        'SCHEDULED',
        'F%',
        '%ING',
        'finished',
      ),
    }),
    fc.record({
      entity: fc.constant('attribute' as const),
      key: fc.constant('status'),
      comparator: fc.constantFrom('IN', 'NOT IN' as const),
      value: fc.subarray(['RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'SCHEDULED']),
    }),
  ) as fc.Arbitrary<MlflowClause>;

  const print = (c: MlflowClause): string => {
    const prefix = {
      metric: 'metrics',
      parameter: 'params',
      tag: 'tags',
      attribute: 'attributes',
      dataset: 'dataset',
    }[c.entity];
    const v = Array.isArray(c.value)
      ? `(${c.value.map((x) => quote(x, "'")).join(', ')})`
      : typeof c.value === 'number'
        ? String(c.value)
        : quote(c.value as string, "'");
    return `${prefix}.${quote(c.key, '`')} ${c.comparator} ${v}`;
  };

  it('selects in keel exactly the runs MLflow’s semantics select', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(runClause, { minLength: 1, maxLength: 3 }), async (clauses) => {
        // an empty IN list is not MLflow syntax
        fc.pre(clauses.every((c) => !Array.isArray(c.value) || c.value.length > 0));
        const text = clauses.map(print).join(' AND ');
        const { runs: found } = await keel.tracker.searchRuns({
          experiment: 'p',
          filter: translateRunFilter(text),
          limit: 100,
        });
        const expected = runs
          .filter((r) => clauses.every((c) => mlflowMatches(r, c)))
          .map((r) => r.id);
        expect(found.map((r) => r.id).sort(), text).toEqual(expected.sort());
      }),
      { numRuns: 400 },
    );
  });
});

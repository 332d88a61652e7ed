/**
 * searchRuns pushed down to PostgreSQL (ADR 0020) returns exactly what the in-process search
 * returns: random filters and orders over random runs (NaN and infinite metrics, numeric and
 * boolean params, strings beyond U+FFFF and in U+E000–U+FFFF, missing values, time ties), run
 * once against a memory store and once as a store query on a copy of it in PostgreSQL, page
 * by page. Plus the store query itself: hostile paths and literals stay data, bad queries are
 * refused, and a query the server cannot run falls back to the cache.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { copyBackend } from '../../src/backends/copy.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import type { PostgresMetadataStore } from '../../src/postgres.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import type { FieldRef, FilterExpr, FilterValue } from '../../src/tracking/filter/ast.js';
import { printField, printFilter } from '../../src/tracking/filter/print.js';
import { createTracker } from '../../src/tracking/tracker.js';
import type { SearchRunsQuery, SearchRunsResult, Tracker } from '../../src/tracking/types.js';
import { describePg, freshStore } from './helpers.js';

const STRINGS = [
  'a',
  'ab',
  'B',
  '',
  ' 5',
  '5',
  '0x10',
  '1e3',
  '-0',
  'true',
  'NaN',
  'zoë',
  '\uE000x',
  '\uFFFF',
  '\u{1F600}',
  'a\u{1F600}b',
  'ｆｕｌｌ',
  "it's",
  '%_',
  '2026-03-01T00:00:00.000Z',
];
const NUMBERS = [0, -0, 1, -1, 0.5, 5, 16, 1000, -2.5, 1e-7, 1e21];
const METRIC_VALUES = [...NUMBERS, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
const PATTERNS = ['%', '_', 'a%', '%b', '%\u{1F600}%', 'a_b', '\uE000%', '%ü%', '%5', '_%_'];

const runArb = fc.record({
  advance: fc.constantFrom(0, 0, 1, 1000, 86_400_000),
  experiment: fc.constantFrom('e1', 'e2'),
  name: fc.option(fc.constantFrom(...STRINGS.filter((s) => s !== '' && s.trim() === s)), {
    nil: undefined,
  }),
  p1: fc.option(fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.boolean()), {
    nil: undefined,
  }),
  p2: fc.option(fc.constantFrom(...NUMBERS), { nil: undefined }),
  t1: fc.option(fc.constantFrom(...STRINGS), { nil: undefined }),
  m1: fc.option(fc.constantFrom(...METRIC_VALUES), { nil: undefined }),
  m2: fc.option(fc.constantFrom(...METRIC_VALUES), { nil: undefined }),
  end: fc.constantFrom('running', 'completed', 'failed', 'killed') as fc.Arbitrary<
    'running' | 'completed' | 'failed' | 'killed'
  >,
  child: fc.boolean(),
});

const FIELDS: FieldRef[] = [
  { kind: 'metrics', key: 'm1' },
  { kind: 'metrics', key: 'm2' },
  { kind: 'params', key: 'p1' },
  { kind: 'params', key: 'p2' },
  { kind: 'tags', key: 't1' },
  { kind: 'attributes', key: 'status' },
  { kind: 'attributes', key: 'name' },
  { kind: 'attributes', key: 'start_time' },
  { kind: 'attributes', key: 'end_time' },
  { kind: 'attributes', key: 'parent_run_id' },
  { kind: 'attributes', key: 'run_id' },
];

const literalArb: fc.Arbitrary<FilterValue> = fc.oneof(
  fc.constantFrom(...STRINGS),
  fc.constantFrom(...NUMBERS.filter((n) => !Object.is(n, -0))),
  fc.constantFrom(
    '2026-03-01T00:00:01.000Z',
    '2026-03-02',
    'not a date',
    'completed',
    'running',
    Date.parse('2026-03-01T00:00:01.000Z'),
    Date.parse('2026-03-01T00:00:00.500Z') + 0.5,
  ),
);
const fieldArb = fc.constantFrom(...FIELDS);
const leafArb: fc.Arbitrary<FilterExpr> = fc.oneof(
  fc.record({
    type: fc.constant('comparison' as const),
    field: fieldArb,
    op: fc.constantFrom('=', '!=', '<', '<=', '>', '>=' as const),
    value: literalArb,
  }),
  fc.record({
    type: fc.constant('like' as const),
    field: fieldArb,
    caseInsensitive: fc.boolean(),
    pattern: fc.constantFrom(...PATTERNS),
  }),
  fc.record({
    type: fc.constant('in' as const),
    field: fieldArb,
    negated: fc.boolean(),
    values: fc.array(literalArb, { minLength: 1, maxLength: 3 }),
  }),
);
const filterArb: fc.Arbitrary<FilterExpr> = fc.letrec<{ expr: FilterExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.record({
      type: fc.constantFrom('and' as const, 'or' as const),
      clauses: fc.array(tie('expr'), { minLength: 2, maxLength: 3 }),
    }) as fc.Arbitrary<FilterExpr>,
  ),
})).expr;
const queryArb = fc.record({
  filter: fc.option(filterArb, { nil: undefined }),
  orderBy: fc.option(
    fc.array(
      fc
        .record({ field: fieldArb, desc: fc.boolean() })
        .map(({ field, desc }) => `${printField(field)} ${desc ? 'desc' : 'asc'}`),
      { minLength: 1, maxLength: 3 },
    ),
    { nil: undefined },
  ),
  experiment: fc.option(fc.constantFrom('e1', 'e2'), { nil: undefined }),
  limit: fc.constantFrom(1, 3, 10, 50),
});

let memory: Tracker;
let pg: PostgresMetadataStore;
const artifacts = createMemoryArtifactStore();

beforeAll(async () => {
  const source = memoryBackend();
  const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
  const writer = createTracker({ ...source, clock });
  const ids: string[] = [];
  for (const r of fc.sample(runArb, { numRuns: 160, seed: 13 })) {
    clock.advance(r.advance);
    const run = await writer.startRun({
      experiment: r.experiment,
      ...(r.name === undefined ? {} : { name: r.name }),
      ...(r.child && ids.length > 0 ? { parentRunId: ids[ids.length >> 1]! } : {}),
      params: {
        ...(r.p1 === undefined ? {} : { p1: r.p1 }),
        ...(r.p2 === undefined ? {} : { p2: r.p2 }),
      },
      tags: r.t1 === undefined ? {} : { t1: r.t1 },
    });
    if (r.m1 !== undefined) run.logMetric('m1', r.m1);
    if (r.m2 !== undefined) run.logMetric('m2', r.m2);
    if (r.end !== 'running') {
      clock.advance(r.advance);
      await run.end(r.end);
    } else await run.flush();
    ids.push(run.id);
  }
  await writer.close();
  memory = createTracker({ ...source, clock });
  pg = freshStore('pushdown');
  await copyBackend(source, { metadata: pg, artifacts });
});

afterAll(async () => {
  await pg?.close();
});

/** A tracker on the PostgreSQL copy whose search cache is never loaded: every search is pushed down. */
function pushedTracker(): { tracker: Tracker; queries: () => number } {
  let queries = 0;
  const metadata: MetadataStore = {
    ...pg,
    capabilities: pg.capabilities,
    queryDocuments: (query) => {
      queries++;
      return pg.queryDocuments(query);
    },
  };
  return {
    tracker: createTracker({ metadata, artifacts, searchPushDown: true }),
    queries: () => queries,
  };
}

async function pages(
  tracker: Tracker,
  query: SearchRunsQuery,
  most = 3,
): Promise<SearchRunsResult[]> {
  const out: SearchRunsResult[] = [];
  let cursor: string | undefined;
  do {
    const result = await tracker.searchRuns({ ...query, ...(cursor ? { cursor } : {}) });
    out.push(result);
    cursor = result.nextCursor;
  } while (cursor !== undefined && out.length < most);
  return out;
}

describePg('searchRuns pushed down to PostgreSQL', () => {
  it('returns the same pages as the in-process search, for random filters and orders', async () => {
    let pushed = 0;
    await fc.assert(
      fc.asyncProperty(queryArb, async ({ filter, orderBy, experiment, limit }) => {
        const query: SearchRunsQuery = {
          limit,
          ...(filter === undefined ? {} : { filter: printFilter(filter) }),
          ...(orderBy === undefined ? {} : { orderBy }),
          ...(experiment === undefined ? {} : { experiment }),
        };
        const { tracker, queries } = pushedTracker();
        const expected = await pages(memory, query).catch((e: Error) => e);
        if (expected instanceof Error) {
          // a filter the language refuses (e.g. like on a metric) is refused the same way
          await expect(pages(tracker, query)).rejects.toThrow(expected.message);
          return;
        }
        const actual = await pages(tracker, query);
        pushed += queries();
        expect(actual.map((p) => p.runs.map((r) => r.id))).toEqual(
          expected.map((p) => p.runs.map((r) => r.id)),
        );
        expect(actual).toEqual(expected);
      }),
      { numRuns: 300, seed: 2020 },
    );
    expect(pushed).toBeGreaterThan(150);
  }, 300_000);

  it('keeps the default order (newest first, run id) and counts matches across pages', async () => {
    const { tracker, queries } = pushedTracker();
    const all = await pages(memory, { limit: 1000 });
    expect(all[0]!.runs.length).toBe(160);
    expect(await pages(tracker, { limit: 1000 })).toEqual(all);
    expect(queries()).toBe(1);
    // every field in both directions: strings by UTF-16 code units (U+1F600 before U+E000),
    // NaN after numbers, missing last, numbers before strings before booleans
    for (const field of FIELDS) {
      for (const direction of ['asc', 'desc']) {
        // small pages: the database's order decides which runs make each page
        const query = { limit: 12, orderBy: [`${printField(field)} ${direction}`] };
        expect(await pages(tracker, query, 30), query.orderBy[0]).toEqual(
          await pages(memory, query, 30),
        );
      }
    }
  });

  it('keeps paths and literals as data: quotes, SQL and __proto__ match nothing and break nothing', async () => {
    const { tracker } = pushedTracker();
    for (const filter of [
      "params.`'; DROP TABLE documents; --` = 'x'",
      "tags.`__proto__` = ''' OR 1=1 --'",
      "attributes.name like '%'' OR ''1''=''1'",
      'metrics.`a"b` > 0',
    ]) {
      expect((await tracker.searchRuns({ filter })).runs).toEqual([]);
    }
    expect((await pg.queryDocuments({ prefix: '', limit: 1 })).length).toBe(1);
  });

  it('is off unless asked for, and the option is checked', async () => {
    let queries = 0;
    const metadata: MetadataStore = {
      ...pg,
      capabilities: pg.capabilities,
      queryDocuments: (query) => {
        queries++;
        return pg.queryDocuments(query);
      },
    };
    const tracker = createTracker({ metadata, artifacts });
    expect((await tracker.searchRuns({ limit: 5 })).runs.length).toBe(5);
    expect(queries).toBe(0);
    expect(() =>
      createTracker({ metadata, artifacts, searchPushDown: 'yes' as unknown as boolean }),
    ).toThrow(expect.objectContaining({ code: 'KEEL_VALIDATION' }));
  });

  it('refuses malformed queries with ValidationError', async () => {
    for (const query of [
      { prefix: '', limit: 0 },
      { prefix: '', limit: 10_001 },
      { prefix: '', limit: 1, offset: -1 },
      {
        prefix: '',
        limit: 1,
        where: { term: { path: ['a'], type: 'string' }, op: '~', value: 'x' },
      },
      {
        prefix: '',
        limit: 1,
        where: { term: { path: ['a'], type: 'number' }, op: '=', value: 'x' },
      },
      {
        prefix: '',
        limit: 1,
        where: { term: { path: ['a'], type: 'boolean' }, op: '<', value: true },
      },
      { prefix: '', limit: 1, where: { term: { path: [], type: 'string' }, exists: true } },
      { prefix: '', limit: 1, where: { term: { path: ['a'], type: 'json' }, exists: true } },
      { prefix: '', limit: 1, where: { term: { path: ['a'], type: 'number' }, like: '%' } },
      { prefix: '', limit: 1, where: { term: { path: ['\uD800'], type: 'string' }, exists: true } },
      { prefix: '', limit: 1, orderBy: [{ terms: [] }] },
    ]) {
      const error = await pg.queryDocuments(query as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isKeelError(error, 'KEEL_VALIDATION'), JSON.stringify(query)).toBe(true);
    }
  });

  it('falls back to the cache when the server cannot run the query', async () => {
    // \u0000 is valid JSON but no PostgreSQL text: reading this tag fails the statement
    const schemaStore = freshStore('pushdown_nul');
    try {
      const writer = createTracker({ metadata: schemaStore, artifacts });
      const run = await writer.startRun({ experiment: 'x', tags: { t: 'a\u0000b' } });
      await run.end();
      await writer.close();
      const reader = createTracker({ metadata: schemaStore, artifacts, searchPushDown: true });
      const { runs } = await reader.searchRuns({ filter: "tags.t like 'a%'" });
      expect(runs.map((r) => r.id)).toEqual([run.id]);
    } finally {
      await schemaStore.close();
    }
  });
});

import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/backends/postgres/migrations.js';
import { prefixUpperBound, statementsFor } from '../../src/backends/postgres/sql.js';
import { ErrorCodes, isKeelError } from '../../src/core/errors.js';
import { compareKeys } from '../../src/metadata/keys.js';
import type { DocumentChange } from '../../src/metadata/types.js';
import { createPostgresMetadataStore, SCHEMA_VERSION } from '../../src/postgres.js';
import { collect } from '../../src/testing/assert.js';
import { adminQuery, describePg, freshSchema, freshStore, PG_URL } from './helpers.js';

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('prefixUpperBound', () => {
  it('bounds exactly the keys that start with the prefix, in code point order', () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom('a', '/', '\uD7FF', '\uE000', '\uFFFF', '\u{10FFFF}'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      maxLength: 5,
    });
    fc.assert(
      fc.property(text, text, (prefix, rest) => {
        for (const key of [prefix + rest, rest, `${prefix.slice(0, -1)}${rest}`]) {
          const upper = prefixUpperBound(prefix);
          const inRange =
            compareKeys(key, prefix) >= 0 && (upper === undefined || compareKeys(key, upper) < 0);
          expect(inRange).toBe(key.startsWith(prefix));
        }
      }),
      { numRuns: 2000 },
    );
    expect(prefixUpperBound('')).toBeUndefined();
    expect(prefixUpperBound('runs/')).toBe('runs0');
    expect(prefixUpperBound('a\uD7FF')).toBe('a\uE000');
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b');
  });
});

describe('createPostgresMetadataStore input', () => {
  it('refuses a missing or double connection, bad schemas and unknown options', () => {
    const bad: [unknown, unknown][] = [
      [{}, undefined],
      [{ connectionString: '' }, undefined],
      [{ connectionString: PG_URL, pool: { connect: () => {}, end: () => {} } }, undefined],
      [{ connectionString: PG_URL }, { schema: 'Bad-Name' }],
      [{ connectionString: PG_URL }, { schema: 'a; DROP TABLE x' }],
      [{ connectionString: PG_URL, schema: 'a' }, { schema: 'b' }],
      [{ connectionString: PG_URL }, { statementTimeoutMs: -1 }],
      [{ connectionString: PG_URL }, { unknown: true }],
    ];
    for (const [connection, options] of bad) {
      let thrown: unknown;
      try {
        createPostgresMetadataStore(connection as never, options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isKeelError(thrown, ErrorCodes.validation), JSON.stringify(connection)).toBe(true);
    }
  });
});

describePg('PostgreSQL MetadataStore', () => {
  describe('atomic batch', () => {
    it('applies puts, deletes and appends together and reports each in the given order', async () => {
      const store = freshStore('batch');
      try {
        const { revision } = await store.put('b/cas', 1);
        await store.put('b/gone', 'x');
        await store.append('b/log', ['e0']);
        const results = await store.batch!([
          { op: 'append', log: 'b/log', entries: ['e1', 'e2'], expectedOffset: 1 },
          { op: 'put', key: 'b/new', value: { n: 1 }, ifRevision: null },
          { op: 'put', key: 'b/cas', value: 2, ifRevision: revision },
          { op: 'delete', key: 'b/gone' },
          { op: 'delete', key: 'b/never' },
          { op: 'append', log: 'b/fresh', entries: [{ first: true }], expectedOffset: 0 },
          { op: 'put', key: 'b/any', value: [1, 'two'] },
        ]);
        expect(results.map((r) => r.op)).toEqual([
          'append',
          'put',
          'put',
          'delete',
          'delete',
          'append',
          'put',
        ]);
        expect(results[0]).toEqual({ op: 'append', log: 'b/log', offset: 1 });
        expect(results[3]).toEqual({ op: 'delete', key: 'b/gone', deleted: true });
        expect(results[4]).toEqual({ op: 'delete', key: 'b/never', deleted: false });
        expect(results[5]).toEqual({ op: 'append', log: 'b/fresh', offset: 0 });
        const cas = await store.get('b/cas');
        expect(cas).toEqual({ value: 2, revision: (results[2] as { revision: string }).revision });
        expect((await store.get('b/new'))?.value).toEqual({ n: 1 });
        expect((await store.get('b/any'))?.value).toEqual([1, 'two']);
        expect(await store.get('b/gone')).toBeUndefined();
        expect((await collect(store.read('b/log'))).map((r) => r.entry)).toEqual([
          'e0',
          'e1',
          'e2',
        ]);
        expect(await collect(store.read('b/fresh'))).toEqual([
          { offset: 0, entry: { first: true } },
        ]);
      } finally {
        await store.close();
      }
    });

    it('writes nothing when one condition fails, and says which', async () => {
      const store = freshStore('batch');
      try {
        const { revision } = await store.put('c/doc', 'v1');
        await store.put('c/doc', 'v2');
        await store.append('c/log', ['a', 'b']);
        const attempts: Parameters<NonNullable<typeof store.batch>>[0][] = [
          [
            { op: 'put', key: 'c/other', value: 1 },
            { op: 'put', key: 'c/doc', value: 'v3', ifRevision: revision },
          ],
          [
            { op: 'put', key: 'c/other', value: 1 },
            { op: 'put', key: 'c/doc', value: 'v3', ifRevision: null },
          ],
          [
            { op: 'delete', key: 'c/doc', ifRevision: revision },
            { op: 'append', log: 'c/log2', entries: [1] },
          ],
          [
            { op: 'put', key: 'c/other', value: 1 },
            { op: 'append', log: 'c/log', entries: ['c'], expectedOffset: 1 },
          ],
          [
            { op: 'put', key: 'c/other', value: 1 },
            { op: 'append', log: 'c/missing', entries: ['c'], expectedOffset: 3 },
          ],
        ];
        for (const [index, ops] of attempts.entries()) {
          const error = await errorOf(store.batch!(ops));
          expect(isKeelError(error, ErrorCodes.conflict), `attempt ${index}: ${error}`).toBe(true);
          expect((error as Error).message).toMatch(/c\/(doc|log|missing)/);
        }
        expect((await store.get('c/doc'))?.value).toBe('v2');
        expect(await store.get('c/other')).toBeUndefined();
        expect(await collect(store.read('c/log2'))).toEqual([]);
        expect(await collect(store.read('c/missing'))).toEqual([]);
        expect((await collect(store.read('c/log'))).length).toBe(2);
        // A log created and rolled back leaves no trace: offset 0 is still free.
        expect(await store.append('c/missing', ['first'])).toEqual({ offset: 0 });
        const twice = await errorOf(
          store.batch!([
            { op: 'put', key: 'c/x', value: 1 },
            { op: 'delete', key: 'c/x' },
          ]),
        );
        expect(isKeelError(twice, ErrorCodes.validation)).toBe(true);
      } finally {
        await store.close();
      }
    });

    it('lets exactly one of many concurrent batches claim the same log offset', async () => {
      const schema = freshSchema('race');
      const stores = [0, 1, 2, 3].map(() =>
        createPostgresMetadataStore({ connectionString: PG_URL, schema }),
      );
      try {
        await stores[0]!.append('r/log', ['genesis']);
        const outcomes = await Promise.allSettled(
          stores.flatMap((store, s) =>
            [0, 1, 2].map((i) =>
              store.batch!([
                { op: 'put', key: `r/doc/${s}/${i}`, value: i },
                { op: 'append', log: 'r/log', entries: [`${s}/${i}`], expectedOffset: 1 },
              ]),
            ),
          ),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected')
            expect(isKeelError(outcome.reason, ErrorCodes.conflict)).toBe(true);
        }
        expect(await collect(stores[0]!.list('r/doc/'))).toHaveLength(1);
        expect((await collect(stores[0]!.read('r/log'))).map((r) => r.offset)).toEqual([0, 1]);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
  });

  describe('watch', () => {
    it('tells watchers in another process-like store about writes under their prefix', async () => {
      const schema = freshSchema('watch');
      const writer = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      const reader = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      try {
        await writer.put('setup', 1); // creates the schema
        const seen: DocumentChange[] = [];
        const stop = reader.watch!('models/', (change) => seen.push(change));
        // On connecting, a watcher hears once that anything under its prefix may have changed.
        await until(() => seen.length === 1, 'the connect signal');
        expect(seen[0]).toEqual({ key: 'models/' });
        await writer.put('other/a', 1);
        await writer.put('models/churn', { v: 1 });
        const { revision } = await writer.put('models/churn/aliases', { prod: 1 });
        await writer.delete('models/churn/aliases', { ifRevision: revision });
        await errorOf(
          writer.batch!([
            { op: 'put', key: 'models/rolled-back', value: 1 },
            { op: 'put', key: 'setup', value: 2, ifRevision: null },
          ]),
        );
        await writer.batch!([{ op: 'put', key: 'models/batched', value: 1 }]);
        await until(() => seen.length === 5, 'four changes');
        expect(seen.slice(1).map((c) => c.key)).toEqual([
          'models/churn',
          'models/churn/aliases',
          'models/churn/aliases',
          'models/batched',
        ]);
        stop();
        await writer.put('models/after-stop', 1);
        const marker: string[] = [];
        const stopMarker = reader.watch!('marker', (c) => marker.push(c.key));
        await until(() => marker.length >= 1, 'the second watcher');
        await writer.put('marker', 1);
        await until(() => marker.includes('marker'), 'the marker');
        stopMarker();
        expect(seen.map((c) => c.key)).not.toContain('models/after-stop');
      } finally {
        await Promise.all([writer.close(), reader.close()]);
      }
    });

    it('survives a listener that throws and reconnects after its connection is killed', async () => {
      const schema = freshSchema('watch');
      const store = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      try {
        await store.put('setup', 1);
        const seen: string[] = [];
        store.watch!('k/', () => {
          throw new Error('listener bug');
        });
        store.watch!('k/', (change) => seen.push(change.key));
        await until(() => seen.length === 1, 'connect');
        await store.put('k/1', 1);
        await until(() => seen.includes('k/1'), 'k/1');
        // The listening connection records its prefixes under its own pid.
        const killed = await adminQuery(
          `SELECT pg_terminate_backend(pid) AS done FROM "${schema}".watched`,
        );
        expect(killed).toEqual([{ done: true }]);
        // After the reconnect, the watcher hears "anything may have changed" once more.
        await until(() => seen.filter((k) => k === 'k/').length === 2, 'the reconnect signal');
        await store.put('k/2', 1);
        await until(() => seen.includes('k/2'), 'k/2');
      } finally {
        await store.close();
      }
    });
  });

  it('lists log names by prefix in code point order, with after and limit', async () => {
    const store = freshStore('logs');
    try {
      for (const log of [
        'runs/b/metrics',
        'runs/a/metrics',
        'runs/\u{1F600}',
        'runs/\uFFFD',
        'audit',
        'runsx',
      ])
        await store.append(log, [1]);
      // a rolled-back batch creates no log
      await errorOf(
        store.batch!([
          { op: 'append', log: 'runs/ghost', entries: [1] },
          { op: 'append', log: 'audit', entries: [2], expectedOffset: 5 },
        ]),
      );
      expect(await collect(store.listLogs('runs/'))).toEqual([
        'runs/a/metrics',
        'runs/b/metrics',
        'runs/\uFFFD',
        'runs/\u{1F600}',
      ]);
      expect(await collect(store.listLogs('runs/', { after: 'runs/a/metrics', limit: 2 }))).toEqual(
        ['runs/b/metrics', 'runs/\uFFFD'],
      );
      expect((await collect(store.listLogs(''))).length).toBe(6);
      expect(
        isKeelError(
          await errorOf(collect(store.listLogs('', { limit: 0 }))),
          ErrorCodes.validation,
        ),
      ).toBe(true);
    } finally {
      await store.close();
    }
  });

  describe('list uses the primary key index', () => {
    const schema = freshSchema('explain');
    let store: ReturnType<typeof createPostgresMetadataStore>;
    beforeAll(async () => {
      store = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      await store.migrate();
      await adminQuery(
        `INSERT INTO "${schema}".documents (key, revision, value)
         SELECT 'runs/' || lpad(i::text, 6, '0'), i, '{}'::json FROM generate_series(1, 20000) AS i`,
      );
      await adminQuery(`ANALYZE "${schema}".documents`);
    });
    afterAll(() => store.close());

    it('as one range scan in key order, without a sort or a sequential scan', async () => {
      const sql = statementsFor(schema);
      const plans = [
        [sql.list('>=', true), ['runs/0001', prefixUpperBound('runs/0001'), 1000]],
        [sql.list('>', true), ['runs/000150', prefixUpperBound('runs/'), 100]],
        [sql.list('>', false), ['runs/019990', 1000]],
      ] as const;
      for (const [text, params] of plans) {
        const rows = await adminQuery<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, [
          ...params,
        ]);
        const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
        expect(plan, plan).toMatch(/"Node Type":"Index (Only )?Scan"/);
        expect(plan).toContain('"Index Name":"documents_pkey"');
        expect(plan).not.toContain('Seq Scan');
        expect(plan).not.toContain('"Node Type":"Sort"');
      }
      const page = await collect(store.list('runs/0001', { after: 'runs/000150', limit: 5 }));
      expect(page.map((d) => d.key)).toEqual([
        'runs/000151',
        'runs/000152',
        'runs/000153',
        'runs/000154',
        'runs/000155',
      ]);
      // Listings longer than a page come back whole and in order.
      const all = await collect(store.list('runs/01'));
      expect(all).toHaveLength(10000);
      expect(all[0]!.key).toBe('runs/010000');
      expect(all.at(-1)!.key).toBe('runs/019999');
    });
  });

  describe('migrations', () => {
    it('N stores migrating one new schema at once apply each version exactly once', async () => {
      const schema = freshSchema('migrate');
      const stores = Array.from({ length: 6 }, () =>
        createPostgresMetadataStore({ connectionString: PG_URL, schema }),
      );
      try {
        await Promise.all(stores.map((store, i) => store.put(`k/${i}`, i)));
        const versions = await adminQuery<{ version: number }>(
          `SELECT version FROM "${schema}".keel_version ORDER BY version`,
        );
        expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
        expect(await stores[0]!.migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
        expect(await collect(stores[5]!.list('k/'))).toHaveLength(6);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });

    it('upgrades a version 1 schema in place, keeping its data', async () => {
      const schema = freshSchema('v1');
      await adminQuery(`CREATE SCHEMA "${schema}"`);
      await adminQuery(
        `CREATE TABLE "${schema}".keel_version (version integer PRIMARY KEY, description text NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const statement of MIGRATIONS[0]!.statements(schema)) await adminQuery(statement);
      await adminQuery(
        `INSERT INTO "${schema}".keel_version (version, description) VALUES (1, 'v1')`,
      );
      await adminQuery(
        `INSERT INTO "${schema}".documents (key, revision, value) VALUES ('old/doc', nextval('"${schema}".revisions'), '{"kept":true}')`,
      );
      const store = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      try {
        expect(await store.migrate()).toEqual({ from: 1, to: SCHEMA_VERSION });
        expect((await store.get('old/doc'))?.value).toEqual({ kept: true });
        const seen: string[] = [];
        const stop = store.watch!('old/', (c) => seen.push(c.key));
        await until(() => seen.length === 1, 'listening');
        expect(await adminQuery(`SELECT prefix FROM "${schema}".watched`)).toEqual([
          { prefix: 'old/' },
        ]);
        await store.put('old/doc', 2);
        await store.put('unwatched/doc', 2);
        await until(() => seen.includes('old/doc'), 'the change');
        stop();
      } finally {
        await store.close();
      }
      expect(await adminQuery(`SELECT prefix FROM "${schema}".watched`)).toEqual([]);
    });

    it('refuses a schema written by a newer keel, and an old one when asked not to migrate', async () => {
      const schema = freshSchema('migrate');
      const first = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      await first.migrate();
      await first.close();
      await adminQuery(
        `INSERT INTO "${schema}".keel_version (version, description) VALUES (999, 'from the future')`,
      );
      const later = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      const error = await errorOf(later.get('k'));
      expect(isKeelError(error, ErrorCodes.storage)).toBe(true);
      expect((error as Error).message).toContain('newer keel');
      await later.close();

      const lazy = freshStore('migrate', { migrate: false });
      try {
        const refused = await errorOf(lazy.put('k', 1));
        expect((refused as Error).message).toContain('store.migrate()');
        expect(await lazy.migrate()).toEqual({ from: 0, to: SCHEMA_VERSION });
        await lazy.put('k', 1);
        expect((await lazy.get('k'))?.value).toBe(1);
      } finally {
        await lazy.close();
      }
    });
  });

  describe('connections', () => {
    it('borrows a pool it was given and never ends it', async () => {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 3 });
      try {
        const store = createPostgresMetadataStore({ pool, schema: freshSchema('pool') });
        await store.put('k', 1);
        const seen: string[] = [];
        store.watch!('', (c) => seen.push(c.key));
        await until(() => seen.length > 0, 'listening');
        await store.close();
        expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        const closed = await errorOf(store.get('k'));
        expect((closed as Error).message).toContain('closed');
      } finally {
        await pool.end();
      }
    });

    it('retries what cannot apply twice, and never a write whose connection broke', async () => {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
      const refusals = { connect: 2, query: 0, failedWrites: 0 };
      const flaky = {
        async connect() {
          if (refusals.connect > 0) {
            refusals.connect--;
            throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
          }
          const client = await pool.connect();
          return Object.assign(Object.create(client), {
            query: (config: unknown, values?: unknown[]) => {
              const text = typeof config === 'string' ? config : (config as { text: string }).text;
              if (refusals.query > 0 && /^(INSERT|UPDATE|SELECT revision)/.test(text)) {
                refusals.query--;
                if (text.startsWith('INSERT') || text.startsWith('UPDATE')) refusals.failedWrites++;
                return Promise.reject(
                  Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
                );
              }
              return client.query(config as string, values);
            },
            release: (destroy?: boolean) => client.release(destroy),
          });
        },
        end: () => pool.end(),
      };
      const store = createPostgresMetadataStore(
        { pool: flaky, schema: freshSchema('flaky') },
        { retries: 3 },
      );
      try {
        // two refused connections, then it works
        await store.put('k', 1);
        expect(refusals.connect).toBe(0);
        // a read whose connection broke is simply read again
        refusals.query = 1;
        expect((await store.get('k'))?.value).toBe(1);
        // a compare-and-swap whose connection broke may have committed: reported, not retried
        // (an unconditional put is simply written again)
        const { revision } = (await store.get('k'))!;
        refusals.query = 1;
        const error = await errorOf(store.put('k', 2, { ifRevision: revision }));
        expect(isKeelError(error, ErrorCodes.storage)).toBe(true);
        expect((error as Error).message).toContain('may or may not have been applied');
        expect(refusals.failedWrites).toBe(1);
        expect((await store.get('k'))?.value).toBe(1);
      } finally {
        await store.close();
        await pool.end();
      }
    });

    it('reports an unreachable server as a StorageError after bounded retries', async () => {
      const store = createPostgresMetadataStore(
        { connectionString: 'postgres://postgres@127.0.0.1:1/none' },
        { retries: 1 },
      );
      const error = await errorOf(store.get('k'));
      expect(isKeelError(error, ErrorCodes.storage)).toBe(true);
      expect((error as Error).message).toMatch(/connection failed.*reachable/);
      await store.close();
    });

    it('cancels a statement stuck behind a lock with TimeoutError', async () => {
      const store = freshStore('timeout', { statementTimeoutMs: 300 });
      const locker = new pg.Client({ connectionString: PG_URL });
      await locker.connect();
      try {
        const { revision } = await store.put('locked', 1);
        await locker.query('BEGIN');
        await locker.query(
          `SELECT 1 FROM "${store.schema}".documents WHERE key = 'locked' FOR UPDATE`,
        );
        const error = await errorOf(store.put('locked', 2, { ifRevision: revision }));
        expect(isKeelError(error, ErrorCodes.timeout), String(error)).toBe(true);
        await locker.query('ROLLBACK');
        expect((await store.get('locked'))?.value).toBe(1);
      } finally {
        await locker.end();
        await store.close();
      }
    });
  });
});

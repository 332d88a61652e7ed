/**
 * @module
 * `createPostgresMetadataStore`: the MetadataStore on PostgreSQL, shared by every process
 * and host that connects to the same schema. One row per document with a revision that a
 * single statement compares and swaps; logs whose counter row serializes appenders so
 * offsets never have gaps; the atomic batch as one function call (one transaction); change
 * notification through `LISTEN/NOTIFY`. Schema, SQL and notification live beside this
 * file (docs/backends.md).
 */
import { z } from 'zod';
import { sha256 } from '../../core/digest.js';
import { ConflictError, StorageError, ValidationError } from '../../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../../core/json.js';
import { parseWith } from '../../core/validate.js';
import {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  assertWatchArguments,
  checkOffset,
  checkRevision,
  compareKeys,
  copyBatch,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  readFrom,
} from '../../metadata/keys.js';
import { checkDocumentQuery, type DocumentQuery } from '../../metadata/query.js';
import type {
  BatchOperation,
  BatchResult,
  ListDocumentsOptions,
  MetadataCapabilities,
  MetadataStore,
  Versioned,
} from '../../metadata/types.js';
import {
  createPool,
  createRunner,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryConfig,
  type Runner,
  sqlState,
} from './db.js';
import { type MigrationResult, migrate, readVersion, SCHEMA_VERSION } from './migrations.js';
import { createNotifier } from './notify.js';
import { compileDocumentQuery } from './query.js';
import {
  CONFLICT_SQLSTATE,
  PAGE_SIZE,
  prefixUpperBound,
  SCHEMA_NAME_PATTERN,
  statementsFor,
} from './sql.js';

/** Where the store's data lives: a connection string keel opens a pool for, or your own pool. */
export type PostgresConnection =
  | {
      /** e.g. `postgres://user@host:5432/db`; keel builds (and on `close()` ends) a `pg.Pool`. */
      connectionString: string;
      /** Not with `connectionString`: give one or the other. */
      pool?: undefined;
      /** As {@link PostgresMetadataStoreOptions.schema}. */
      schema?: string;
    }
  | {
      /** Your `pg.Pool`: keel borrows clients and never ends it. */
      pool: PostgresPool;
      /** Not with `pool`: give one or the other. */
      connectionString?: undefined;
      /** As {@link PostgresMetadataStoreOptions.schema}. */
      schema?: string;
    };

/** Options of {@link createPostgresMetadataStore}. */
export interface PostgresMetadataStoreOptions {
  /** The PostgreSQL schema holding keel's tables (a lower-case identifier). Default `keel`. */
  schema?: string;
  /**
   * Longest a statement may run on a pool keel builds (ms, server-side `statement_timeout`;
   * `TimeoutError` when exceeded). Default 30 000. With your own pool, set
   * `statement_timeout` in its config instead.
   */
  statementTimeoutMs?: number;
  /** Most connections of a pool keel builds. Default: pg's default (10). */
  maxConnections?: number;
  /** Retries of a statement that failed transiently (bounded, exponential, with jitter). Default 4. */
  retries?: number;
  /**
   * Migrate the schema on first use (under an advisory lock; safe with many processes).
   * Default `true`. With `false`, a schema that is not current is refused until you call
   * `migrate()` on the store.
   */
  migrate?: boolean;
}

/** The PostgreSQL MetadataStore: a {@link MetadataStore} with its schema and migrations. */
export type PostgresMetadataStore = MetadataStore & {
  /** The schema holding the store's tables. */
  readonly schema: string;
  /** `{ sharedAcrossProcesses, atomicBatch, watch, listLogs, queryDocuments }`, all true. */
  readonly capabilities: MetadataCapabilities;
  /** Creates or upgrades the schema now (also done on first use unless `migrate: false`). */
  migrate(): Promise<MigrationResult>;
  /**
   * The names of the logs that start with `prefix`, in name order (code points), strictly
   * after `after`, at most `limit`. A log exists once an entry was appended to it.
   */
  listLogs(prefix: string, opts?: ListDocumentsOptions): AsyncIterable<string>;
  /**
   * One page of the documents under `query.prefix` that match `query.where`, in
   * `query.orderBy` order then by key: one SELECT over the prefix's key range, every value a
   * parameter (docs/backends.md, "Search over many runs").
   *
   * @throws {ValidationError} when the query is malformed (`checkDocumentQuery`).
   * @throws {StorageError} when the server fails the statement (e.g. a value it cannot convert).
   * @throws {TimeoutError} past the statement timeout.
   */
  queryDocuments(query: DocumentQuery): Promise<
    ({
      /** The document's key (under `query.prefix`). */
      key: string;
    } & Versioned)[]
  >;
  /** Stops watching and ends the pool keel built (never a pool you passed). */
  close(): Promise<void>;
};

const optionsSchema = z
  .object({
    schema: z
      .string()
      .regex(SCHEMA_NAME_PATTERN, 'use a lower-case identifier such as "keel" or "keel_test"')
      .optional(),
    statementTimeoutMs: z.number().int().positive().optional(),
    maxConnections: z.number().int().positive().optional(),
    retries: z.number().int().min(0).max(20).optional(),
    migrate: z.boolean().optional(),
  })
  .strict();

/**
 * Creates a MetadataStore on PostgreSQL (Node only; needs the `pg` package unless you pass
 * your own pool). Nothing connects until the first call; the schema is created or migrated
 * then.
 *
 * @example
 * ```ts
 * import { createPostgresMetadataStore } from 'keel/postgres';
 * const metadata = createPostgresMetadataStore({ connectionString: process.env.DATABASE_URL! });
 * const keel = createKeel({ backend: { metadata, artifacts } });
 * ```
 * @throws {ValidationError} when the connection or the options are malformed.
 */
export function createPostgresMetadataStore(
  connection: PostgresConnection,
  opts: PostgresMetadataStoreOptions = {},
): PostgresMetadataStore {
  const { pool: givenPool, connectionString } = checkConnection(connection);
  const options = parseWith(optionsSchema, opts, 'postgres metadata store options');
  if (
    connection.schema !== undefined &&
    options.schema !== undefined &&
    connection.schema !== options.schema
  ) {
    throw new ValidationError(
      `[keel] [postgres] two schemas given ("${connection.schema}" and "${options.schema}"): pass it once`,
    );
  }
  const schema = parseWith(
    optionsSchema,
    { schema: connection.schema ?? options.schema ?? 'keel' },
    'postgres metadata store options',
  ).schema!;
  const sql = statementsFor(schema);
  const retry = { retries: options.retries ?? 4, minTimeoutMs: 50, maxTimeoutMs: 2_000 };
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;

  let closed = false;
  let opening: Promise<{ pool: PostgresPool; runner: Runner }> | undefined;
  const open = (): Promise<{ pool: PostgresPool; runner: Runner }> => {
    opening ??= (async () => {
      const pool =
        givenPool ??
        (await createPool(connectionString!, statementTimeoutMs, options.maxConnections));
      return { pool, runner: createRunner(pool, retry) };
    })();
    return opening;
  };
  let ready: Promise<Runner> | undefined;
  const use = (): Promise<Runner> => {
    if (closed) {
      return Promise.reject(
        new StorageError(
          `[keel] [postgres] the store on schema "${schema}" is closed: create a new one`,
        ),
      );
    }
    ready ??= (async () => {
      const { runner } = await open();
      if (options.migrate === false) await assertCurrent(runner, schema);
      else await migrate(runner, schema);
      return runner;
    })().catch((error: unknown) => {
      ready = undefined; // the next call tries again
      throw error;
    });
    return ready;
  };
  // The notifier records prefixes in the schema's tables, so it waits for the migration.
  const notifier = createNotifier(async () => {
    await use();
    return (await open()).pool;
  }, sql);

  const conflict = async (runner: Runner, key: string, expected: string | null): Promise<never> => {
    const actual = await runner
      .run('read a revision', true, (client) => one(client, sql.revisionOf, [key]))
      .then((row) => row?.revision as string | undefined)
      .catch(() => undefined);
    throw conflictError(key, expected, actual);
  };

  return {
    schema,
    capabilities: {
      sharedAcrossProcesses: true,
      atomicBatch: true,
      watch: true,
      listLogs: true,
      queryDocuments: true,
    },

    async get(key) {
      assertKey(key);
      const runner = await use();
      const row = await runner.run(`get ${key}`, true, (client) => one(client, sql.get, [key]));
      return row === undefined
        ? undefined
        : { value: parseValue(row.value as string), revision: row.revision as string };
    },

    async put(key, value, putOpts) {
      assertKey(key);
      assertRevisionOption(putOpts?.ifRevision, true);
      const text = JSON.stringify(copyJsonValue(value));
      const runner = await use();
      const ifRevision = putOpts?.ifRevision;
      const [statement, params] =
        ifRevision === undefined
          ? [sql.putAny, [key, text]]
          : ifRevision === null
            ? [sql.putNew, [key, text]]
            : [sql.putIf, [key, text, ifRevision]];
      const row = await runner.run(`put ${key}`, ifRevision === undefined, (client) =>
        one(client, statement, params),
      );
      if (row === undefined) return conflict(runner, key, ifRevision ?? null);
      return { revision: row.revision as string };
    },

    async delete(key, deleteOpts) {
      assertKey(key);
      assertRevisionOption(deleteOpts?.ifRevision, false);
      const runner = await use();
      const ifRevision = deleteOpts?.ifRevision;
      const row = await runner.run(`delete ${key}`, false, (client) =>
        ifRevision === undefined
          ? one(client, sql.deleteAny, [key])
          : one(client, sql.deleteIf, [key, ifRevision]),
      );
      if (row !== undefined) return true;
      if (ifRevision !== undefined) return conflict(runner, key, ifRevision);
      return false;
    },

    async *list(prefix, listOpts) {
      assertPrefix(prefix);
      const limit = listLimit(listOpts);
      const rows = inRange(await use(), 'list', sql.list, prefix, listOpts?.after, limit, 'key');
      for await (const row of rows as AsyncIterable<{
        key: string;
        revision: string;
        value: string;
      }>) {
        yield { key: row.key, value: parseValue(row.value), revision: row.revision };
      }
    },

    async *listLogs(prefix, listOpts) {
      assertPrefix(prefix);
      const limit = listLimit(listOpts);
      const runner = await use();
      const rows = inRange(
        runner,
        'list logs',
        sql.listLogs,
        prefix,
        listOpts?.after,
        limit,
        'name',
      );
      for await (const row of rows as AsyncIterable<{ name: string }>) yield row.name;
    },

    async queryDocuments(query) {
      checkDocumentQuery(query);
      const compiled = compileDocumentQuery(schema, query);
      const runner = await use();
      const { rows } = await runner.run(`query documents under ${query.prefix}`, true, (client) =>
        client.query(compiled),
      );
      return (rows as { key: string; revision: string; value: string }[]).map((row) => ({
        key: row.key,
        revision: row.revision,
        value: parseValue(row.value),
      }));
    },

    async append(log, entries) {
      assertKey(log, 'log name');
      const copies = copyLogEntries(entries);
      const runner = await use();
      const row = await runner.run(`append to ${log}`, false, (client) =>
        one(client, sql.append, [log, copies.length, JSON.stringify(copies)]),
      );
      return { offset: Number(row!.start) };
    },

    async *read(log, readOpts) {
      assertKey(log, 'log name');
      let from = readFrom(readOpts);
      const runner = await use();
      for (;;) {
        const { rows } = await runner.run(`read ${log}`, true, (client) =>
          client.query(prepared(sql.read, [log, from, PAGE_SIZE])),
        );
        for (const row of rows as { offset: string; entry: string }[]) {
          yield { offset: Number(row.offset), entry: parseValue(row.entry) };
        }
        if (rows.length < PAGE_SIZE) return;
        from = Number((rows[rows.length - 1] as { offset: string }).offset) + 1;
      }
    },

    async batch(operations) {
      const ops = copyBatch(operations);
      const runner = await use();
      // Rows are locked in one global order (documents by key, then logs by name), so two
      // batches over the same keys queue instead of deadlocking.
      const order = ops.map((_, index) => index).sort((a, b) => compareOps(ops[a]!, ops[b]!));
      const sent = order.map((index) => ops[index]!);
      const row = await runner.run('batch', false, async (client) => {
        try {
          return await one(client, sql.batch, [JSON.stringify(sent)]);
        } catch (error) {
          throw sqlState(error) === CONFLICT_SQLSTATE ? batchConflict(error, sent) : error;
        }
      });
      const applied = JSON.parse(row!.results as string) as {
        revision?: string;
        deleted?: boolean;
        offset?: number;
      }[];
      const results = new Array<BatchResult>(ops.length);
      for (const [position, index] of order.entries()) {
        const op = ops[index]!;
        const outcome = applied[position]!;
        results[index] =
          op.op === 'put'
            ? { op: 'put', key: op.key, revision: outcome.revision! }
            : op.op === 'delete'
              ? { op: 'delete', key: op.key, deleted: outcome.deleted === true }
              : { op: 'append', log: op.log, offset: Number(outcome.offset) };
      }
      return results;
    },

    watch(prefix, onChange) {
      assertWatchArguments(prefix, onChange);
      return notifier.watch(prefix, onChange);
    },

    async migrate() {
      if (closed) await use(); // throws the "closed" error
      const { runner } = await open();
      return migrate(runner, schema);
    },

    async close() {
      if (closed) return;
      closed = true;
      await notifier.close();
      if (givenPool === undefined && opening !== undefined) {
        const { pool } = await opening.catch(() => ({ pool: undefined }));
        await pool?.end();
      }
    },
  };
}

function checkConnection(connection: PostgresConnection): {
  pool: PostgresPool | undefined;
  connectionString: string | undefined;
} {
  const given = connection as { pool?: unknown; connectionString?: unknown } | undefined;
  const pool = given?.pool as PostgresPool | undefined;
  const connectionString = given?.connectionString;
  const hasPool = pool !== undefined && typeof pool.connect === 'function';
  const hasString = typeof connectionString === 'string' && connectionString.length > 0;
  if (hasPool === hasString) {
    throw new ValidationError(
      '[keel] [postgres] pass exactly one of { connectionString: "postgres://..." } or { pool: new pg.Pool(...) }',
    );
  }
  return hasPool
    ? { pool, connectionString: undefined }
    : { pool: undefined, connectionString: connectionString as string };
}

async function assertCurrent(runner: Runner, schema: string): Promise<void> {
  const version = await runner.run('read the schema version', true, (client) =>
    readVersion(client, schema),
  );
  if (version === SCHEMA_VERSION) return;
  throw new StorageError(
    `[keel] [postgres] schema "${schema}" is at version ${version}, this keel needs ${SCHEMA_VERSION}: call store.migrate() (or leave the "migrate" option on)`,
    { details: { schema, version, supported: SCHEMA_VERSION } },
  );
}

/**
 * The rows of a `list`-like statement over names starting with `prefix`, after `after`, at
 * most `limit` (all already validated): one primary-key range, read in pages of
 * {@link PAGE_SIZE} by name.
 */
async function* inRange(
  runner: Runner,
  what: string,
  statement: (lower: '>=' | '>', upper: boolean) => string,
  prefix: string,
  after: string | undefined,
  limit: number,
  column: string,
): AsyncIterable<Record<string, unknown>> {
  let remaining = limit;
  const upper = prefixUpperBound(prefix);
  // The range starts at the prefix, or just after `after` when that lies further on.
  let lower: { name: string; inclusive: boolean } =
    after !== undefined && compareKeys(after, prefix) >= 0
      ? { name: after, inclusive: false }
      : { name: prefix, inclusive: true };
  while (remaining > 0) {
    const page = Math.min(PAGE_SIZE, remaining);
    const text = statement(lower.inclusive ? '>=' : '>', upper !== undefined);
    const params = upper === undefined ? [lower.name, page] : [lower.name, upper, page];
    const { rows } = await runner.run(`${what} ${prefix}`, true, (client) =>
      client.query(prepared(text, params)),
    );
    for (const row of rows as Record<string, unknown>[]) yield row;
    if (rows.length < page) return;
    remaining -= rows.length;
    lower = { name: (rows[rows.length - 1] as Record<string, string>)[column]!, inclusive: false };
  }
}

/** The first row of a statement's result, or `undefined`. */
async function one(
  client: PostgresPoolClient,
  text: string,
  params: unknown[],
): Promise<Record<string, unknown> | undefined> {
  const { rows } = await client.query(prepared(text, params));
  return rows[0] as Record<string, unknown> | undefined;
}

const names = new Map<string, string>();

/**
 * The statement as a named (prepared) query: each connection parses and plans it once and
 * then only binds parameters, which halves the time of a small read. The name is derived
 * from the text, so equal names always mean equal statements.
 */
function prepared(text: string, values: unknown[]): PostgresQueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `keel_${sha256(text).slice('sha256:'.length, 'sha256:'.length + 24)}`;
    names.set(text, name);
  }
  return { name, text, values };
}

/** Parses stored JSON text; `__proto__` keys are dropped, as every store reads them. */
function parseValue(text: string): JsonValue {
  return text.includes('"__proto__"') ? parseJsonSafe(text) : (JSON.parse(text) as JsonValue);
}

function conflictError(
  key: string,
  expected: string | null,
  actual: string | undefined,
): ConflictError {
  try {
    checkRevision('postgres', key, actual, expected);
  } catch (error) {
    return error as ConflictError;
  }
  // The document changed again since the failed write: still a lost race.
  return new ConflictError(
    `[keel] [postgres] ${key} changed concurrently: read it again and retry`,
    { details: { key, expected, actual: actual ?? null } },
  );
}

function batchConflict(error: unknown, sent: BatchOperation[]): ConflictError {
  let detail: { index?: number; actual?: string | null } = {};
  try {
    detail = JSON.parse((error as { detail?: string }).detail ?? '{}') as typeof detail;
  } catch {}
  const op = sent[detail.index ?? -1];
  if (op?.op === 'append') {
    const length = Number(detail.actual ?? 0);
    try {
      checkOffset('postgres', op.log, length, op.expectedOffset);
    } catch (conflict) {
      return conflict as ConflictError;
    }
  } else if (op !== undefined) {
    return conflictError(op.key, op.ifRevision ?? null, detail.actual ?? undefined);
  }
  return new ConflictError(
    '[keel] [postgres] a batch condition did not hold: read again and retry',
    {
      cause: error,
    },
  );
}

function compareOps(a: BatchOperation, b: BatchOperation): number {
  const kindA = a.op === 'append' ? 1 : 0;
  const kindB = b.op === 'append' ? 1 : 0;
  if (kindA !== kindB) return kindA - kindB;
  return compareKeys(a.op === 'append' ? a.log : a.key, b.op === 'append' ? b.log : b.key);
}

/**
 * Helpers of the PostgreSQL tests: the server from KEEL_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test), a fresh schema per store (dropped when the file
 * ends), and `describePg`, which skips with a visible reason when no server answers, or
 * fails when KEEL_REQUIRE_PG=1 (CI).
 */
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import {
  createPostgresMetadataStore,
  type PostgresMetadataStore,
  type PostgresMetadataStoreOptions,
} from '../../src/postgres.js';

/** The server the tests use. */
export const PG_URL: string = process.env.KEEL_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.KEEL_REQUIRE_PG === '1';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why PostgreSQL tests cannot run here, or undefined when the server answers. */
export const unavailable: string | undefined = await probe();
const skipReason = `no PostgreSQL at KEEL_PG_URL=${PG_URL} (${unavailable}); start one or set KEEL_PG_URL`;
let announced = false;

/**
 * `describe` for tests that need the server: runs them when it answers; otherwise skips
 * them with the reason in the title (and a printed line), or fails under KEEL_REQUIRE_PG=1.
 */
export function describePg(title: string, body: () => void): void {
  if (unavailable === undefined) {
    describe(title, body);
    return;
  }
  if (required) {
    describe(title, () => {
      it('needs PostgreSQL (KEEL_REQUIRE_PG=1)', () => {
        throw new Error(`[keel tests] KEEL_REQUIRE_PG=1 but ${skipReason}`);
      });
    });
    return;
  }
  if (!announced) {
    announced = true;
    process.stdout.write(`\n  SKIP PostgreSQL tests: ${skipReason}\n`);
  }
  describe.skip(`${title} (skipped: ${skipReason})`, body);
}

const admin =
  unavailable === undefined ? new pg.Pool({ connectionString: PG_URL, max: 2 }) : undefined;
const schemas: string[] = [];
let counter = 0;

afterAll(async () => {
  if (admin === undefined) return;
  for (const schema of schemas.splice(0)) {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
  await admin.end();
});

/** A schema name no other test uses, dropped when the test file ends. */
export function freshSchema(label: string): string {
  const schema = `keel_t_${label}_${process.pid}_${++counter}`;
  schemas.push(schema);
  return schema;
}

/** A store on a new schema. */
export function freshStore(
  label: string,
  opts: PostgresMetadataStoreOptions = {},
): PostgresMetadataStore {
  return createPostgresMetadataStore(
    { connectionString: PG_URL },
    { ...opts, schema: opts.schema ?? freshSchema(label) },
  );
}

/** Runs SQL as the test's administrator (for EXPLAIN, locks and inspection). */
export async function adminQuery<Row = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  if (admin === undefined) throw new Error('no PostgreSQL');
  return (await admin.query(text, values)).rows as Row[];
}

/** A backend whose metadata lives in a new schema and whose artifacts stay in memory. */
export function freshBackend(label: string): Backend {
  const metadata = freshStore(label);
  return { metadata, artifacts: createMemoryArtifactStore(), close: () => metadata.close() };
}

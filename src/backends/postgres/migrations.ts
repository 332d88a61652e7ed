/**
 * @module
 * Versioned schema migrations of the PostgreSQL MetadataStore. The schema records its
 * version in `<schema>.keel_version`; migrating takes a transaction-scoped advisory lock
 * named after the schema, so N processes starting at once apply each migration exactly
 * once (the others wait, then find the schema current). A schema newer than this keel
 * knows is refused rather than used.
 */
import { sha256 } from '../../core/digest.js';
import { StorageError } from '../../core/errors.js';
import type { PostgresPoolClient, Runner } from './db.js';
import { schemaV1, schemaV2 } from './sql.js';

/** One step of the schema's history. Steps are never edited once released, only added. */
export interface Migration {
  /** The schema version this step leads to (1, 2, …; consecutive). */
  version: number;
  /** One line, recorded beside the version in `<schema>.keel_version`. */
  description: string;
  /**
   * The SQL statements of this step for `schema`, run in order inside the migration's
   * transaction.
   */
  statements(schema: string): string[];
}

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'documents, logs, change notification trigger, atomic batch function',
    statements: schemaV1,
  },
  {
    version: 2,
    description: 'notify only keys under a watched prefix',
    statements: schemaV2,
  },
];

/** The schema version this keel creates and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** What a migration did: the schema version found and the version left. */
export interface MigrationResult {
  /** The version the schema had before; 0 when it did not exist. */
  from: number;
  /** The version it has now: {@link SCHEMA_VERSION}. */
  to: number;
}

/**
 * Brings `schema` to {@link SCHEMA_VERSION}, creating it when missing.
 *
 * @throws {StorageError} when the schema was created by a newer keel, or a statement fails.
 */
export async function migrate(runner: Runner, schema: string): Promise<MigrationResult> {
  // Cheap check first: a current schema needs no lock.
  const found = await runner.run('read the schema version', true, (client) =>
    readVersion(client, schema),
  );
  assertKnown(schema, found);
  if (found === SCHEMA_VERSION) return { from: found, to: found };
  return runner.run('migrate the schema', false, async (client) => {
    await client.query('BEGIN');
    try {
      const [classId, objectId] = lockKeys(schema);
      await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [classId, objectId]);
      const from = await readVersion(client, schema);
      assertKnown(schema, from);
      if (from < SCHEMA_VERSION) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".keel_version (
  version integer PRIMARY KEY,
  description text NOT NULL,
  migrated_at timestamptz NOT NULL DEFAULT now()
)`);
        for (const migration of MIGRATIONS) {
          if (migration.version <= from) continue;
          for (const statement of migration.statements(schema)) await client.query(statement);
          await client.query(
            `INSERT INTO "${schema}".keel_version (version, description) VALUES ($1, $2)`,
            [migration.version, migration.description],
          );
        }
      }
      await client.query('COMMIT');
      return { from, to: SCHEMA_VERSION };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  });
}

/** The schema's version, 0 when it has none yet. */
export async function readVersion(client: PostgresPoolClient, schema: string): Promise<number> {
  // pg_catalog through the statement's own snapshot (to_regclass may use a catalog snapshot
  // older than the migration that another process just committed).
  const table = await client.query(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = 'keel_version') AS found`,
    [schema],
  );
  if ((table.rows[0] as { found: boolean } | undefined)?.found !== true) return 0;
  const { rows } = await client.query(
    `SELECT coalesce(max(version), 0)::int AS version FROM "${schema}".keel_version`,
  );
  return Number((rows[0] as { version: number }).version);
}

function assertKnown(schema: string, version: number): void {
  if (version <= SCHEMA_VERSION) return;
  throw new StorageError(
    `[keel] [postgres] schema "${schema}" is at version ${version}, written by a newer keel; this keel understands up to ${SCHEMA_VERSION}: upgrade keel here, or use another schema`,
    { details: { schema, version, supported: SCHEMA_VERSION } },
  );
}

// The advisory lock of a schema: a fixed class for keel and a 32-bit hash of the name,
// so two keel schemas in one database never wait on each other.
function lockKeys(schema: string): [number, number] {
  const hex = sha256(`keel/postgres/${schema}`).slice('sha256:'.length);
  return [0x6b65656c, Number.parseInt(hex.slice(0, 8), 16) | 0];
}

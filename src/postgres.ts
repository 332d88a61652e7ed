/**
 * @module
 * `keel/postgres`: the Node-only MetadataStore on PostgreSQL (`createPostgresMetadataStore`),
 * shared by every process and host that connects to one schema. Needs the `pg` package (an
 * optional peer dependency) unless you pass your own pool.
 */
export type {
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryConfig,
  PostgresQueryResult,
} from './backends/postgres/db.js';
export {
  type Migration,
  type MigrationResult,
  SCHEMA_VERSION,
} from './backends/postgres/migrations.js';
export {
  createPostgresMetadataStore,
  type PostgresConnection,
  type PostgresMetadataStore,
  type PostgresMetadataStoreOptions,
} from './backends/postgres/store.js';

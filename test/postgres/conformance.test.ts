import pg from 'pg';
import { describe, it } from 'vitest';
import { createPostgresMetadataStore, type PostgresMetadataStore } from '../../src/postgres.js';
import { type BatchCrash, describeMetadataStore } from '../../src/testing/metadata-store-suite.js';
import { adminQuery, describePg, freshStore, PG_URL } from './helpers.js';

/**
 * A process that dies in the middle of a batch: the batch's transaction runs on a connection
 * of its own, which is cut before (or right after) its COMMIT, as a killed process's would be.
 */
const crashBatch: BatchCrash = async (store, operations, stage) => {
  const { schema } = store as PostgresMetadataStore;
  const client = new pg.Client({ connectionString: PG_URL });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  await client.query(`SELECT "${schema}".apply_batch($1::json)`, [JSON.stringify(operations)]);
  if (stage === 'after-commit') await client.query('COMMIT');
  await adminQuery('SELECT pg_terminate_backend($1)', [
    (client as unknown as { processID: number }).processID,
  ]);
  await client.end().catch(() => {});
  return createPostgresMetadataStore({ connectionString: PG_URL, schema });
};

describePg('PostgreSQL', () => {
  describeMetadataStore('postgres', () => freshStore('conf'), {
    runner: { describe, it },
    crashBatch,
  });
});

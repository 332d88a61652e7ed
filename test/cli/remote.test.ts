/**
 * The command line on PostgreSQL + S3: `keel copy` from an fs store into a fresh PostgreSQL
 * schema (`postgres://…?schema=`) and an S3 prefix (s3rver on 127.0.0.1, configured through
 * AWS_ENDPOINT_URL and the AWS credential variables, as a user's shell would), then the same
 * questions answered from there. Skipped with a visible reason without PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fsBackend } from '../../src/fs.js';
import { createKeel } from '../../src/index.js';
import { describePg, freshSchema, PG_URL } from '../postgres/helpers.js';
import { BUCKET, type S3TestServer, startS3Server } from '../s3/server.js';
import { keel } from './run-cli.js';

let server: S3TestServer | undefined;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-cli-remote-'));
  const k = createKeel({ backend: fsBackend({ root: join(dir, 'store') }) });
  const run = await k.tracker.startRun({ experiment: 'churn', params: { model: 'xgb' } });
  const weights = await run.logArtifact('weights', { name: 'model.bin' });
  await run.end();
  await k.registry.registerVersion('churn', { artifact: weights.digest, runId: run.id });
  await k.registry.setAlias('churn', 'prod', 1, { reason: 'first' });
  await k.close();
  server = await startS3Server();
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describePg('keel on PostgreSQL and S3', () => {
  it('copies an fs store there and answers runs, models, audit and gc from it', () => {
    const env = {
      AWS_ENDPOINT_URL: server!.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    };
    const url = new URL(PG_URL);
    url.searchParams.set('schema', freshSchema('cli'));
    const pgStore = url.toString();
    const artifacts = `s3://${BUCKET}/cli-${process.pid}`;
    const copy = keel(
      ['copy', '--store', join(dir, 'store'), '--to', pgStore, '--to-artifacts', artifacts],
      env,
    );
    expect(copy.code, copy.stderr).toBe(0);
    const remote = ['--store', pgStore, '--artifacts', artifacts];
    const runs = keel(['runs', 'search', "params.model = 'xgb'", '--json', ...remote], env);
    expect(runs.code, runs.stderr).toBe(0);
    const local = keel([
      'runs',
      'search',
      "params.model = 'xgb'",
      '--json',
      '--store',
      join(dir, 'store'),
    ]);
    expect(JSON.parse(runs.stdout).runs).toEqual(JSON.parse(local.stdout).runs);
    expect(keel(['models', 'show', 'churn', ...remote], env).stdout).toMatch(
      /set\s+- -> v1\s+\S+\s+first/,
    );
    expect(keel(['audit', 'verify', ...remote], env).code).toBe(0);
    const gc = keel(['gc', '--dry-run', '--min-age-hours', '0', '--json', ...remote], env);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ scanned: 1, referenced: 1, unreferenced: [] });
    // A PostgreSQL store without --artifacts is a usage error naming the option.
    const missing = keel(['runs', 'search', '--store', pgStore], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--artifacts');
  });
});

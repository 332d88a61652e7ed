/** A Python script with only the standard library (urllib, json) drives the endpoint through MLflow's documented REST calls. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/run-ts.js';
import { type MlflowServer, startMlflow } from './server.js';

let s: MlflowServer;
beforeAll(async () => {
  s = await startMlflow();
});
afterAll(async () => {
  await s.close();
});

describe('a Python urllib client', () => {
  it('records a run into keel, NaN written bare by json.dumps included', async () => {
    const { stdout } = await promisify(execFile)(
      '/usr/bin/python3',
      [join(repoRoot, 'test/fixtures/mlflow/urllib_client.py')],
      { env: { MLFLOW_TRACKING_URI: s.origin, PATH: process.env.PATH ?? '' }, timeout: 60_000 },
    );
    const out = JSON.parse(stdout) as {
      run: { info: { run_id: string; status: string } };
      history: { value: number; step: number }[];
      found: string[];
    };
    const runId = out.run.info.run_id;
    expect(out.run.info.status).toBe('FINISHED');
    expect(out.history.map((p) => p.value)).toEqual([1, 0.5, 1 / 3]);
    expect(out.found).toEqual([runId]);
    const run = await s.keel.tracker.getRun(runId);
    expect(run).toMatchObject({
      name: 'urllib',
      status: 'completed',
      params: { lr: '0.05' },
      tags: { note: 'NaN is logged bare', 'mlflow.source.name': 'urllib_client.py' },
    });
    expect(run.metrics.diverged!.value).toBeNaN();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson } from '../../src/artifacts/json.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { digestOf } from '../../src/core/digest.js';
import { createKeel, type Keel } from '../../src/keel.js';
import { createMlflowHandler } from '../../src/mlflow/handler.js';
import { mlflowExperimentId } from '../../src/mlflow/mapping.js';
import { DIRECTORY_MEDIA_TYPE } from '../../src/mlflow/model-sources.js';
import { serve, type TestServer } from '../ui/server.js';

let keel: Keel;
let server: TestServer;
let runId: string;
const api = '/api/2.0/mlflow';

const call = async (method: string, path: string, body?: unknown) => {
  const r = await server.get(`${api}/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: r.status, body: JSON.parse(r.text) as Record<string, Record<string, unknown>> };
};

beforeAll(async () => {
  keel = createKeel({
    backend: memoryBackend(),
    actor: { id: 'ci' },
    gatePolicies: [{ name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0.8 }] }],
    aliasPolicies: [{ alias: 'production', requireGate: { policy: 'release' } }],
  });
  server = await serve(createMlflowHandler({ keel }));
  const run = await keel.tracker.startRun({ experiment: 'reg' });
  runId = run.id;
  await run.logArtifact('pickle bytes', { name: 'model/model.pkl' });
  await run.logArtifact('flavors: {}', { name: 'model/MLmodel' });
  await run.logArtifact('one file', { name: 'weights.bin' });
  run.logMetric('auc', 0.91, { step: 3 });
  run.logMetric('loss', Number.NaN);
  await run.end();
});
afterAll(async () => {
  await server?.close();
  await keel?.close();
});

describe('registry routes', () => {
  it('creates and gets a registered model', async () => {
    const created = await call('POST', 'registered-models/create', {
      name: 'churn',
      description: 'churn model',
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(created.status).toBe(200);
    expect(created.body.registered_model).toMatchObject({
      name: 'churn',
      description: 'churn model',
      tags: [{ key: 'team', value: 'growth' }],
      user_id: 'ci',
    });
    expect(typeof created.body.registered_model?.creation_timestamp).toBe('number');
    const again = await call('POST', 'registered-models/create', { name: 'churn' });
    expect(again.status).toBe(400);
    expect(again.body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    const got = await call('GET', 'registered-models/get?name=churn');
    expect(got.body.registered_model?.name).toBe('churn');
    const missing = await call('GET', 'registered-models/get?name=nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('registers a run directory as a manifest and a run file as itself, with the run and its metrics', async () => {
    const source = `runs:/${runId}/model`;
    const dir = await call('POST', 'model-versions/create', {
      name: 'churn',
      source,
      run_id: runId,
      tags: [{ key: 'stage', value: 'candidate' }],
    });
    expect(dir.status).toBe(200);
    expect(dir.body.model_version).toEqual({
      name: 'churn',
      version: '1',
      creation_timestamp: expect.any(Number),
      last_updated_timestamp: expect.any(Number),
      user_id: 'ci',
      current_stage: 'None',
      source,
      run_id: runId,
      status: 'READY',
      tags: [{ key: 'stage', value: 'candidate' }],
    });
    const v1 = await keel.registry.getVersion('churn', 1);
    expect(v1.runId).toBe(runId);
    expect(v1.metrics).toEqual({ auc: 0.91 });
    expect((await keel.artifacts.stat(v1.artifact.digest))?.mediaType).toBe(DIRECTORY_MEDIA_TYPE);
    expect(await getJson(keel.artifacts, v1.artifact.digest)).toEqual({
      files: {
        'model.pkl': await digestOf('pickle bytes'),
        MLmodel: await digestOf('flavors: {}'),
      },
    });

    const file = await call('POST', 'model-versions/create', {
      name: 'churn',
      source: `mlflow-artifacts:/${mlflowExperimentId('reg')}/${runId}/artifacts/weights.bin`,
    });
    expect(file.body.model_version).toMatchObject({ version: '2', run_id: runId });
    expect((await keel.registry.getVersion('churn', 2)).artifact.digest).toBe(
      await digestOf('one file'),
    );
    const got = await call('GET', 'model-versions/get?name=churn&version=2');
    expect(got.body.model_version?.version).toBe('2');

    const digest = await call('POST', 'model-versions/create', {
      name: 'digests',
      source: await digestOf('one file'),
    });
    expect(digest.body.model_version).toMatchObject({ name: 'digests', version: '1' });
    expect(digest.body.model_version?.run_id).toBeUndefined();
  });

  it('refuses sources keel does not store, unsafe paths and missing files', async () => {
    for (const source of [
      's3://bucket/model',
      'file:///etc/passwd',
      `runs:/${runId}/../other`,
      `runs:/${runId}/absent`,
      'runs:/',
      `sha256:${'0'.repeat(64)}`,
      `mlflow-artifacts:/${mlflowExperimentId('other')}/${runId}/artifacts/weights.bin`,
    ]) {
      const r = await call('POST', 'model-versions/create', { name: 'churn', source });
      expect([400, 404], source).toContain(r.status);
      expect(r.body.error_code).toMatch(/INVALID_PARAMETER_VALUE|RESOURCE_DOES_NOT_EXIST/);
    }
    const proto = await call('POST', 'model-versions/create', {
      name: 'churn',
      source: `runs:/${runId}/weights.bin`,
      tags: [{ key: '__proto__', value: 'x' }],
    });
    expect(proto.body.error_code).toBe('INVALID_PARAMETER_VALUE');
    const bad = await call('POST', 'model-versions/create', { name: 'churn' });
    expect(bad.body.message).toContain("'source'");
    expect((await keel.registry.listVersions('churn')).versions).toHaveLength(2);
    for (const version of ['0', 'x', '1.5', '-1', ''])
      expect(
        (await call('GET', `model-versions/get?name=churn&version=${version}`)).status,
        version,
      ).toBe(400);
  });

  it('sets, reads and deletes an alias; keel alias policies still apply', async () => {
    const set = await call('POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'staging',
      version: '2',
    });
    expect(set).toEqual({ status: 200, body: {} });
    const byAlias = await call('GET', 'registered-models/alias?name=churn&alias=staging');
    expect(byAlias.body.model_version).toMatchObject({ version: '2', aliases: ['staging'] });
    const model = await call('GET', 'registered-models/get?name=churn');
    expect(model.body.registered_model?.aliases).toEqual([{ alias: 'staging', version: '2' }]);

    const refused = await call('POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'production',
      version: '1',
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error_code).toBe('PERMISSION_DENIED');
    expect(refused.body.message).toContain('alias policy of "production"');
    expect(refused.body.message).toContain('"release"');
    expect(await keel.registry.listAliases('churn')).toEqual({ staging: 2 });

    const deleted = await call('DELETE', 'registered-models/alias', {
      name: 'churn',
      alias: 'staging',
    });
    expect(deleted).toEqual({ status: 200, body: {} });
    expect(await keel.registry.listAliases('churn')).toEqual({});
    const gone = await call('GET', 'registered-models/alias?name=churn&alias=staging');
    expect(gone.status).toBe(404);
    expect((await call('GET', 'registered-models/alias?name=churn&alias=latest')).status).toBe(404);
    const badAlias = await call('POST', 'registered-models/alias', {
      name: 'churn',
      alias: 'Bad Alias',
      version: '1',
    });
    expect(badAlias.body.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});

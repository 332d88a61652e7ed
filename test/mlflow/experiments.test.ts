/** MLflow's experiment routes over keel: create, get, get-by-name, search, set-experiment-tag. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createKeel } from '../../src/keel.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { type MlflowServer, startMlflow } from './server.js';

let s: MlflowServer;
beforeEach(async () => {
  s = await startMlflow();
});
afterEach(async () => {
  await s.close();
});

const E = '/api/2.0/mlflow/experiments';

describe('MLflow experiments', () => {
  it('creates an experiment whose id is keel’s experiment id, and reads it by id and by name', async () => {
    const created = await s.call('POST', `${E}/create`, {
      name: 'churn',
      tags: [{ key: 'team', value: 'growth' }],
    });
    expect(created.status).toBe(200);
    const id = created.json.experiment_id as string;
    expect(id).toMatch(/^[a-zA-Z0-9][\w-]{0,63}$/);

    const byId = await s.call('GET', `${E}/get`, { experiment_id: id });
    expect(byId.status).toBe(200);
    expect(byId.json.experiment).toMatchObject({
      experiment_id: id,
      name: 'churn',
      lifecycle_stage: 'active',
      artifact_location: `mlflow-artifacts:/${id}`,
      tags: [{ key: 'team', value: 'growth' }],
    });
    const byName = await s.call('GET', `${E}/get-by-name`, { experiment_name: 'churn' });
    expect(byName.json.experiment).toEqual(byId.json.experiment);

    // the first run makes it keel's experiment, under the same id
    const run = await s.keel.tracker.startRun({ experiment: 'churn' });
    await run.end();
    const [keelExperiment] = await s.keel.tracker.listExperiments();
    expect(keelExperiment!.id).toBe(id);
    expect((await s.call('GET', `${E}/get`, { experiment_id: id })).json.experiment).toMatchObject({
      name: 'churn',
      tags: [{ key: 'team', value: 'growth' }],
    });
  });

  it('reads an experiment by name, then by id, without listing the experiments', async () => {
    const backend = memoryBackend();
    const listed: string[] = [];
    const metadata = backend.metadata;
    const counting = Object.create(metadata) as typeof metadata;
    counting.list = (prefix, options) => {
      listed.push(prefix);
      return metadata.list(prefix, options);
    };
    const keel = createKeel({ backend: { ...backend, metadata: counting } });
    const server = await startMlflow({}, keel);
    try {
      for (let i = 0; i < 30; i++)
        await (await keel.tracker.startRun({ experiment: `e${i}` })).end();
      listed.length = 0;
      const byName = await server.call('GET', `${E}/get-by-name`, { experiment_name: 'e17' });
      expect(byName.status).toBe(200);
      const id = (byName.json.experiment as { experiment_id: string }).experiment_id;
      const created = await server.call('POST', '/api/2.0/mlflow/runs/create', {
        experiment_id: id,
      });
      expect(created.status).toBe(200);
      const byId = await server.call('GET', `${E}/get`, { experiment_id: id });
      expect(byId.json.experiment).toEqual(byName.json.experiment);
      expect(listed.filter((prefix) => prefix.includes('experiments'))).toEqual([]);
      // the search still sees every experiment
      const all = await server.call('POST', `${E}/search`, { max_results: 100 });
      expect(all.json.experiments).toHaveLength(31);
    } finally {
      await server.close();
    }
  });

  it('sees experiments keel made, and Default as "0"', async () => {
    const run = await s.keel.tracker.startRun({ experiment: 'made-by-keel' });
    await run.end();
    const found = await s.call('GET', `${E}/get-by-name`, { experiment_name: 'made-by-keel' });
    expect(found.status).toBe(200);
    expect(found.json.experiment).toMatchObject({ name: 'made-by-keel' });
    const def = await s.call('GET', `${E}/get`, { experiment_id: '0' });
    expect(def.json.experiment).toMatchObject({ experiment_id: '0', name: 'Default' });
  });

  it('refuses a second experiment of a name with RESOURCE_ALREADY_EXISTS (400)', async () => {
    expect((await s.call('POST', `${E}/create`, { name: 'a' })).status).toBe(200);
    const again = await s.call('POST', `${E}/create`, { name: 'a' });
    expect(again).toEqual({
      status: 400,
      json: { error_code: 'RESOURCE_ALREADY_EXISTS', message: "Experiment 'a' already exists." },
    });
    const run = await s.keel.tracker.startRun({ experiment: 'b' });
    await run.end();
    expect((await s.call('POST', `${E}/create`, { name: 'b' })).json.error_code).toBe(
      'RESOURCE_ALREADY_EXISTS',
    );
    expect((await s.call('POST', `${E}/create`, { name: 'Default' })).status).toBe(400);
  });

  it('answers unknown experiments with RESOURCE_DOES_NOT_EXIST (404) and bad input with INVALID_PARAMETER_VALUE (400)', async () => {
    const missing = await s.call('GET', `${E}/get-by-name`, { experiment_name: 'nope' });
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((await s.call('GET', `${E}/get`, { experiment_id: 'abc' })).status).toBe(404);
    for (const bad of ['../x', '__proto__', '', 'a/b']) {
      const r = await s.call('GET', `${E}/get`, { experiment_id: bad });
      expect(r.status, bad).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    for (const body of [
      {},
      { name: '' },
      { name: 42 },
      { name: ' padded ' },
      { name: 'x'.repeat(300) },
    ]) {
      const r = await s.call('POST', `${E}/create`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    const proto = await s.call('POST', `${E}/create`, {
      name: 'p',
      tags: [{ key: '__proto__', value: 'x' }],
    });
    expect(proto.status).toBe(400);
    expect((await s.call('GET', `${E}/get-by-name`, { experiment_name: 'p' })).status).toBe(404);
  });

  it('searches with MLflow filters, order_by and page tokens (GET and POST)', async () => {
    const clock = new ManualClock(1_000_000);
    await s.close();
    s = await startMlflow({}, createKeel({ backend: memoryBackend(), clock }));
    for (const [name, team] of [
      ['alpha', 'a'],
      ['beta', 'b'],
      ['gamma', 'a'],
    ] as const) {
      await s.call('POST', `${E}/create`, { name, tags: [{ key: 'team', value: team }] });
      clock.advance(1000);
    }
    const names = (r: { json: Record<string, unknown> }) =>
      ((r.json.experiments as { name: string }[] | undefined) ?? []).map((e) => e.name);

    const all = await s.call('POST', `${E}/search`, {});
    expect(names(all)).toEqual(['gamma', 'beta', 'alpha', 'Default']);
    expect(
      names(await s.call('POST', `${E}/search`, { filter: "tags.team = 'a'", order_by: ['name'] })),
    ).toEqual(['alpha', 'gamma']);
    expect(
      names(await s.call('GET', `${E}/search`, { filter: "name LIKE '%a' AND name != 'beta'" })),
    ).toEqual(['gamma', 'alpha']);
    expect(
      names(await s.call('POST', `${E}/search`, { filter: "attribute.name ILIKE 'B%'" })),
    ).toEqual(['beta']);
    expect(
      names(
        await s.call('POST', `${E}/search`, {
          filter: 'creation_time > 0',
          order_by: ['name DESC'],
        }),
      ),
    ).toEqual(['gamma', 'beta', 'alpha']);

    const first = await s.call('POST', `${E}/search`, { max_results: 3, order_by: ['name ASC'] });
    expect(names(first)).toEqual(['Default', 'alpha', 'beta']);
    const second = await s.call('POST', `${E}/search`, {
      max_results: 3,
      order_by: ['name ASC'],
      page_token: first.json.next_page_token,
    });
    expect(names(second)).toEqual(['gamma']);
    expect(second.json.next_page_token).toBeUndefined();

    expect(names(await s.call('POST', `${E}/search`, { view_type: 'DELETED_ONLY' }))).toEqual([]);
    for (const body of [
      { filter: "name = 'a' OR name = 'b'" },
      { filter: 'metrics.acc > 1' },
      { filter: "name > 'a'" },
      { filter: "name = 'unclosed" },
      { order_by: ['tags.team'] },
      { max_results: 50_001 },
      { page_token: 'not-a-token' },
      { view_type: 'SOME' },
    ]) {
      const r = await s.call('POST', `${E}/search`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
  });

  it('sets experiment tags, also on an experiment keel made', async () => {
    const run = await s.keel.tracker.startRun({ experiment: 'k' });
    await run.end();
    const id = (await s.keel.tracker.listExperiments())[0]!.id;
    const set = await s.call('POST', `${E}/set-experiment-tag`, {
      experiment_id: id,
      key: 'note',
      value: 'hi',
    });
    expect(set).toEqual({ status: 200, json: {} });
    expect((await s.call('GET', `${E}/get`, { experiment_id: id })).json.experiment).toMatchObject({
      name: 'k',
      tags: [{ key: 'note', value: 'hi' }],
    });
    const proto = await s.call('POST', `${E}/set-experiment-tag`, {
      experiment_id: id,
      key: '__proto__',
      value: 'x',
    });
    expect(proto.status).toBe(400);
  });
});

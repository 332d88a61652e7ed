/** MLflow's run routes over HTTP: NaN metrics, log-batch limits, refused writes that write nothing, ids, statuses, inputs, search paging and errors. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createKeel } from '../../src/keel.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { type MlflowServer, startMlflow } from './server.js';

let s: MlflowServer;
let clock: ManualClock;
beforeEach(async () => {
  clock = new ManualClock(1_750_000_000_000);
  s = await startMlflow({}, createKeel({ backend: memoryBackend(), clock }));
});
afterEach(async () => {
  await s.close();
});

const R = '/api/2.0/mlflow/runs';

async function newRun(experiment = 'exp', extra: Record<string, unknown> = {}): Promise<string> {
  let found = await s.call('GET', '/api/2.0/mlflow/experiments/get-by-name', {
    experiment_name: experiment,
  });
  if (found.status === 404) {
    await s.call('POST', '/api/2.0/mlflow/experiments/create', { name: experiment });
    found = await s.call('GET', '/api/2.0/mlflow/experiments/get-by-name', {
      experiment_name: experiment,
    });
  }
  const id = (found.json.experiment as { experiment_id: string }).experiment_id;
  const created = await s.call('POST', `${R}/create`, { experiment_id: id, ...extra });
  expect(created.status).toBe(200);
  clock.advance(1000);
  return (created.json.run as { info: { run_id: string } }).info.run_id;
}

const metric = (key: string, value: unknown, step = 0) => ({
  key,
  value,
  timestamp: 1_750_000_000_000 + step,
  step,
});

describe('MLflow runs over HTTP', () => {
  it('keeps NaN and infinities as proto3 JSON sends them ("NaN", "Infinity"), and refuses other non-numbers', async () => {
    const runId = await newRun();
    for (const [i, value] of ['NaN', 'Infinity', '-Infinity', 1.5].entries()) {
      const r = await s.call('POST', `${R}/log-metric`, {
        run_id: runId,
        ...metric('m', value, i),
      });
      expect(r.status, String(value)).toBe(200);
    }
    const history = await s.call('GET', '/api/2.0/mlflow/metrics/get-history', {
      run_id: runId,
      metric_key: 'm',
    });
    expect((history.json.metrics as { value: unknown }[]).map((m) => m.value)).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
      1.5,
    ]);
    for (const value of ['nan', '1.5', null, true, {}, 'inf']) {
      const r = await s.call('POST', `${R}/log-metric`, {
        run_id: runId,
        ...metric('m', value, 9),
      });
      expect(r.status, JSON.stringify(value)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    const noTimestamp = await s.call('POST', `${R}/log-metric`, {
      run_id: runId,
      key: 'm',
      value: 1,
    });
    expect(noTimestamp.json.message).toMatch(/Missing value for required parameter 'timestamp'/);
    // int64 fields may come as strings, as proto3 JSON writes them
    const asStrings = await s.call('POST', `${R}/log-metric`, {
      run_id: runId,
      key: 'n',
      value: 2,
      timestamp: '1750000000000',
      step: '3',
    });
    expect(asStrings.status).toBe(200);
    expect((await s.keel.tracker.getRun(runId)).metrics.n).toMatchObject({ step: 3, value: 2 });
  });

  it('refuses a log-batch over MLflow limits as MLflow does, and a bad batch writes nothing', async () => {
    const runId = await newRun();
    const many = (n: number, f: (i: number) => object) => Array.from({ length: n }, (_, i) => f(i));
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { metrics: many(1001, (i) => metric('m', i, i)) },
        /at most 1000 metrics\. Got 1001 metrics/,
      ],
      [
        { params: many(101, (i) => ({ key: `p${i}`, value: 'v' })) },
        /at most 100 params\. Got 101/,
      ],
      [{ tags: many(101, (i) => ({ key: `t${i}`, value: 'v' })) }, /at most 100 tags\. Got 101/],
      [
        {
          metrics: many(900, (i) => metric('m', i, i)),
          params: many(100, (i) => ({ key: `p${i}`, value: 'v' })),
          tags: [{ key: 't', value: 'v' }],
        },
        /at most 1000 metrics, params, and tags\. Got 1001/,
      ],
      [
        {
          params: [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ],
        },
        /Duplicate parameter keys/,
      ],
      // one bad point among good ones: nothing of the batch is written
      [
        {
          metrics: [metric('ok', 1), metric('__proto__', 2), metric('ok', 3, 1)],
          params: [{ key: 'p', value: 'v' }],
        },
        /__proto__/,
      ],
      [{ metrics: [metric('ok', 1), { key: 'ok', value: 2, timestamp: 1, step: -1 }] }, /step/],
      [{ metrics: [metric('ok', 1)], tags: [{ key: 't', value: 'x'.repeat(5001) }] }, /5000/],
      [{ metrics: 'not a list' }, /metrics/],
    ];
    for (const [batch, message] of cases) {
      const r = await s.call('POST', `${R}/log-batch`, { run_id: runId, ...batch });
      expect(r.status, String(message)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(r.json.message).toMatch(message);
    }
    const run = await s.keel.tracker.getRun(runId);
    expect(run.metrics).toEqual({});
    expect(run.params).toEqual({});
    expect(await s.keel.tracker.metricHistory(runId, 'ok')).toEqual([]);

    const full = await s.call('POST', `${R}/log-batch`, {
      run_id: runId,
      metrics: many(1000, (i) => metric('m', i, i)),
    });
    expect(full.status).toBe(200);
    expect(await s.keel.tracker.metricHistory(runId, 'm')).toHaveLength(1000);
  });

  it('refuses a changed param and writes to an ended run (400), keeps a param logged twice alike', async () => {
    const runId = await newRun();
    const param = (value: string) =>
      s.call('POST', `${R}/log-parameter`, { run_id: runId, key: 'lr', value });
    expect((await param('0.1')).status).toBe(200);
    expect((await param('0.1')).status).toBe(200);
    const changed = await param('0.2');
    expect(changed.status).toBe(400);
    expect(changed.json.error_code).toBe('INVALID_PARAMETER_VALUE');

    const end = await s.call('POST', `${R}/update`, {
      run_id: runId,
      status: 'KILLED',
      end_time: 5,
    });
    expect(end.status).toBe(200);
    expect(end.json.run_info).toMatchObject({ run_id: runId, status: 'KILLED' });
    expect(typeof (end.json.run_info as { end_time: unknown }).end_time).toBe('number');
    expect((await s.keel.tracker.getRun(runId)).status).toBe('killed');
    // the same status again is a no-op; another, or RUNNING, would reopen it
    expect((await s.call('POST', `${R}/update`, { run_id: runId, status: 'KILLED' })).status).toBe(
      200,
    );
    for (const status of ['RUNNING', 'FINISHED', 'SCHEDULED']) {
      expect((await s.call('POST', `${R}/update`, { run_id: runId, status })).status, status).toBe(
        400,
      );
    }
    const late = await s.call('POST', `${R}/set-tag`, { run_id: runId, key: 'k', value: 'v' });
    expect(late.status).toBe(400);
    expect(late.json.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('maps statuses both ways, by name or proto number, and RUNNING on a running run is a no-op', async () => {
    const a = await newRun();
    expect((await s.call('POST', `${R}/update`, { run_id: a, status: 'RUNNING' })).status).toBe(
      200,
    );
    expect(
      (await s.call('POST', `${R}/update`, { run_id: a, status: 4 })).json.run_info,
    ).toMatchObject({
      status: 'FAILED',
    });
    expect((await s.keel.tracker.getRun(a)).status).toBe('failed');
    const b = await newRun();
    await s.call('POST', `${R}/update`, { run_id: b, status: 'FINISHED' });
    expect((await s.keel.tracker.getRun(b)).status).toBe('completed');
    const renamed = await s.call('POST', `${R}/update`, { run_id: b, run_name: 'other' });
    expect(renamed.status).toBe(400);
  });

  it('answers for run ids as MLflow does: malformed 400, unknown 404; keel’s own runs are MLflow runs', async () => {
    for (const id of ['../x', '-a', '', 'a'.repeat(300)]) {
      const r = await s.call('GET', `${R}/get`, { run_id: id });
      expect(r.status, id).toBe(400);
    }
    for (const id of [
      '01j9z3k5q8m2x7c4v6b1n0p3r5',
      'abcdef0123456789abcdef0123456789',
      '__proto__x',
    ]) {
      const r = await s.call('GET', `${R}/get`, { run_id: id });
      expect(r.status === 404 || r.status === 400, id).toBe(true);
      if (/^[a-zA-Z0-9]/.test(id)) expect(r.json.error_code, id).toBe('RESOURCE_DOES_NOT_EXIST');
    }
    const native = await s.keel.tracker.startRun({
      experiment: 'native',
      name: 'keel-run',
      params: { lr: 0.05, warm: true },
    });
    native.logMetric('loss', 0.5, { step: 2, timestamp: 7 });
    await native.end('failed', new Error('boom'));
    const r = await s.call('GET', `${R}/get`, { run_uuid: native.id });
    expect(r.status).toBe(200);
    expect(r.json.run).toMatchObject({
      info: {
        run_id: native.id,
        run_name: 'keel-run',
        status: 'FAILED',
        lifecycle_stage: 'active',
      },
      data: {
        metrics: [{ key: 'loss', value: 0.5, step: 2, timestamp: 7 }],
        params: [
          { key: 'lr', value: '0.05' },
          { key: 'warm', value: 'true' },
        ],
      },
    });
  });

  it('records dataset inputs as keel lineage, and returns them with the run', async () => {
    const runId = await newRun();
    const input = {
      dataset: { name: 'train', digest: 'abc123', source_type: 'local', source: '{"uri": "/d"}' },
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
    };
    const r = await s.call('POST', `${R}/log-inputs`, { run_id: runId, datasets: [input, input] });
    expect(r.status).toBe(200);
    const got = await s.call('GET', `${R}/get`, { run_id: runId });
    expect((got.json.run as { inputs: unknown }).inputs).toEqual({ dataset_inputs: [input] });
    const run = await s.keel.tracker.getRun(runId);
    expect(run.inputs).toHaveLength(1);
    expect(run.inputs[0]).toMatchObject({ name: 'train', kind: 'dataset' });
    const lineage = await s.keel.tracker.lineage(run.inputs[0]!.digest);
    expect(lineage.consumedBy.map((x) => x.id)).toEqual([runId]);
    const bad = await s.call('POST', `${R}/log-inputs`, {
      run_id: runId,
      datasets: [{ dataset: { name: 'x', digest: 'd'.repeat(37), source_type: 'l', source: 's' } }],
    });
    expect(bad.status).toBe(400);
  });

  it('answers delete-tag: 404 for a tag the run lacks, NOT_IMPLEMENTED (501) for one it has', async () => {
    const runId = await newRun();
    await s.call('POST', `${R}/set-tag`, { run_id: runId, key: 'k', value: 'v' });
    expect((await s.call('POST', `${R}/delete-tag`, { run_id: runId, key: 'nope' })).status).toBe(
      404,
    );
    const has = await s.call('POST', `${R}/delete-tag`, { run_id: runId, key: 'k' });
    expect(has.status).toBe(501);
    expect(has.json.error_code).toBe('NOT_IMPLEMENTED');
    expect((await s.keel.tracker.getRun(runId)).tags.k).toBe('v');
  });

  it('pages search results with next_page_token, skipping deleted runs without losing any', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await newRun('paged'));
    for (const i of [1, 2, 5]) await s.call('POST', `${R}/delete`, { run_id: ids[i] });
    const exp = (
      (await s.call('GET', '/api/2.0/mlflow/experiments/get-by-name', { experiment_name: 'paged' }))
        .json.experiment as { experiment_id: string }
    ).experiment_id;
    const collect = async (view?: string) => {
      const seen: string[] = [];
      let token: unknown;
      do {
        const r = await s.call('POST', `${R}/search`, {
          experiment_ids: [exp],
          max_results: 2,
          ...(view ? { run_view_type: view } : {}),
          ...(token ? { page_token: token } : {}),
        });
        expect(r.status).toBe(200);
        const runs = (r.json.runs as { info: { run_id: string } }[] | undefined) ?? [];
        expect(runs.length).toBeLessThanOrEqual(2);
        seen.push(...runs.map((x) => x.info.run_id));
        token = r.json.next_page_token;
      } while (token);
      return seen.map((id) => ids.indexOf(id));
    };
    // newest first, as MLflow orders by default
    expect(await collect()).toEqual([6, 4, 3, 0]);
    expect(await collect('DELETED_ONLY')).toEqual([5, 2, 1]);
    expect(await collect('ALL')).toEqual([6, 5, 4, 3, 2, 1, 0]);
    for (const body of [
      { experiment_ids: [] },
      { experiment_ids: [exp, '0'] },
      { experiment_ids: [exp], max_results: 50_001 },
      { experiment_ids: [exp], filter: "params.lr > '1'" },
      { experiment_ids: [exp], filter: 'metrics.acc = 0.9 OR metrics.acc = 1' },
      { experiment_ids: [exp], filter: "dataset.name = 'train'" },
      { experiment_ids: [exp], order_by: ['lifecycle_stage'] },
      { experiment_ids: [exp], page_token: 'garbage' },
    ]) {
      const r = await s.call('POST', `${R}/search`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error_code).toBe('INVALID_PARAMETER_VALUE');
    }
    expect((await s.call('POST', `${R}/search`, { experiment_ids: ['abc'] })).status).toBe(404);
  });

  it('searches by status, run name, user and start time as MLflow names them', async () => {
    const a = await newRun('attrs', { run_name: 'alpha', user_id: 'ana' });
    const b = await newRun('attrs', { run_name: 'beta', user_id: 'bo' });
    await s.call('POST', `${R}/update`, { run_id: b, status: 'FINISHED' });
    const exp = (
      (await s.call('GET', '/api/2.0/mlflow/experiments/get-by-name', { experiment_name: 'attrs' }))
        .json.experiment as { experiment_id: string }
    ).experiment_id;
    const find = async (filter: string) =>
      (
        ((
          await s.call('POST', `${R}/search`, {
            experiment_ids: [exp],
            filter,
            order_by: ['run_name'],
          })
        ).json.runs ?? []) as { info: { run_id: string } }[]
      ).map((r) => (r.info.run_id === a ? 'a' : 'b'));
    expect(await find("status = 'FINISHED'")).toEqual(['b']);
    expect(await find("attributes.status != 'FINISHED'")).toEqual(['a']);
    expect(await find("status LIKE 'FIN%'")).toEqual(['b']);
    expect(await find("status IN ('RUNNING', 'KILLED')")).toEqual(['a']);
    expect(await find("status = 'SCHEDULED'")).toEqual([]);
    expect(await find("run_name = 'alpha'")).toEqual(['a']);
    expect(await find("attributes.`run name` ILIKE 'B%'")).toEqual(['b']);
    expect(await find("attributes.user_id = 'bo'")).toEqual(['b']);
    expect(await find(`run_id IN ('${a}')`)).toEqual(['a']);
    expect(await find(`start_time > ${clock.now() - 1500}`)).toEqual(['b']);
    expect(await find(`created >= 0 and tags."mlflow.runName" != 'alpha'`)).toEqual(['b']);
  });
});

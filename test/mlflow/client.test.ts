/**
 * The npm `mlflow` package (an MLflow REST client for Node no one here wrote) against
 * createMlflowHandler: experiments, runs, params, metrics, batches, history, search, update
 * and delete record into keel as into an MLflow server.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MlflowServer, startMlflow } from './server.js';

// a CommonJS package whose module.exports is the client class (its types call it `default`)
type MLflowClient = import('mlflow').default;
const MLflow = createRequire(import.meta.url)('mlflow') as new (options: {
  endpoint: string;
}) => MLflowClient;

let s: MlflowServer;
let client: MLflowClient;
beforeAll(async () => {
  // the client prints every request body it sends
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  s = await startMlflow();
  client = new MLflow({ endpoint: s.origin });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await s.close();
});

interface ClientRun {
  info: { run_id: string; status: string; experiment_id: string; lifecycle_stage: string };
  data: {
    metrics?: { key: string; value: number; step: number }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
}

describe('the npm mlflow client against keel', () => {
  it('creates an experiment and runs, logs params, metrics, tags and batches, and reads them back', async () => {
    const { experiment_id } = await client.Experiments.create({
      name: 'churn',
      artifact_location: '',
    });
    const { experiment } = await client.Experiments.get({ experiment_id });
    expect(experiment).toMatchObject({ experiment_id, name: 'churn' });

    const { run } = (await client.Runs.create({
      experiment_id,
      user_id: 'ana',
      start_time: Date.now(),
      tags: [{ key: 'mlflow.runName', value: 'gbm' }],
    })) as { run: ClientRun };
    const runId = run.info.run_id;
    expect(run.info).toMatchObject({ status: 'RUNNING', experiment_id, lifecycle_stage: 'active' });

    await client.Runs.logParameter({ run_id: runId, key: 'lr', value: '0.1' });
    for (let step = 0; step < 5; step++) {
      await client.Runs.logMetric({
        run_id: runId,
        key: 'loss',
        value: 1 / (step + 1),
        timestamp: 1_700_000_000_000 + step,
        step,
      });
    }
    await client.Runs.setTag({ run_id: runId, key: 'team', value: 'growth' });
    await client.Runs.logBatch({
      run_id: runId,
      metrics: [
        { key: 'acc', value: 0.8, timestamp: 1_700_000_000_100, step: 0 },
        { key: 'acc', value: 0.9, timestamp: 1_700_000_000_101, step: 1 },
      ],
      params: [{ key: 'depth', value: '6' }],
      tags: [{ key: 'stage', value: 'dev' }],
    });

    // keel holds it all, on the run MLflow named
    const stored = await s.keel.tracker.getRun(runId);
    expect(stored).toMatchObject({
      experiment: 'churn',
      name: 'gbm',
      status: 'running',
      params: { lr: '0.1', depth: '6' },
      tags: { team: 'growth', stage: 'dev', 'mlflow.user': 'ana', 'mlflow.runName': 'gbm' },
    });
    expect(stored.metrics.loss).toMatchObject({ value: 0.2, step: 4 });

    const history = (await client.Metrics.getHistory({ run_id: runId, metric_key: 'loss' })) as {
      metrics: { value: number; step: number; timestamp: number }[];
    };
    expect(history.metrics.map((m) => [m.step, m.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
      [3, 0.25],
      [4, 0.2],
    ]);
    expect(history.metrics[0]!.timestamp).toBe(1_700_000_000_000);

    const got = (await client.Runs.get({ run_id: runId })) as { run: ClientRun };
    expect(got.run.data.params).toEqual(
      expect.arrayContaining([
        { key: 'lr', value: '0.1' },
        { key: 'depth', value: '6' },
      ]),
    );
    expect(got.run.data.metrics).toEqual(
      expect.arrayContaining([
        { key: 'loss', value: 0.2, timestamp: 1_700_000_000_004, step: 4 },
        { key: 'acc', value: 0.9, timestamp: 1_700_000_000_101, step: 1 },
      ]),
    );

    await client.Runs.update({ run_id: runId, status: 'FINISHED' as never, end_time: Date.now() });
    const ended = await s.keel.tracker.getRun(runId);
    expect(ended.status).toBe('completed');
    expect(((await client.Runs.get({ run_id: runId })) as { run: ClientRun }).run.info.status).toBe(
      'FINISHED',
    );
  });

  it('searches runs with MLflow filters and order_by, and hides deleted runs until restored', async () => {
    const { experiment_id } = await client.Experiments.create({
      name: 'sweep',
      artifact_location: '',
    });
    const ids: string[] = [];
    for (const [lr, loss] of [
      ['0.1', 0.3],
      ['0.01', 0.2],
      ['0.1', 0.7],
    ] as const) {
      const { run } = (await client.Runs.create({
        experiment_id,
        user_id: 'ana',
        start_time: Date.now(),
      })) as { run: ClientRun };
      await client.Runs.logBatch({
        run_id: run.info.run_id,
        metrics: [{ key: 'loss', value: loss, timestamp: Date.now(), step: 0 }],
        params: [{ key: 'lr', value: lr }],
      });
      ids.push(run.info.run_id);
    }
    const search = async (filter: string, order_by: string[] = []) =>
      (
        (
          (await client.Runs.search({ experiment_ids: [experiment_id], filter, order_by })) as {
            runs?: ClientRun[];
          }
        ).runs ?? []
      ).map((r) => ids.indexOf(r.info.run_id));

    expect(await search("params.lr = '0.1'", ['metrics.loss ASC'])).toEqual([0, 2]);
    expect(await search('metrics.loss < 0.5', ['metrics.loss DESC'])).toEqual([0, 1]);
    expect(
      await search("attributes.status = 'RUNNING' and metrics.loss >= 0.2", ['metrics.loss']),
    ).toEqual([1, 0, 2]);
    expect((await search('')).sort()).toEqual([0, 1, 2]);

    await client.Runs.delete({ run_id: ids[1]! });
    expect(await search('', ['metrics.loss'])).toEqual([0, 2]);
    expect(
      ((await client.Runs.get({ run_id: ids[1]! })) as { run: ClientRun }).run.info.lifecycle_stage,
    ).toBe('deleted');
    await client.Runs.restore({ run_id: ids[1]! });
    expect(await search('', ['metrics.loss'])).toEqual([1, 0, 2]);
  });

  it('surfaces MLflow errors to the client', async () => {
    await expect(client.Runs.get({ run_id: '01j9z3k5q8m2x7c4v6b1n0p3r5' })).rejects.toThrow(
      /RESOURCE_DOES_NOT_EXIST/,
    );
    await expect(client.Experiments.get({ experiment_id: 'nope' })).rejects.toThrow(/404/);
  });
});

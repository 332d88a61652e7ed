import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { commandStep } from '../../src/pipeline/command-step.js';
import { createPipelineTestKeel } from '../../src/testing/pipeline.js';
import { repoRoot } from '../helpers/run-ts.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'mlflow');
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Whether something accepts connections at `uri`. */
async function listening(uri: string): Promise<boolean> {
  try {
    await fetch(`${uri}/api/2.0/mlflow/experiments/search`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch (error) {
    expect(String((error as Error & { cause?: { code?: string } }).cause?.code)).toBe(
      'ECONNREFUSED',
    );
    return false;
  }
}

/** A keel and a one-step pipeline whose step runs `options` with MLflow served to it. */
function mlflowPipeline(
  name: string,
  options: { command: string; args: string[]; env?: Record<string, string> },
  experiment?: string,
) {
  const { keel } = createPipelineTestKeel();
  const built = pipeline(name, experiment === undefined ? {} : { experiment })
    .step('fit', commandStep('fit', { ...options, mlflow: true }))
    .build();
  return { keel, run: () => built.run(undefined, { keel, captureEnvironment: false }) };
}

/** Checks that the tracking URI the program printed (`pattern`'s group) no longer listens. */
async function expectStopped(stdout: string, pattern: RegExp): Promise<void> {
  const uri = pattern.exec(stdout)?.[1];
  expect(uri).toBeDefined();
  expect(await listening(uri!)).toBe(false);
}

describe('commandStep({ mlflow: true })', () => {
  it('refuses an mlflow option that is not a boolean', () => {
    expect(() =>
      commandStep('fit', { command: 'python3', mlflow: 'yes' as unknown as boolean }),
    ).toThrow(ValidationError);
  });

  it('sets the environment, records what the program uploads on the step run, and stops listening after the step', async () => {
    const { keel, run: start } = mlflowPipeline(
      'mlflow-node',
      {
        command: process.execPath,
        args: [join(fixtures, 'upload.mjs')],
        env: { MLFLOW_EXPERIMENT_ID: 'inherited-and-dropped', MLFLOW_RUN_ID: 'overridden' },
      },
      'churn',
    );
    const result = await start();
    const runId = result.steps.fit?.runId as string;
    const run = await keel.tracker.getRun(runId);
    expect(run.status).toBe('completed');
    expect(run.experiment).toBe('churn');
    expect(
      JSON.parse(text(await keel.tracker.getRunArtifact(runId, 'model/weights.json'))),
    ).toEqual({ weights: [0.4, 1.2] });
    const stdout = text(await keel.artifacts.get(result.outputs.fit.stdout.digest));
    expect(stdout).toContain('"path":"model/weights.json","is_dir":false,"file_size":21');
    await expectStopped(stdout, /tracking uri (http:\/\/127\.0\.0\.1:\d+)/);
  });

  it('a Python script using only urllib logs params, metrics with steps, tags and an artifact onto the step run', async () => {
    const { keel, run: start } = mlflowPipeline(
      'mlflow-py',
      {
        command: 'python3',
        args: [join(fixtures, 'train_urllib.py')],
        env: { MLFLOW_EXPERIMENT_ID: 'inherited-and-dropped' },
      },
      'churn',
    );
    const result = await start();
    const runId = result.steps.fit?.runId as string;
    const run = await keel.tracker.getRun(runId);
    expect(run.status).toBe('completed');
    expect(run.experiment).toBe('churn');
    expect(run.params).toMatchObject({ lr: '0.05', epochs: '3' });
    expect(run.tags).toMatchObject({
      framework: 'urllib',
      'mlflow.note.content': 'trained by a stdlib script',
      'keel.mlflow.status': 'FINISHED',
    });
    const history = async (key: string) =>
      (await keel.tracker.metricHistory(runId, key)).map((p) => [p.step, p.value]);
    expect(await history('loss')).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
    ]);
    expect(await history('acc')).toEqual([
      [0, 0.5],
      [1, 0.6],
      [2, 0.7],
    ]);
    expect(text(await keel.tracker.getRunArtifact(runId, 'model/weights.txt'))).toBe(
      'w = [0.4, 1.2]\n',
    );
    const stdout = text(await keel.artifacts.get(result.outputs.fit.stdout.digest));
    await expectStopped(stdout, /logged to (http:\/\/127\.0\.0\.1:\d+)/);
  });

  it('a Node script using the npm mlflow client attaches to the step run; nothing listens after the step', async () => {
    const { keel, run: start } = mlflowPipeline('mlflow-node', {
      command: process.execPath,
      args: [join(fixtures, 'train-client.mjs')],
    });
    const result = await start();
    const runId = result.steps.fit?.runId as string;
    const run = await keel.tracker.getRun(runId);
    expect(run.status).toBe('completed');
    expect(run.params).toMatchObject({ optimizer: 'adam', batch: '32' });
    expect(run.tags).toMatchObject({ client: 'node', 'keel.mlflow.status': 'FINISHED' });
    expect((await keel.tracker.metricHistory(runId, 'loss')).map((p) => p.step)).toEqual([
      0, 1, 2, 3,
    ]);
    expect(run.metrics.auc).toMatchObject({ value: 0.93, step: 4 });
    expect(JSON.parse(text(await keel.tracker.getRunArtifact(runId, 'model.json')))).toEqual({
      weights: [0.4, 1.2],
    });
    const stdout = text(await keel.artifacts.get(result.outputs.fit.stdout.digest));
    await expectStopped(stdout, /tracking uri (http:\/\/127\.0\.0\.1:\d+)/);
  });

  it('stops serving when the program fails, and the step fails as without mlflow', async () => {
    const { keel, run: start } = mlflowPipeline('mlflow-fail', {
      command: process.execPath,
      args: ['-e', 'console.log("at " + process.env.MLFLOW_TRACKING_URI); process.exit(2)'],
    });
    const error = await start().catch((e) => e);
    expect(String(error.message)).toMatch(/exited with code 2/);
    const { runs } = await keel.tracker.searchRuns({ experiment: 'mlflow-fail' });
    const run = runs.find((r) => r.name === 'fit');
    expect(run?.status).toBe('failed');
    const stdout = text(await keel.tracker.getRunArtifact(run!.id, 'fit.stdout.log'));
    await expectStopped(stdout, /at (http:\/\/127\.0\.0\.1:\d+)/);
  });
});

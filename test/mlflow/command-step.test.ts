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

describe('commandStep({ mlflow: true })', () => {
  it('refuses an mlflow option that is not a boolean', () => {
    expect(() =>
      commandStep('fit', { command: 'python3', mlflow: 'yes' as unknown as boolean }),
    ).toThrow(ValidationError);
  });

  it('sets the environment, records what the program uploads on the step run, and stops listening after the step', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline('mlflow-node', { experiment: 'churn' })
      .step(
        'train',
        commandStep('train', {
          command: process.execPath,
          args: [join(fixtures, 'upload.mjs')],
          env: { MLFLOW_EXPERIMENT_ID: 'inherited-and-dropped', MLFLOW_RUN_ID: 'overridden' },
          mlflow: true,
        }),
      )
      .build();
    const result = await built.run(undefined, { keel, captureEnvironment: false });
    const runId = result.steps.train?.runId as string;
    const run = await keel.tracker.getRun(runId);
    expect(run.status).toBe('completed');
    expect(run.experiment).toBe('churn');
    expect(
      JSON.parse(text(await keel.tracker.getRunArtifact(runId, 'model/weights.json'))),
    ).toEqual({ weights: [0.4, 1.2] });
    const stdout = text(await keel.artifacts.get(result.outputs.train.stdout.digest));
    expect(stdout).toContain('"path":"model/weights.json","is_dir":false,"file_size":21');
    const uri = /tracking uri (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    expect(uri).toBeDefined();
    expect(await listening(uri!)).toBe(false);
  });

  it('a Python script using only urllib logs params, metrics with steps, tags and an artifact onto the step run', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline('mlflow-py', { experiment: 'churn' })
      .step(
        'fit',
        commandStep('fit', {
          command: 'python3',
          args: [join(fixtures, 'train_urllib.py')],
          env: { MLFLOW_EXPERIMENT_ID: 'inherited-and-dropped' },
          mlflow: true,
        }),
      )
      .build();
    const result = await built.run(undefined, { keel, captureEnvironment: false });
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
    const uri = /logged to (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    expect(uri).toBeDefined();
    expect(await listening(uri!)).toBe(false);
  });

  it('a Node script using the npm mlflow client attaches to the step run; nothing listens after the step', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline('mlflow-node')
      .step(
        'train',
        commandStep('train', {
          command: process.execPath,
          args: [join(fixtures, 'train-client.mjs')],
          mlflow: true,
        }),
      )
      .build();
    const result = await built.run(undefined, { keel, captureEnvironment: false });
    const runId = result.steps.train?.runId as string;
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
    const stdout = text(await keel.artifacts.get(result.outputs.train.stdout.digest));
    const uri = /tracking uri (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    expect(uri).toBeDefined();
    expect(await listening(uri!)).toBe(false);
  });

  it('stops serving when the program fails, and the step fails as without mlflow', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline('mlflow-fail')
      .step(
        'fit',
        commandStep('fit', {
          command: process.execPath,
          args: ['-e', 'console.log("at " + process.env.MLFLOW_TRACKING_URI); process.exit(2)'],
          mlflow: true,
        }),
      )
      .build();
    const error = await built.run(undefined, { keel, captureEnvironment: false }).catch((e) => e);
    expect(String(error.message)).toMatch(/exited with code 2/);
    const { runs } = await keel.tracker.searchRuns({ experiment: 'mlflow-fail' });
    const run = runs.find((r) => r.name === 'fit');
    expect(run?.status).toBe('failed');
    const stdout = text(await keel.tracker.getRunArtifact(run!.id, 'fit.stdout.log'));
    const uri = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    expect(uri).toBeDefined();
    expect(await listening(uri!)).toBe(false);
  });
});

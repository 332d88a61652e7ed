import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, trainPipeline } from '../../examples/train-pipeline.js';
import { pipeline } from '../../src/pipeline/builder.js';
import {
  createPipelineTestKeel,
  expectStepStatuses,
  recordedRuns,
  runPipelineForTest,
  withStep,
} from '../../src/testing/pipeline.js';
import { repoRoot, runTs } from '../helpers/run-ts.js';

describe('examples/train-pipeline.ts', () => {
  it('trains, gates and registers, and the second run reuses the cached model', async () => {
    const { first, second } = await main();
    expect(first.status).toBe('completed');
    expect(first.outputs.metrics.accuracy).toBeGreaterThan(0.7);
    expect(first.outputs.metrics.auc).toBeGreaterThan(0.75);
    expect(first.outputs.gate.passed).toBe(true);
    expect(first.outputs.registered.version).toBe(1);
    expect(second.steps.model).toMatchObject({ cached: true, explain: { decision: 'hit' } });
    expect(second.outputs.model).toEqual(first.outputs.model);
    expect(second.outputs.registered.version).toBe(2);
  });

  it('runs as a script from any directory', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'keel-train-'));
    try {
      const output = runTs(join(repoRoot, 'examples/train-pipeline.ts'), { cwd });
      expect(output).toMatch(/model\s+cached\s+cache hit/);
      expect(output).toContain('registered churn v2 as challenger (gate passed)');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('can be unit-tested with the testing helpers: a stubbed data source fails the gate', async () => {
    const noisy = withStep(trainPipeline, 'rows', ({ input }) =>
      Array.from({ length: (input as { rows: number }).rows }, (_, i) => ({
        tenure: i % 70,
        spend: 50,
        churned: (i % 2) as 0 | 1,
      })),
    );
    const { keel, result } = await runPipelineForTest(noisy, { rows: 100, seed: 1 });
    expect(result?.outputs.gate.passed).toBe(false);
    expect(result?.outputs.registered.version).toBeNull();
    expectStepStatuses(result!, { rows: 'completed', model: 'completed', registered: 'completed' });
    const { run, steps } = await recordedRuns(keel, result!);
    expect(run.tags['keel.pipeline']).toBe('churn-train');
    expect(steps.metrics?.metrics.accuracy?.value).toBe(result?.outputs.metrics.accuracy);
  });

  it('rejects bad data in the validation step', async () => {
    const broken = withStep(trainPipeline, 'rows', () => [
      { tenure: -5, spend: 10, churned: 1 as const },
    ]);
    const { error, outcome } = await runPipelineForTest(broken, { rows: 50, seed: 1 });
    expect((error as Error).message).toMatch(/failed at step "checked": data check failed/);
    expectStepStatuses(outcome!, { rows: 'completed', checked: 'failed', model: 'skipped' });
  });
});

describe('testing helpers', () => {
  it('expectStepStatuses names every mismatch', async () => {
    const { result } = await runPipelineForTest(
      pipeline('h')
        .step('a', () => 1)
        .build(),
      undefined,
    );
    expect(() => expectStepStatuses(result!, { a: 'cached', b: 'completed' })).toThrow(
      /step "a": expected cached, got completed; step "b": expected completed, got no result/,
    );
  });

  it('withStep refuses an unknown step', () => {
    const built = pipeline('h')
      .step('a', () => 1)
      .build();
    expect(() => withStep(built, 'zz' as 'a', () => 2)).toThrow(/has no step "zz"/);
  });

  it('createPipelineTestKeel runs on a manual clock', async () => {
    const { keel, clock } = createPipelineTestKeel();
    clock.set('2030-01-01T00:00:00Z');
    const result = await pipeline('h')
      .step('a', () => 1)
      .build()
      .run(undefined, { keel, captureEnvironment: false });
    const run = await keel.tracker.getRun(result.runId);
    expect(run.startTime).toBe('2030-01-01T00:00:00.000Z');
  });
});

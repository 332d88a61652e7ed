import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../src/core/errors.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { PipelineRunError } from '../../src/pipeline/errors.js';
import type { PipelineKeel } from '../../src/pipeline/types.js';
import {
  createPipelineTestKeel,
  expectStepStatuses,
  recordedRuns,
  runPipelineForTest,
} from '../../src/testing/pipeline.js';

function flakyPipeline(state: { failEvaluate: boolean; calls: string[] }) {
  const call = (name: string) => state.calls.push(name);
  return pipeline('lineage', { input: z.object({ seed: z.number() }) })
    .step('rows', ({ input }) => {
      call('rows');
      return [input.seed, input.seed + 1];
    })
    .step('model', ['rows'], ({ rows }) => {
      call('model');
      return { w: rows.reduce((a, b) => a + b, 0) };
    })
    .step('evaluate', ['model'], ({ model }) => {
      call('evaluate');
      if (state.failEvaluate) throw new Error('evaluation data missing');
      return { score: model.w / 10 };
    })
    .step('report', ['evaluate', 'model'], ({ evaluate, model }) => {
      call('report');
      return `${model.w}:${evaluate.score}`;
    })
    .build();
}

describe('lineage', () => {
  it('records the pipeline run and one child run per step, with lineage refs', async () => {
    const { keel } = createPipelineTestKeel();
    const state = { failEvaluate: false, calls: [] as string[] };
    const result = await flakyPipeline(state).run({ seed: 1 }, { keel, concurrency: 2 });
    const { run, steps } = await recordedRuns(keel, result);

    expect(run).toMatchObject({
      experiment: 'lineage',
      name: 'lineage',
      status: 'completed',
      tags: { 'keel.pipeline': 'lineage', 'keel.pipeline.status': 'completed' },
      params: {
        'keel.input_digest': result.inputDigest,
        'keel.concurrency': 2,
        'keel.steps': 4,
      },
    });
    expect(run.environment?.runtime.name).toBe('node');
    expect(run.inputs).toEqual([
      { digest: result.inputDigest, name: 'input', kind: 'pipeline-input' },
    ]);

    expect(Object.keys(steps)).toEqual(['rows', 'model', 'evaluate', 'report']);
    for (const [name, stepRun] of Object.entries(steps)) {
      expect(stepRun.parentRunId).toBe(result.runId);
      expect(stepRun.status).toBe('completed');
      expect(stepRun.tags).toMatchObject({
        'keel.pipeline': 'lineage',
        'keel.step': name,
        'keel.step.outcome': 'executed',
        'keel.step.attempts': '1',
        'keel.step.cached': 'false',
      });
      expect(stepRun.params['keel.step.version']).toMatch(/^src:/);
      expect(stepRun.outputs).toContainEqual({
        digest: result.steps[name]?.outputDigest,
        name: 'output',
        kind: 'step-output',
      });
    }
    // model's output is consumed by evaluate and report, produced by model
    const modelDigest = result.steps.model?.outputDigest;
    expect(steps.evaluate?.inputs).toContainEqual({
      digest: modelDigest,
      name: 'model',
      kind: 'step-output',
    });
    const lineage = await keel.tracker.lineage(modelDigest as `sha256:${string}`);
    expect(lineage.producedBy.map((r) => r.id)).toEqual([result.steps.model?.runId]);
    expect(lineage.consumedBy.map((r) => r.id).sort()).toEqual(
      [result.steps.evaluate?.runId, result.steps.report?.runId].sort(),
    );
    // the pipeline input is stored content, recorded once on the pipeline run
    expect(await keel.artifacts.has(result.inputDigest as `sha256:${string}`)).toBe(true);
    expect(steps.rows?.inputs).toEqual([]);
    expect(
      (await keel.tracker.lineage(result.inputDigest as `sha256:${string}`)).consumedBy.map(
        (r) => r.id,
      ),
    ).toEqual([result.runId]);
  });

  it('sets the tags run option on the pipeline run when it starts', async () => {
    const { keel } = createPipelineTestKeel();
    const seen: Record<string, string>[] = [];
    const built = pipeline('tagged')
      .step('look', async (_args, ctx) => {
        // visible while the run is still running, not only once it ended
        seen.push((await ctx.keel.tracker.getRun(ctx.runId)).tags);
        return 1;
      })
      .build();
    const tags = { 'keel.trigger.kind': 'manual', team: 'ml' };
    const result = await built.run(undefined, { keel, captureEnvironment: false, tags });
    expect(seen).toEqual([{ ...tags, 'keel.pipeline': 'tagged' }]);
    const { run, steps } = await recordedRuns(keel, result);
    expect(run.tags).toEqual({
      ...tags,
      'keel.pipeline': 'tagged',
      'keel.pipeline.status': 'completed',
    });
    // the step runs do not inherit them
    expect(steps.look?.tags).not.toHaveProperty('team');
  });

  it('refuses tags that would hide the runner tags, before anything is written', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline('tagged')
      .step('a', () => 1)
      .build();
    for (const key of ['keel.pipeline', 'keel.pipeline.status', 'keel.resumed_from']) {
      const error = await built
        .run(undefined, { keel, captureEnvironment: false, tags: { [key]: 'x' } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain("runner's own tags");
    }
    const bad = await built
      .run(undefined, { keel, captureEnvironment: false, tags: { n: 1 as unknown as string } })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((await keel.tracker.searchRuns({})).runs).toHaveLength(0);
  });

  it('records each step duration on the keel clock, as the step run start and end', async () => {
    const { keel, clock } = createPipelineTestKeel();
    const built = pipeline('timed')
      .step('slow', () => {
        clock.advance(250);
        return 1;
      })
      .build();
    const result = await built.run(undefined, { keel, captureEnvironment: false });
    expect(result.steps.slow?.durationMs).toBe(250);
    expect(result.durationMs).toBe(250);
    const { steps } = await recordedRuns(keel, result);
    const run = steps.slow!;
    expect(Date.parse(run.endTime ?? '') - Date.parse(run.startTime)).toBe(250);
  });

  it('records failed and cancelled steps as failed and killed runs', async () => {
    const state = { failEvaluate: true, calls: [] as string[] };
    const { keel, outcome, error } = await runPipelineForTest(flakyPipeline(state), { seed: 1 });
    expect(error).toBeInstanceOf(PipelineRunError);
    const { run, steps } = await recordedRuns(keel, outcome!);
    expect(run.status).toBe('failed');
    expect(run.error?.message).toBe('evaluation data missing');
    expect(steps.evaluate).toMatchObject({
      status: 'failed',
      error: { message: 'evaluation data missing' },
      tags: { 'keel.step.outcome': 'failed', 'keel.step.attempts': '1' },
    });
    expect(steps.report).toBeUndefined();
    expectStepStatuses(outcome!, {
      rows: 'completed',
      model: 'completed',
      evaluate: 'failed',
      report: 'skipped',
    });
  });
});

describe('resume', () => {
  it('reuses the successful steps of a failed run and records them as copied (metaflow#61)', async () => {
    const { keel } = createPipelineTestKeel();
    const state = { failEvaluate: true, calls: [] as string[] };
    const failed = await runPipelineForTest(flakyPipeline(state), { seed: 2 }, { keel });
    const runId = failed.outcome?.runId as string;
    expect(state.calls).toEqual(['rows', 'model', 'evaluate']);

    state.failEvaluate = false;
    state.calls = [];
    const copiedEvents: unknown[] = [];
    keel.events.on('step:finished', (e) => {
      if (e.status === 'copied') copiedEvents.push(e.step);
    });
    const resumed = await runPipelineForTest(
      flakyPipeline(state),
      { seed: 2 },
      { keel, resumeFrom: runId },
    );
    const result = resumed.result!;
    expect(state.calls).toEqual(['evaluate', 'report']);
    expect(result.outputs.report).toBe('5:0.5');
    expect(result.resumedFrom).toBe(runId);
    expectStepStatuses(result, {
      rows: 'copied',
      model: 'copied',
      evaluate: 'completed',
      report: 'completed',
    });
    expect(result.steps.model).toMatchObject({
      status: 'copied',
      cached: false,
      attempts: 0,
      explain: { decision: 'copied', sourceRunId: failed.outcome?.steps.model?.runId },
    });
    expect(copiedEvents).toEqual(['rows', 'model']);
    const { run, steps } = await recordedRuns(keel, result);
    expect(run.tags['keel.resumed_from']).toBe(runId);
    expect(run.params['keel.resume_from']).toBe(runId);
    expect(steps.model?.status).toBe('completed');
    expect(steps.model?.tags).toMatchObject({
      'keel.step.outcome': 'copied',
      'keel.step.attempts': '0',
      'keel.step.source_run': failed.outcome?.steps.model?.runId,
    });
    expect(steps.model?.outputs[0]?.digest).toBe(failed.outcome?.steps.model?.outputDigest);

    // resuming the resumed run copies what it copied and what it computed
    state.calls = [];
    const again = await runPipelineForTest(
      flakyPipeline(state),
      { seed: 2 },
      { keel, resumeFrom: result.runId },
    );
    expect(state.calls).toEqual([]);
    expectStepStatuses(again.result!, {
      rows: 'copied',
      model: 'copied',
      evaluate: 'copied',
      report: 'copied',
    });
  });

  it('resumes a run whose process died mid-run (no end record, run still open)', async () => {
    const { keel } = createPipelineTestKeel();
    let runId = '';
    keel.events.on('step:started', (e) => {
      if (e.step === 'b') runId = e.runId;
    });
    const calls: string[] = [];
    const make = (hang: boolean) =>
      pipeline('crash')
        .step('a', () => {
          calls.push('a');
          return 1;
        })
        .step('b', ({ a }) => {
          calls.push('b');
          // the first process "dies" here: this promise never settles
          return hang ? new Promise<number>(() => {}) : a + 1;
        })
        .build();
    void make(true).run(undefined, { keel, captureEnvironment: false });
    for (let i = 0; i < 100 && !runId; i++) await new Promise((r) => setTimeout(r, 5));
    expect(runId).not.toBe('');
    expect((await keel.tracker.getRun(runId)).status).toBe('running');

    const resumed = await runPipelineForTest(make(false), undefined, { keel, resumeFrom: runId });
    expectStepStatuses(resumed.result!, { a: 'copied', b: 'completed' });
    expect(resumed.result?.outputs.b).toBe(2);
    expect(calls).toEqual(['a', 'b', 'b']);
  });

  it('copies nothing whose inputs changed', async () => {
    const { keel } = createPipelineTestKeel();
    const state = { failEvaluate: true, calls: [] as string[] };
    const failed = await runPipelineForTest(flakyPipeline(state), { seed: 2 }, { keel });
    state.failEvaluate = false;
    state.calls = [];
    const resumed = await runPipelineForTest(
      flakyPipeline(state),
      { seed: 3 },
      {
        keel,
        resumeFrom: failed.outcome?.runId as string,
      },
    );
    expect(state.calls).toEqual(['rows', 'model', 'evaluate', 'report']);
    expect(resumed.result?.outputs.report).toBe('7:0.7');
  });

  it('re-executes a step whose output could not be stored, and the steps that consume it', async () => {
    const { keel } = createPipelineTestKeel();
    let fail = true;
    const calls: string[] = [];
    const built = pipeline('mem')
      .step('fn', () => {
        calls.push('fn');
        return (x: number) => x + 1; // a function: kept in memory, never stored
      })
      .step('value', ['fn'], ({ fn }) => {
        calls.push('value');
        return fn(1);
      })
      .step('last', ['value'], ({ value }) => {
        calls.push('last');
        if (fail) throw new Error('later');
        return value;
      })
      .build();
    const failed = await runPipelineForTest(built, undefined, { keel });
    fail = false;
    calls.length = 0;
    const resumed = await runPipelineForTest(built, undefined, {
      keel,
      resumeFrom: failed.outcome?.runId as string,
    });
    expect(calls).toEqual(['fn', 'value', 'last']);
    expectStepStatuses(resumed.result!, { fn: 'completed', value: 'completed', last: 'completed' });
    expect(resumed.result?.outputs.last).toBe(2);
  });

  it('refuses to resume from a run that does not exist or belongs to another pipeline', async () => {
    const { keel } = createPipelineTestKeel();
    const other = await pipeline('other')
      .step('a', () => 1)
      .build()
      .run(undefined, {
        keel,
        captureEnvironment: false,
      });
    const built = pipeline('mine')
      .step('a', () => 1)
      .build();
    const attempt = (resumeFrom: string, k: PipelineKeel = keel) =>
      built.run(undefined, { keel: k, resumeFrom, captureEnvironment: false });
    await expect(attempt(other.runId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(attempt('01jzzzzzzzzzzzzzzzzzzzzzzz')).rejects.toThrow(
      /no such run of this pipeline/,
    );
    await expect(attempt('../../etc')).rejects.toBeInstanceOf(ValidationError);
    const { runs } = await keel.tracker.searchRuns({ experiment: 'mine' });
    expect(runs).toHaveLength(0);
  });
});

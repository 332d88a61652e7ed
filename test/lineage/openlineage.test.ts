/**
 * OpenLineage events from pipelines, steps, plain runs and gate verdicts: their shape, their
 * links (parent runs, datasets between steps) and their validity against the OpenLineage
 * 2-0-2 JSON Schemas, on success, failure, abort, cache hits and resumed runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ValidationError } from '../../src/core/errors.js';
import { createIdGenerator } from '../../src/core/ids.js';
import { createKeel, type Keel } from '../../src/keel.js';
import type { OpenLineageOptions } from '../../src/lineage/openlineage/emitter.js';
import { keelRunIdOf, openLineageRunId } from '../../src/lineage/openlineage/run-id.js';
import type {
  OpenLineageFacet,
  OpenLineageJob,
  OpenLineageRunEvent,
} from '../../src/lineage/openlineage/spec.js';
import { consoleTransport } from '../../src/lineage/openlineage/transports.js';
import { createTrainingLoop } from '../../src/ops/training-loop.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { PipelineAbortedError, PipelineRunError } from '../../src/pipeline/errors.js';
import { testTelemetry } from '../helpers/otel.js';
import { openLineageProblems } from './openlineage-schema.js';

function lineageKeel(extra: Partial<OpenLineageOptions> = {}): {
  keel: Keel;
  events: OpenLineageRunEvent[];
} {
  const events: OpenLineageRunEvent[] = [];
  const keel = createKeel({
    backend: memoryBackend(),
    openLineage: { transport: (event) => void events.push(event), namespace: 'ml', ...extra },
  });
  return { keel, events };
}

/** Flushes, then checks every event against the schemas; returns the events. */
async function validEvents(keel: Keel, events: OpenLineageRunEvent[]) {
  expect(await keel.openLineage?.flush(5000)).toBe(true);
  expect(events.length).toBeGreaterThan(0);
  for (const event of events) expect(openLineageProblems(event), JSON.stringify(event)).toEqual([]);
  return events;
}

const of = (events: OpenLineageRunEvent[], job: string) =>
  events.filter((e) => e.job.name === job).map((e) => e.eventType);
const one = (events: OpenLineageRunEvent[], job: string, type: string) => {
  const found = events.filter((e) => e.job.name === job && e.eventType === type);
  expect(found, `${type} of ${job}`).toHaveLength(1);
  return found[0]!;
};

function trainPipeline(opts: { fail?: boolean; cache?: boolean } = {}) {
  return pipeline('train', { input: z.object({ n: z.number() }) })
    .step('rows', ({ input }) => Array.from({ length: input.n }, (_, i) => i))
    .step(
      'model',
      ['rows'],
      async ({ rows }, ctx) => {
        ctx.run.logMetric('loss', 0.25);
        ctx.run.logMetric('auc', Number.NaN);
        return { weights: rows.map((r) => r * 2) };
      },
      { cache: opts.cache ?? false },
    )
    .step('evaluate', ['model', 'rows'], ({ model }) => {
      if (opts.fail) throw new Error('evaluation data missing');
      return { score: model.weights.length };
    })
    .build();
}

describe('OpenLineage events of a pipeline run', () => {
  it('emits START and COMPLETE for the pipeline and every step, schema-valid and linked', async () => {
    const { keel, events } = lineageKeel();
    const result = await trainPipeline().run({ n: 3 }, { keel, captureEnvironment: false });
    await validEvents(keel, events);

    for (const job of ['train', 'train.rows', 'train.model', 'train.evaluate'])
      expect(of(events, job), job).toEqual(['START', 'COMPLETE']);
    const start = one(events, 'train', 'START');
    const done = one(events, 'train', 'COMPLETE');
    expect(start.run.runId).toBe(openLineageRunId(result.runId));
    expect(done.run.runId).toBe(start.run.runId);
    expect(keelRunIdOf(start.run.runId)).toBe(result.runId);
    expect(start.job).toMatchObject({
      namespace: 'ml',
      facets: { jobType: { processingType: 'BATCH', integration: 'KEEL', jobType: 'PIPELINE' } },
    });
    expect(start.producer).toBe('https://www.npmjs.com/package/keel');
    expect(start.schemaURL).toBe(
      'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    );
    expect(start.run.facets?.keel_params).toMatchObject({
      params: { 'keel.input_digest': result.inputDigest, 'keel.steps': 3 },
    });
    expect(start.inputs).toEqual([
      expect.objectContaining({
        namespace: 'ml',
        name: 'train.input',
        facets: expect.objectContaining({
          version: expect.objectContaining({ datasetVersion: result.inputDigest }),
        }),
      }),
    ]);
    expect(Date.parse(start.eventTime)).toBeLessThanOrEqual(Date.parse(done.eventTime));

    // each step is a child of the pipeline run; its datasets link to the steps that made them
    const model = one(events, 'train.model', 'COMPLETE');
    expect(model.run.facets?.parent).toMatchObject({
      run: { runId: start.run.runId },
      job: { namespace: 'ml', name: 'train' },
    });
    expect(model.job.facets?.jobType).toMatchObject({ jobType: 'STEP' });
    expect(model.run.runId).toBe(openLineageRunId(result.steps.model!.runId!));
    const modelOutput = model.outputs.find((d) => d.name === 'train.model.output');
    expect(modelOutput?.facets?.version).toMatchObject({
      datasetVersion: result.steps.model?.outputDigest,
    });
    expect(model.inputs.map((d) => d.name)).toEqual(['train.rows.output']);
    expect(model.run.facets?.keel_metrics).toMatchObject({ metrics: { loss: 0.25, auc: 'NaN' } });
    const evaluate = one(events, 'train.evaluate', 'START');
    expect(evaluate.inputs.map((d) => [d.name, d.facets?.version?.datasetVersion])).toEqual([
      ['train.model.output', result.steps.model?.outputDigest],
      ['train.rows.output', result.steps.rows?.outputDigest],
    ]);
    // START precedes COMPLETE for every run, in the order the transport received them
    for (const runId of new Set(events.map((e) => e.run.runId))) {
      expect(events.filter((e) => e.run.runId === runId).map((e) => e.eventType)).toEqual([
        'START',
        'COMPLETE',
      ]);
    }
    await keel.close();
  });

  it('a failed step emits FAIL with an ErrorMessageRunFacet, and so does its pipeline', async () => {
    const { keel, events } = lineageKeel();
    const error = await trainPipeline({ fail: true })
      .run({ n: 2 }, { keel, captureEnvironment: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineRunError);
    await validEvents(keel, events);
    expect(of(events, 'train.evaluate')).toEqual(['START', 'FAIL']);
    const failed = one(events, 'train.evaluate', 'FAIL');
    expect(failed.run.facets?.errorMessage).toMatchObject({
      message: 'evaluation data missing',
      programmingLanguage: 'JavaScript',
    });
    expect(failed.run.facets?.parent).toBeDefined();
    const pipelineFail = one(events, 'train', 'FAIL');
    expect(pipelineFail.run.facets?.errorMessage?.message).toContain('evaluation data missing');
    expect(of(events, 'train.model')).toEqual(['START', 'COMPLETE']);
    await keel.close();
  });

  it('an aborted run emits ABORT for the pipeline and the cancelled step', async () => {
    const { keel, events } = lineageKeel();
    const controller = new AbortController();
    const built = pipeline('stop')
      .step('first', () => 1)
      .step('wait', async (_args, ctx) => {
        controller.abort(new Error('operator pressed stop'));
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        throw ctx.signal.reason;
      })
      .build();
    const error = await built
      .run(undefined, { keel, signal: controller.signal, captureEnvironment: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineAbortedError);
    await validEvents(keel, events);
    expect(of(events, 'stop')).toEqual(['START', 'ABORT']);
    expect(of(events, 'stop.wait')).toEqual(['START', 'ABORT']);
    expect(one(events, 'stop', 'ABORT').run.facets?.errorMessage).toBeDefined();
    await keel.close();
  });

  it('a cache hit is a COMPLETE step run that says so, with the cached output as its version', async () => {
    const { keel, events } = lineageKeel();
    const first = await trainPipeline({ cache: true }).run({ n: 3 }, { keel });
    const second = await trainPipeline({ cache: true }).run({ n: 3 }, { keel });
    expect(second.steps.model?.cached).toBe(true);
    await validEvents(keel, events);
    const models = events.filter((e) => e.job.name === 'train.model' && e.eventType === 'COMPLETE');
    expect(models).toHaveLength(2);
    const [miss, hit] = models as [OpenLineageRunEvent, OpenLineageRunEvent];
    expect(hit.run.runId).not.toBe(miss.run.runId);
    expect(hit.run.facets?.keel_run).toMatchObject({
      tags: { 'keel.step.outcome': 'cached', 'keel.step.cached': 'true' },
    });
    expect(hit.run.facets?.parent).toMatchObject({
      run: { runId: openLineageRunId(second.runId) },
    });
    const version = (e: OpenLineageRunEvent) =>
      e.outputs.find((d) => d.name === 'train.model.output')?.facets?.version?.datasetVersion;
    expect(version(hit)).toBe(first.steps.model?.outputDigest);
    expect(version(hit)).toBe(version(miss));
    await keel.close();
  });

  it('a resumed run emits fresh runs: copied steps COMPLETE, the retried step runs again', async () => {
    const { keel, events } = lineageKeel();
    const failed = (await trainPipeline({ fail: true })
      .run({ n: 2 }, { keel, captureEnvironment: false })
      .catch((e: unknown) => e)) as PipelineRunError;
    events.length = 0;
    const resumed = await trainPipeline().run(
      { n: 2 },
      { keel, resumeFrom: failed.result.runId, captureEnvironment: false },
    );
    await validEvents(keel, events);
    expect(of(events, 'train')).toEqual(['START', 'COMPLETE']);
    expect(one(events, 'train', 'START').run.facets?.keel_params).toMatchObject({
      params: { 'keel.resume_from': failed.result.runId },
    });
    expect(one(events, 'train.model', 'COMPLETE').run.facets?.keel_run).toMatchObject({
      tags: { 'keel.step.outcome': 'copied' },
    });
    expect(of(events, 'train.evaluate')).toEqual(['START', 'COMPLETE']);
    expect(one(events, 'train.evaluate', 'COMPLETE').run.runId).toBe(
      openLineageRunId(resumed.steps.evaluate!.runId!),
    );
    await keel.close();
  });
});

describe('OpenLineage events of other runs and gates', () => {
  it('a plain tracked run is a run of its experiment; a child names its parent; artifacts are named by digest', async () => {
    const { keel, events } = lineageKeel();
    const parent = await keel.tracker.startRun({ experiment: 'churn', params: { lr: 0.1 } });
    const child = await keel.tracker.startRun({ experiment: 'churn-cv', parentRunId: parent.id });
    const data = await keel.artifacts.put('a,b\n1,2\n');
    await child.logInput({ digest: data.digest, name: 'train.csv', kind: 'dataset' });
    const model = await child.logArtifact('{"w":1}', { name: 'model.json' });
    await child.end();
    await parent.end('failed', new Error('cv diverged'));
    await validEvents(keel, events);
    expect(of(events, 'churn')).toEqual(['START', 'FAIL']);
    const childEnd = one(events, 'churn-cv', 'COMPLETE');
    expect(childEnd.run.facets?.parent).toMatchObject({ job: { name: 'churn' } });
    expect(childEnd.job.facets?.jobType).toMatchObject({ jobType: 'JOB' });
    expect(childEnd.inputs).toEqual([
      expect.objectContaining({
        name: data.digest,
        facets: expect.objectContaining({
          keel_artifact: expect.objectContaining({ name: 'train.csv', kind: 'dataset' }),
        }),
      }),
    ]);
    expect(childEnd.outputs.map((d) => d.name)).toEqual([model.digest]);
    await keel.close();
  });

  it('a gate verdict on a registered version becomes an OTHER event of the run that produced it', async () => {
    const { keel, events } = lineageKeel();
    const result = await trainPipeline().run({ n: 2 }, { keel, captureEnvironment: false });
    const { digest } = await keel.artifacts.put('weights');
    const v = await keel.registry.registerVersion('churn', {
      artifact: digest,
      runId: result.runId,
      metrics: { auc: 0.8 },
    });
    const report = await keel.gates.evaluate(
      { name: 'floor', rules: [{ kind: 'metric', metric: 'auc', min: 0.9 }] },
      { candidate: { metrics: v.metrics } },
      { subject: { model: 'churn', version: v.version } },
    );
    // without a subject there is no run to attach the verdict to
    await keel.gates.evaluate(
      { name: 'loose', rules: [{ kind: 'metric', metric: 'auc', min: 0.1 }] },
      { candidate: { metrics: v.metrics } },
    );
    await validEvents(keel, events);
    const other = one(events, 'train', 'OTHER');
    expect(other.run.runId).toBe(openLineageRunId(result.runId));
    expect(other.run.facets?.keel_gate).toMatchObject({
      policy: 'floor',
      decision: 'fail',
      passed: false,
      report: report.digest,
      subject: { model: 'churn', version: 1 },
    });
    await keel.close();
  });
});

describe('OpenLineage events of a training loop', () => {
  it('each triggered run emits its pipeline events, tagged with the trigger, and the gate verdict', async () => {
    const { keel, events } = lineageKeel();
    const trainer = pipeline<number>('retrain')
      .step('model', async ({ input }, ctx) => {
        const meta = await ctx.keel.artifacts.put(`weights ${input}`);
        return { digest: meta.digest, accuracy: input };
      })
      .build();
    const loop = createTrainingLoop({
      keel,
      pipeline: trainer,
      input: () => 0.9,
      register: {
        model: 'churn',
        artifact: (o) => o.model.digest,
        metrics: (o) => ({ accuracy: o.model.accuracy }),
      },
      gate: { name: 'floor', rules: [{ kind: 'metric', metric: 'accuracy', min: 0.8 }] },
      promoteTo: 'challenger',
    });
    const outcome = await loop.trigger('new data landed');
    expect(outcome.status).toBe('completed');
    await loop.stop();
    await validEvents(keel, events);
    expect(of(events, 'retrain')).toEqual(['START', 'COMPLETE', 'OTHER']);
    expect(of(events, 'retrain.model')).toEqual(['START', 'COMPLETE']);
    expect(one(events, 'retrain', 'START').run.facets?.keel_run).toMatchObject({
      tags: { 'keel.trigger.kind': 'manual', 'keel.trigger.reason': 'new data landed' },
    });
    expect(one(events, 'retrain', 'OTHER').run.facets?.keel_gate).toMatchObject({
      policy: 'floor',
      decision: 'pass',
      passed: true,
      subject: { model: 'churn', version: 1 },
    });
    await keel.close();
  });
});

describe('the OpenLineage emitter', () => {
  it('never blocks a pipeline: a stuck transport fills the bounded queue and the rest is dropped and counted', async () => {
    const telemetry = testTelemetry();
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const delivered: OpenLineageRunEvent[] = [];
    const keel = createKeel({
      backend: memoryBackend(),
      meter: telemetry.meter,
      openLineage: {
        transport: async (event) => {
          await stuck;
          delivered.push(event);
        },
        queueSize: 2,
      },
    });
    const result = await trainPipeline().run({ n: 2 }, { keel, captureEnvironment: false });
    expect(result.status).toBe('completed');
    const stats = keel.openLineage!.stats();
    // 4 runs, START + COMPLETE each: one in flight, two queued, five dropped
    expect(stats).toMatchObject({ emitted: 8, sent: 0, dropped: 5, pending: 3 });
    expect(stats.lastError).toBe('queue_full');
    expect(await keel.openLineage!.flush(20)).toBe(false);
    release();
    expect(await keel.openLineage!.flush(1000)).toBe(true);
    expect(keel.openLineage!.stats()).toMatchObject({ sent: 3, dropped: 5, pending: 0 });
    expect(delivered).toHaveLength(3);
    expect(delivered[0]).toMatchObject({ eventType: 'START', job: { name: 'train' } });
    const dropped = (await telemetry.metrics()).filter(
      (p) => p.name === 'keel.openlineage.events.dropped',
    );
    expect(dropped).toEqual([
      expect.objectContaining({
        attributes: { 'keel.openlineage.reason': 'queue_full' },
        value: 5,
      }),
    ]);
    await keel.close();
  });

  it('a throwing transport drops its events and the pipeline goes on', async () => {
    const { keel } = lineageKeel({
      transport: () => {
        throw new Error('collector down');
      },
    });
    const result = await trainPipeline().run({ n: 2 }, { keel, captureEnvironment: false });
    expect(result.status).toBe('completed');
    await keel.openLineage!.flush(1000);
    expect(keel.openLineage!.stats()).toMatchObject({ emitted: 8, sent: 0, dropped: 8 });
    expect(keel.openLineage!.stats().lastError).toBe('transport_error: collector down');
    await keel.close();
  });

  it('close() waits for queued events up to closeTimeoutMs, then drops the rest and closes the transport', async () => {
    let closed = 0;
    const keel = createKeel({
      backend: memoryBackend(),
      openLineage: {
        transport: { send: () => new Promise<void>(() => {}), close: () => void closed++ },
        closeTimeoutMs: 30,
      },
    });
    const run = await keel.tracker.startRun({ experiment: 'e' });
    await run.end();
    const started = Date.now();
    await keel.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(closed).toBe(1);
    // one START in flight forever, one COMPLETE queued and dropped at close
    expect(keel.openLineage!.stats()).toMatchObject({ emitted: 2, sent: 0, dropped: 1 });
  });

  it('the console transport writes one JSON line per event', async () => {
    const lines: string[] = [];
    const keel = createKeel({
      backend: memoryBackend(),
      openLineage: { transport: consoleTransport({ write: (line) => lines.push(line) }) },
    });
    const run = await keel.tracker.startRun({ experiment: 'e' });
    await run.end();
    await keel.close();
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain('\n');
      expect(openLineageProblems(JSON.parse(line))).toEqual([]);
    }
    expect(keel.openLineage!.stats()).toMatchObject({ emitted: 2, sent: 2, dropped: 0 });
  });

  it('flush refuses a timeout that is not a whole number of milliseconds', async () => {
    const { keel } = lineageKeel();
    for (const bad of [Number.NaN, -1, 1.5, 2 ** 31, '10'])
      await expect(keel.openLineage!.flush(bad as number)).rejects.toThrow(ValidationError);
    expect(await keel.openLineage!.flush(0)).toBe(true);
    await keel.close();
  });

  it('refuses bad options with a ValidationError, before anything is emitted', () => {
    const backend = memoryBackend();
    const bad: unknown[] = [
      {},
      { transport: 'http://localhost' },
      { transport: {} },
      { transport: () => {}, namespace: '' },
      { transport: () => {}, producer: 'not a uri' },
      { transport: () => {}, queueSize: 0 },
      { transport: () => {}, queueSize: Number.NaN },
      { transport: () => {}, closeTimeoutMs: -1 },
      { transport: () => {}, extra: true },
      JSON.parse('{"__proto__": {"x": 1}, "transport": 1}'),
    ];
    for (const openLineage of bad) {
      expect(
        () => createKeel({ backend, openLineage: openLineage as OpenLineageOptions }),
        JSON.stringify(openLineage),
      ).toThrow(ValidationError);
    }
  });

  it('the validator does reject what the spec forbids (it is not vacuous)', async () => {
    const { keel, events } = lineageKeel();
    const run = await keel.tracker.startRun({ experiment: 'e' });
    await run.end();
    const [event] = await validEvents(keel, events);
    const broken = (mutate: (e: OpenLineageRunEvent) => void) => {
      const copy = structuredClone(event!);
      mutate(copy);
      return openLineageProblems(copy);
    };
    expect(broken((e) => (e.run.runId = 'not-a-uuid'))).not.toEqual([]);
    expect(broken((e) => (e.eventTime = 'yesterday'))).not.toEqual([]);
    expect(broken((e) => ((e as { eventType: string }).eventType = 'DONE'))).not.toEqual([]);
    expect(broken((e) => delete (e.job as Partial<OpenLineageJob>).namespace)).not.toEqual([]);
    expect(broken((e) => delete e.job.facets?.jobType?.integration)).not.toEqual([]);
    expect(
      broken((e) => delete (e.run.facets!.keel_run as Partial<OpenLineageFacet>)._producer),
    ).not.toEqual([]);
    expect(
      broken((e) => {
        e.run.facets = { parent: { _producer: 'https://x', _schemaURL: 'https://x' } };
      }),
    ).not.toEqual([]);
    await keel.close();
  });
});

describe('openLineageRunId', () => {
  it('maps every keel run id to a distinct UUID and back', () => {
    const ids = createIdGenerator({ now: () => Date.now() });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (time) => {
        const id = createIdGenerator({ now: () => time })();
        const uuid = openLineageRunId(id);
        expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(keelRunIdOf(uuid)).toBe(id);
        expect(keelRunIdOf(uuid.toUpperCase())).toBe(id);
      }),
    );
    const a = ids();
    const b = ids();
    expect(openLineageRunId(a)).not.toBe(openLineageRunId(b));
    // the ULID's 48-bit millisecond time is the UUID's first 48 bits
    const at = createIdGenerator({ now: () => 0x0123456789ab })();
    expect(openLineageRunId(at).startsWith('01234567-89ab-')).toBe(true);
    expect(openLineageRunId('00000000000000000000000000')).toBe(
      '00000000-0000-0000-0000-000000000000',
    );
    expect(openLineageRunId('7zzzzzzzzzzzzzzzzzzzzzzzzz')).toBe(
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    );
  });

  it('refuses what is not a keel run id or a UUID', () => {
    for (const bad of ['', 'x', '8zzzzzzzzzzzzzzzzzzzzzzzzz', '0000000000000000000000000u', 42])
      expect(() => openLineageRunId(bad as string)).toThrow(ValidationError);
    for (const bad of ['', '0000', 'g0000000-0000-0000-0000-000000000000', null])
      expect(() => keelRunIdOf(bad as string)).toThrow(ValidationError);
  });
});

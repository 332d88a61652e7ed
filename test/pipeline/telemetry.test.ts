import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../../src/pipeline/builder.js';
import { createPipelineTestKeel } from '../../src/testing/pipeline.js';
import { testTelemetry } from '../helpers/otel.js';

function build(fail: boolean) {
  return pipeline('otel')
    .step('load', () => [1, 2, 3])
    .step(
      'fit',
      ['load'],
      async ({ load }, ctx) => {
        ctx.run.logMetric('loss', 0.5, { step: 0 });
        await ctx.run.logArtifact('weights', { name: 'weights.bin' });
        return load.length;
      },
      { cache: true, version: '1' },
    )
    .step(
      'check',
      ['fit'],
      (_args, ctx) => {
        if (fail && ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
        if (fail) throw new Error('broken for good');
        return true;
      },
      { retries: 2, backoff: { minDelayMs: 0 } },
    )
    .build();
}

describe('pipeline telemetry (real OpenTelemetry SDK)', () => {
  it('nests one keel.step.run span per step under keel.pipeline.run, with the documented attributes', async () => {
    const otel = testTelemetry();
    const { keel } = createPipelineTestKeel({ tracer: otel.tracer, meter: otel.meter });
    const first = await build(false).run(undefined, { keel, captureEnvironment: false });
    const second = await build(false).run(undefined, { keel, captureEnvironment: false });

    const spans = otel.spans();
    const runs = spans.filter((s) => s.name === 'keel.pipeline.run');
    expect(runs.map((s) => s.attributes['keel.pipeline.run_id'])).toEqual([
      first.runId,
      second.runId,
    ]);
    for (const span of runs) expect(span.attributes['keel.pipeline.name']).toBe('otel');

    const secondRun = runs[1]!;
    const steps = spans.filter(
      (s) =>
        s.name === 'keel.step.run' &&
        s.parentSpanContext?.spanId === secondRun.spanContext().spanId,
    );
    expect(steps.map((s) => s.attributes['keel.step.name']).sort()).toEqual([
      'check',
      'fit',
      'load',
    ]);
    for (const step of steps) {
      expect(step.spanContext().traceId).toBe(secondRun.spanContext().traceId);
      expect(step.attributes).toMatchObject({
        'keel.pipeline.name': 'otel',
        'keel.pipeline.run_id': second.runId,
      });
    }
    const fit = steps.find((s) => s.attributes['keel.step.name'] === 'fit')!;
    expect(fit.attributes['keel.step.cache_hit']).toBe(true);
    expect(fit.attributes['keel.step.attempt']).toBe(0);
    const load = steps.find((s) => s.attributes['keel.step.name'] === 'load')!;
    expect(load.attributes).toMatchObject({ 'keel.step.cache_hit': false, 'keel.step.attempt': 1 });

    // the services the steps used report under their documented names
    const names = new Set(spans.map((s) => s.name));
    expect(names.has('keel.artifacts.put')).toBe(true);
    expect(names.has('keel.tracker.log_batch')).toBe(true);
    const put = spans.find((s) => s.name === 'keel.artifacts.put')!;
    expect(put.attributes['keel.artifact.digest']).toMatch(/^sha256:/);

    const points = await otel.metrics();
    const hits = points.filter((p) => p.name === 'keel.step.cache.hits');
    const misses = points.filter((p) => p.name === 'keel.step.cache.misses');
    expect(hits).toEqual([
      {
        name: 'keel.step.cache.hits',
        attributes: { 'keel.pipeline.name': 'otel', 'keel.step.name': 'fit' },
        value: 1,
      },
    ]);
    expect(misses.map((p) => p.value)).toEqual([1]);
    const durations = points.filter((p) => p.name === 'keel.step.duration');
    expect(durations.map((p) => p.attributes['keel.step.name']).sort()).toEqual([
      'check',
      'fit',
      'load',
    ]);
    for (const point of durations) {
      expect((point.value as { count: number }).count).toBe(2);
    }
  });

  it('records errors with status ERROR on the failed step and the pipeline, with every attempt', async () => {
    const otel = testTelemetry();
    const { keel } = createPipelineTestKeel({ tracer: otel.tracer, meter: otel.meter });
    await expect(build(true).run(undefined, { keel, captureEnvironment: false })).rejects.toThrow(
      'broken for good',
    );
    const spans = otel.spans();
    const run = spans.find((s) => s.name === 'keel.pipeline.run')!;
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    const check = spans.find(
      (s) => s.attributes['keel.step.name'] === 'check' && s.name === 'keel.step.run',
    )!;
    expect(check.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'broken for good' });
    expect(check.attributes['keel.step.attempt']).toBe(3);
    expect(check.events.filter((e) => e.name === 'keel.step.attempt_failed')).toHaveLength(3);
    expect(check.events.some((e) => e.name === 'exception')).toBe(true);
    const fit = spans.find(
      (s) => s.attributes['keel.step.name'] === 'fit' && s.name === 'keel.step.run',
    )!;
    expect(fit.status.code).not.toBe(SpanStatusCode.ERROR);
    const durations = (await otel.metrics()).filter((p) => p.name === 'keel.step.duration');
    expect(
      durations.find((p) => p.attributes['keel.step.name'] === 'check')?.attributes[
        'keel.step.status'
      ],
    ).toBe('failed');
  });

  it('steps that use the registry and gates report their documented spans in the same trace backend', async () => {
    const otel = testTelemetry();
    const { keel } = createPipelineTestKeel({ tracer: otel.tracer, meter: otel.meter });
    const built = pipeline('release')
      .step('train', async (_args, ctx) => {
        const meta = await ctx.run.logArtifact('weights', { name: 'model.bin' });
        return { digest: meta.digest, size: meta.size, mediaType: meta.mediaType };
      })
      .step('gate', ['train'], async () => {
        const report = await keel.gates.evaluate(
          { name: 'floor', rules: [{ kind: 'metric', metric: 'auc', min: 0.5 }] },
          { candidate: { metrics: { auc: 0.8 } } },
        );
        return report.passed;
      })
      .step('register', ['train', 'gate'], async ({ train, gate }, ctx) => {
        const version = await keel.registry.registerVersion('churn', {
          artifact: train,
          runId: ctx.run.id,
        });
        if (gate) await keel.registry.setAlias('churn', 'challenger', version.version);
        return version.version;
      })
      .build();
    const result = await built.run(undefined, { keel, captureEnvironment: false });
    expect(result.outputs.register).toBe(1);
    const names = new Set(otel.spans().map((s) => s.name));
    for (const name of [
      'keel.pipeline.run',
      'keel.step.run',
      'keel.artifacts.put',
      'keel.gate.evaluate',
      'keel.registry.register_version',
      'keel.registry.set_alias',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
    const gate = otel.spans().find((s) => s.name === 'keel.gate.evaluate')!;
    expect(gate.attributes['keel.gate.policy']).toBe('floor');
  });
});

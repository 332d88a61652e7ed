import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ArtifactStore } from '../../src/artifacts/types.js';
import { verifyBytes, verifyChunks } from '../../src/artifacts/verify.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import type { Digest } from '../../src/core/digest.js';
import { ValidationError } from '../../src/core/errors.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { PipelineRunError } from '../../src/pipeline/errors.js';
import type { PipelineKeel } from '../../src/pipeline/types.js';
import { createPipelineTestKeel, withStep } from '../../src/testing/pipeline.js';

const run = <In, O>(
  p: { run(i: In, o: { keel: PipelineKeel; captureEnvironment: boolean }): Promise<O> },
  input: In,
  keel: PipelineKeel,
) => p.run(input, { keel, captureEnvironment: false });

function counted() {
  const calls: Record<string, number> = {};
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  return { calls, count };
}

function trainPipeline(count: (name: string) => void, version = '1') {
  return pipeline('train', { input: z.object({ n: z.number() }) })
    .step('rows', ({ input }) => {
      count('rows');
      return Array.from({ length: input.n }, (_, i) => i);
    })
    .step(
      'model',
      ['rows'],
      ({ rows }) => {
        count('model');
        return { weights: rows.map((r) => r * 2) };
      },
      { cache: true, version },
    )
    .step('report', ['model'], ({ model }) => model.weights.length)
    .build();
}

describe('step cache', () => {
  it('hits on a re-run with the same inputs and version, without calling the step', async () => {
    const { keel } = createPipelineTestKeel();
    const { calls, count } = counted();
    const cachedEvents: unknown[] = [];
    keel.events.on('step:cached', (e) => cachedEvents.push(e));
    const first = await run(trainPipeline(count), { n: 3 }, keel);
    const second = await run(trainPipeline(count), { n: 3 }, keel);
    expect(calls).toEqual({ rows: 2, model: 1 });
    expect(second.outputs).toEqual(first.outputs);
    expect(first.steps.model).toMatchObject({
      cached: false,
      attempts: 1,
      explain: { decision: 'miss' },
    });
    expect(first.steps.model?.explain?.message).toBe('cache miss: no earlier run of this step');
    expect(second.steps.model).toMatchObject({
      status: 'completed',
      cached: true,
      attempts: 0,
      explain: { decision: 'hit', sourceRunId: first.steps.model?.runId },
    });
    expect(second.steps.model?.explain?.key).toBe(first.steps.model?.explain?.key);
    expect(second.steps.rows?.explain?.decision).toBe('off');
    expect(cachedEvents).toEqual([
      {
        pipeline: 'train',
        runId: second.runId,
        step: 'model',
        key: second.steps.model?.explain?.key,
      },
    ]);
  });

  it('explains a miss by the key part that changed versus the last run of the step', async () => {
    const { keel } = createPipelineTestKeel();
    const { count } = counted();
    await run(trainPipeline(count, '1'), { n: 3 }, keel);

    const versionBumped = await run(trainPipeline(count, '2'), { n: 3 }, keel);
    expect(versionBumped.steps.model?.explain).toMatchObject({
      decision: 'miss',
      changed: ['version'],
    });
    expect(versionBumped.steps.model?.explain?.message).toMatch(
      /changed since step run \w+: version/,
    );

    const inputChanged = await run(trainPipeline(count, '2'), { n: 4 }, keel);
    expect(inputChanged.steps.model?.explain?.changed).toEqual(['inputs.input', 'inputs.rows']);

    // back to an earlier key: a hit again, whatever ran in between
    const back = await run(trainPipeline(count, '1'), { n: 3 }, keel);
    expect(back.steps.model?.cached).toBe(true);
  });

  it('without an explicit version, a change to the function source is a miss (zenml#1011)', async () => {
    const { keel } = createPipelineTestKeel();
    const make = (fn: (args: { input: number }) => number) =>
      pipeline<number>('src').step('s', fn, { cache: true }).build();
    await run(
      make(({ input }) => input + 1),
      1,
      keel,
    );
    expect(
      (
        await run(
          make(({ input }) => input + 1),
          1,
          keel,
        )
      ).steps.s?.cached,
    ).toBe(true);
    const changed = await run(
      make(({ input }) => input + 2),
      1,
      keel,
    );
    expect(changed.steps.s?.explain).toMatchObject({ decision: 'miss', changed: ['version'] });
    expect(changed.outputs.s).toBe(3);
  });

  it('is a miss when the cached output artifact is gone, and says so (kubeflow#7939)', async () => {
    const { keel } = createPipelineTestKeel();
    const { calls, count } = counted();
    const first = await run(trainPipeline(count), { n: 2 }, keel);
    const digest = first.steps.model?.outputDigest as Digest;
    expect(await keel.artifacts.delete(digest)).toBe(true);
    const second = await run(trainPipeline(count), { n: 2 }, keel);
    expect(calls.model).toBe(2);
    expect(second.steps.model?.explain?.decision).toBe('miss');
    expect(second.steps.model?.explain?.message).toContain(`${digest} is gone`);
    expect(second.outputs.model).toEqual(first.outputs.model);
  });

  it('an ArtifactRef output stays a reference, and a hit needs the referenced artifact intact', async () => {
    const corrupt = new Set<Digest>();
    const { keel } = createPipelineTestKeel({
      backend: {
        artifacts: corrupting(createMemoryArtifactStore(), corrupt),
        metadata: createMemoryMetadataStore(),
      },
    });
    let trained = 0;
    const weights = 'x'.repeat(10_000);
    const built = pipeline('refs')
      .step(
        'model',
        async (_args, ctx) => {
          trained++;
          const meta = await ctx.run.logArtifact(weights, { name: 'weights.bin' });
          return { weights: { digest: meta.digest, size: meta.size, mediaType: meta.mediaType } };
        },
        { cache: true, version: '1' },
      )
      .build();
    const first = await run(built, undefined, keel);
    const ref = first.outputs.model.weights;
    expect(ref.size).toBe(10_000);
    // the stored output is the small reference, not the referenced bytes
    const stored = await keel.artifacts.stat(first.steps.model?.outputDigest as Digest);
    expect(stored?.size).toBeLessThan(200);

    expect((await run(built, undefined, keel)).steps.model?.cached).toBe(true);

    corrupt.add(ref.digest);
    const afterCorruption = await run(built, undefined, keel);
    expect(afterCorruption.steps.model?.cached).toBe(false);
    expect(afterCorruption.steps.model?.explain?.message).toContain(
      `${ref.digest} no longer matches its digest`,
    );
    corrupt.clear();

    await keel.artifacts.delete(ref.digest);
    const afterDelete = await run(built, undefined, keel);
    expect(afterDelete.steps.model?.explain?.message).toContain(`${ref.digest} is gone`);
    expect(trained).toBe(3);
  });

  it('makes a step uncacheable when an input has no deterministic digest, never a wrong hit', async () => {
    const { keel } = createPipelineTestKeel();
    let calls = 0;
    class Model {
      constructor(readonly w: number) {}
      predict(x: number) {
        return x * this.w;
      }
    }
    const make = (w: number) =>
      pipeline('u')
        .step('model', () => new Model(w))
        .step(
          'score',
          ['model'],
          ({ model }) => {
            calls++;
            return model.predict(2);
          },
          { cache: true, version: '1' },
        )
        .build();
    const first = await run(make(1), undefined, keel);
    const second = await run(make(5), undefined, keel);
    expect(calls).toBe(2);
    expect(second.outputs.score).toBe(10);
    expect(first.steps.score?.explain?.decision).toBe('uncacheable');
    expect(first.steps.score?.explain?.message).toMatch(
      /argument "model" has no deterministic digest.*Model/,
    );
  });

  it('refuses a cached step output that cannot be serialized, naming the step, without retrying', async () => {
    const { keel } = createPipelineTestKeel();
    let calls = 0;
    const built = pipeline('bad')
      .step(
        'fn',
        () => {
          calls++;
          return { predict: (x: number) => x };
        },
        { cache: true, retries: 3, backoff: { minDelayMs: 0 } },
      )
      .build();
    const error = (await run(built, undefined, keel).catch((e: unknown) => e)) as PipelineRunError;
    expect(error).toBeInstanceOf(PipelineRunError);
    expect(error.cause).toBeInstanceOf(ValidationError);
    expect((error.cause as Error).message).toMatch(
      /step "fn" of pipeline "bad" returned a value that cannot be cached/,
    );
    expect((error.cause as Error).message).toContain('predict');
    expect(calls).toBe(1);
  });

  it('caches every step with the pipeline option, unless a step opts out', async () => {
    const { keel } = createPipelineTestKeel();
    const { calls, count } = counted();
    const built = pipeline('all', { cache: true })
      .step('a', () => {
        count('a');
        return 1;
      })
      .step(
        'b',
        () => {
          count('b');
          return 2;
        },
        { cache: false },
      )
      .build();
    await run(built, undefined, keel);
    const second = await run(built, undefined, keel);
    expect(calls).toEqual({ a: 1, b: 2 });
    expect(second.steps.a?.cached).toBe(true);
    expect(second.steps.b?.explain?.decision).toBe('off');
  });

  it('hands downstream the same JSON form on a miss as on a hit', async () => {
    const { keel } = createPipelineTestKeel();
    const seen: unknown[] = [];
    const built = pipeline('json')
      .step('when', () => ({ at: new Date(0), skip: undefined }), { cache: true, version: '1' })
      .step('use', ['when'], ({ when }) => {
        seen.push(when);
        return 1;
      })
      .build();
    await run(built, undefined, keel);
    await run(built, undefined, keel);
    expect(seen).toEqual([{ at: '1970-01-01T00:00:00.000Z' }, { at: '1970-01-01T00:00:00.000Z' }]);
  });

  it('withStep stubs a step without hitting the real step cache', async () => {
    const { keel } = createPipelineTestKeel();
    const { count } = counted();
    const real = trainPipeline(count);
    await run(real, { n: 2 }, keel);
    const stubbed = withStep(real, 'model', () => ({ weights: [42] }));
    const result = await run(stubbed, { n: 2 }, keel);
    expect(result.outputs.model).toEqual({ weights: [42] });
    expect(result.outputs.report).toBe(1);
    expect(result.steps.model?.cached).toBe(false);
  });
});

/** Wraps a store so that reads of the digests in `corrupt` return altered bytes. */
function corrupting(inner: ArtifactStore, corrupt: Set<Digest>): ArtifactStore {
  const alter = (bytes: Uint8Array) => {
    const copy = bytes.slice();
    copy[0] = (copy[0] ?? 0) ^ 1;
    return copy;
  };
  return {
    ...inner,
    put: (body, opts) => inner.put(body, opts),
    get: async (digest) => {
      const bytes = await inner.get(digest);
      return corrupt.has(digest) ? verifyBytes(digest, alter(bytes), 'test store') : bytes;
    },
    stream: (digest) => {
      if (!corrupt.has(digest)) return inner.stream(digest);
      const altered = (async function* () {
        yield alter(await inner.get(digest));
      })();
      return verifyChunks(digest, altered, 'test store');
    },
    stat: (digest) => inner.stat(digest),
    has: (digest) => inner.has(digest),
    list: (opts) => inner.list(opts),
    delete: (digest) => inner.delete(digest),
  };
}

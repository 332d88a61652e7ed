/**
 * Type test: `npm run typecheck` compiles this file, so each `@ts-expect-error` below must
 * still be an error (a stale one fails CI). The runtime test only checks the happy path.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pipeline } from '../../src/pipeline/builder.js';
import type { PipelineResult } from '../../src/pipeline/types.js';
import { createPipelineTestKeel } from '../../src/testing/pipeline.js';

const train = pipeline('typed', {
  input: z.object({ since: z.string(), limit: z.coerce.number() }),
})
  .step('rows', async ({ input }) =>
    Array.from({ length: input.limit }, (_, i) => `${input.since}:${i}`),
  )
  .step('checked', ['rows'], ({ rows }) => rows.map((row) => row.length))
  .step('model', ['checked'], async ({ checked }, ctx) => ({
    weights: checked,
    attempt: ctx.attempt,
  }))
  .step('report', ['model', 'checked'], ({ model, checked }) => ({
    total: model.weights.reduce((a, b) => a + b, 0) + checked.length,
  }))
  .build();

function typeErrors(): void {
  pipeline('t')
    .step('a', () => 1)
    // @ts-expect-error an unknown dependency name
    .step('b', ['nope'], () => 2);

  pipeline('t')
    .step('a', () => 'text')
    // @ts-expect-error misusing a dependency's type: `a` is a string
    .step('b', ['a'], ({ a }) => a.toFixed(2));

  pipeline('t')
    .step('a', () => 1)
    .step('b', () => 2)
    // @ts-expect-error `b` is not among this step's dependencies
    .step('c', ['a'], ({ b }) => b);

  pipeline('t')
    .step('a', () => 1)
    // @ts-expect-error a duplicate step name
    .step('a', () => 2);

  // @ts-expect-error `input` is reserved
  pipeline('t').step('input', () => 1);

  // @ts-expect-error the input type comes from the schema
  pipeline('t', { input: z.object({ n: z.number() }) }).step('a', ({ input }) => input.m);

  // @ts-expect-error run() takes the schema's input type
  void train.run({ since: 1, limit: 2 }, { keel: createPipelineTestKeel().keel });

  // @ts-expect-error outputs are typed: `report.total` is a number
  const _s: Promise<string> = train
    .run({ since: 'x', limit: 1 }, { keel: createPipelineTestKeel().keel })
    .then((r) => r.outputs.report.total);

  void train
    .run({ since: 'x', limit: 1 }, { keel: createPipelineTestKeel().keel })
    // @ts-expect-error no such output
    .then((r) => r.outputs.nope);
}

describe('type flow', () => {
  it('passes each dependency its typed output and returns typed outputs', async () => {
    expect(typeof typeErrors).toBe('function');
    const { keel } = createPipelineTestKeel();
    // the schema's input type: limit may be a string (z.coerce), the steps see a number
    const result: PipelineResult<{ report: { total: number } }> = await train.run(
      { since: 'd', limit: '3' },
      { keel, captureEnvironment: false },
    );
    expect(result.outputs.report.total).toBe(3 * 3 + 3);
  });
});

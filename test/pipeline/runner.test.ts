import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AbortedError, isKeelError, TimeoutError, ValidationError } from '../../src/core/errors.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { PipelineAbortedError, PipelineRunError } from '../../src/pipeline/errors.js';
import type { PipelineEvents } from '../../src/pipeline/events.js';
import { createPipelineTestKeel } from '../../src/testing/pipeline.js';

const opts = () => ({ keel: createPipelineTestKeel().keel, captureEnvironment: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise plus its resolver, to hold steps open. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

function recordEvents(keel: ReturnType<typeof createPipelineTestKeel>['keel']) {
  const seen: { event: keyof PipelineEvents; payload: Record<string, unknown> }[] = [];
  for (const event of [
    'step:started',
    'step:finished',
    'step:cached',
    'step:retry',
    'step:failed',
    'pipeline:finished',
  ] as const) {
    keel.events.on(event, (payload: object) =>
      seen.push({ event, payload: payload as Record<string, unknown> }),
    );
  }
  return seen;
}

describe('pipeline runner', () => {
  it('validates the input before any step runs', async () => {
    let ran = false;
    const built = pipeline('v', { input: z.object({ n: z.number().int() }) })
      .step('a', ({ input }) => {
        ran = true;
        return input.n;
      })
      .build();
    const { keel } = createPipelineTestKeel();
    const error = await built
      .run({ n: 1.5 }, { keel, captureEnvironment: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain('input of pipeline "v"');
    expect((error as ValidationError).issues[0]?.path).toEqual(['n']);
    expect(ran).toBe(false);
    const { runs } = await keel.tracker.searchRuns({});
    expect(runs).toHaveLength(0);
  });

  it('refuses invalid run options and a keel without a tracker', async () => {
    const built = pipeline('v')
      .step('a', () => 1)
      .build();
    const { keel } = createPipelineTestKeel();
    await expect(built.run(undefined, { keel, concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(built.run(undefined, { keel, concurrency: 1.5 })).rejects.toThrow(ValidationError);
    const { tracker: _t, ...noTracker } = keel;
    await expect(built.run(undefined, { keel: noTracker as typeof keel })).rejects.toThrow(
      /no tracker/,
    );
    await expect(built.run(undefined, { keel: {} as typeof keel })).rejects.toThrow(
      /not a keel instance/,
    );
  });

  it('runs independent steps concurrently, and respects concurrency', async () => {
    const observe = async (concurrency?: number) => {
      let running = 0;
      let peak = 0;
      const work = async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        return 1;
      };
      const built = pipeline('c')
        .step('a', [], work)
        .step('b', [], work)
        .step('c', [], work)
        .step('d', [], work)
        .step('sum', ['a', 'b', 'c', 'd'], ({ a, b, c, d }) => a + b + c + d)
        .build();
      const result = await built.run(undefined, {
        ...opts(),
        ...(concurrency ? { concurrency } : {}),
      });
      expect(result.outputs.sum).toBe(4);
      return peak;
    };
    expect(await observe()).toBe(4);
    expect(await observe(2)).toBe(2);
    expect(await observe(1)).toBe(1);
  });

  it('starts a step only after its dependencies finished', async () => {
    const order: string[] = [];
    const built = pipeline('o')
      .step('a', async () => {
        await sleep(15);
        order.push('a');
        return 1;
      })
      .step('b', [], () => {
        order.push('b');
        return 2;
      })
      .step('c', ['a'], ({ a }) => {
        order.push('c');
        return a;
      })
      .build();
    await built.run(undefined, opts());
    expect(order).toEqual(['b', 'a', 'c']);
  });

  it('fails a step past timeoutMs with TimeoutError and aborts its ctx.signal', async () => {
    let signalReason: unknown;
    const built = pipeline('t')
      .step(
        'slow',
        async (_args, ctx) => {
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener('abort', () => {
              signalReason = ctx.signal.reason;
              resolve();
            }),
          );
          return 1;
        },
        { timeoutMs: 20 },
      )
      .step('after', ['slow'], ({ slow }) => slow)
      .build();
    const error = await built.run(undefined, opts()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineRunError);
    const failure = error as PipelineRunError;
    expect(failure.code).toBe('KEEL_PIPELINE_FAILED');
    expect(failure.cause).toBeInstanceOf(TimeoutError);
    expect(failure.step).toBe('slow');
    expect(signalReason).toBe(failure.cause);
    expect(failure.result.status).toBe('failed');
    expect(failure.result.steps.slow).toMatchObject({ status: 'failed', attempts: 1 });
    expect(failure.result.steps.slow?.error?.code).toBe('KEEL_TIMEOUT');
    expect(failure.result.steps.after).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(failure.result.runId).toMatch(/^[0-9a-z]{26}$/);
    expect(failure.message).toContain(`resumeFrom: "${failure.result.runId}"`);
  });

  it('aborts running steps when another step fails, and skips the rest', async () => {
    let cancelled: unknown;
    const held = gate();
    const built = pipeline('f')
      .step('long', [], async (_args, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          cancelled = ctx.signal.reason;
        });
        await held.promise; // ignores the signal on purpose: the run must not wait for it
        return 1;
      })
      .step('boom', [], async () => {
        await sleep(5);
        throw new Error('disk on fire');
      })
      .step('after', ['long', 'boom'], () => 0)
      .build();
    const error = (await built.run(undefined, opts()).catch((e: unknown) => e)) as PipelineRunError;
    held.open();
    expect(error).toBeInstanceOf(PipelineRunError);
    expect((error.cause as Error).message).toBe('disk on fire');
    expect(cancelled).toBeInstanceOf(AbortedError);
    expect((cancelled as Error).message).toContain('step "boom"');
    expect(error.result.steps.long).toMatchObject({
      status: 'failed',
      error: { code: 'KEEL_ABORTED' },
    });
    expect(error.result.steps.boom).toMatchObject({
      status: 'failed',
      error: { message: 'disk on fire' },
    });
    expect(error.result.steps.after?.status).toBe('skipped');
  });

  it('rejects with an AbortedError carrying the result when the signal fires', async () => {
    const controller = new AbortController();
    const built = pipeline('a')
      .step('first', () => 1)
      .step('wait', async (_args, ctx) => {
        controller.abort(new Error('operator pressed stop'));
        await sleep(1000);
        return ctx.attempt;
      })
      .step('never', () => 3)
      .build();
    const { keel } = createPipelineTestKeel();
    const seen = recordEvents(keel);
    const error = await built
      .run(undefined, { keel, signal: controller.signal, captureEnvironment: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineAbortedError);
    expect(error).toBeInstanceOf(AbortedError);
    const aborted = error as PipelineAbortedError;
    expect(isKeelError(aborted, 'KEEL_ABORTED')).toBe(true);
    expect((aborted.cause as Error).message).toBe('operator pressed stop');
    expect(aborted.result.status).toBe('aborted');
    expect(aborted.result.outputs).toEqual({ first: 1 });
    expect(aborted.result.steps.first?.status).toBe('completed');
    expect(aborted.result.steps.wait?.status).toBe('failed');
    expect(aborted.result.steps.never?.status).toBe('skipped');
    const run = await keel.tracker.getRun(aborted.result.runId);
    expect(run.status).toBe('killed');
    expect(seen.at(-1)).toMatchObject({
      event: 'pipeline:finished',
      payload: { status: 'aborted' },
    });
  });

  it('an already aborted signal runs nothing', async () => {
    let ran = false;
    const built = pipeline('a')
      .step('x', () => (ran = true))
      .build();
    const error = await built
      .run(undefined, { ...opts(), signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineAbortedError);
    expect((error as PipelineAbortedError).result.steps.x?.status).toBe('skipped');
    expect(ran).toBe(false);
  });

  it('retries with p-retry, records every attempt and emits step:retry', async () => {
    let calls = 0;
    const built = pipeline('r')
      .step(
        'flaky',
        (_args, ctx) => {
          calls++;
          if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} failed`);
          return ctx.attempt;
        },
        { retries: 3, backoff: { minDelayMs: 1 } },
      )
      .build();
    const { keel } = createPipelineTestKeel();
    const seen = recordEvents(keel);
    const result = await built.run(undefined, { keel, captureEnvironment: false });
    expect(result.outputs.flaky).toBe(3);
    expect(calls).toBe(3);
    expect(result.steps.flaky).toMatchObject({
      status: 'completed',
      attempts: 3,
      attemptErrors: [
        { attempt: 1, message: 'attempt 1 failed' },
        { attempt: 2, message: 'attempt 2 failed' },
      ],
    });
    expect(seen.map((s) => s.event)).toEqual([
      'step:started',
      'step:retry',
      'step:started',
      'step:retry',
      'step:started',
      'step:finished',
      'pipeline:finished',
    ]);
    expect(seen[1]?.payload).toMatchObject({ step: 'flaky', attempt: 2 });
    expect(seen[1]?.payload.error).toMatchObject({ message: 'attempt 1 failed' });
    const stepRun = await keel.tracker.getRun(String(result.steps.flaky?.runId));
    expect(stepRun.tags['keel.step.attempts']).toBe('3');
  });

  it('gives up after the retries and reports the last error', async () => {
    let calls = 0;
    const built = pipeline('r')
      .step(
        'bad',
        () => {
          calls++;
          throw new Error(`no ${calls}`);
        },
        { retries: 2, backoff: { minDelayMs: 0 } },
      )
      .build();
    const error = (await built.run(undefined, opts()).catch((e: unknown) => e)) as PipelineRunError;
    expect(calls).toBe(3);
    expect((error.cause as Error).message).toBe('no 3');
    expect(error.result.steps.bad).toMatchObject({ attempts: 3, status: 'failed' });
    expect(error.result.steps.bad?.attemptErrors).toHaveLength(3);
  });

  it('never retries ValidationError or aborts, and honours retryOn', async () => {
    const countCalls = async (
      thrown: () => unknown,
      retryOn?: (error: unknown) => boolean,
    ): Promise<number> => {
      let calls = 0;
      const built = pipeline('n')
        .step(
          's',
          () => {
            calls++;
            throw thrown();
          },
          { retries: 3, backoff: { minDelayMs: 0 }, ...(retryOn ? { retryOn } : {}) },
        )
        .build();
      await built.run(undefined, opts()).catch(() => {});
      return calls;
    };
    expect(await countCalls(() => new ValidationError('bad data'))).toBe(1);
    expect(await countCalls(() => new AbortedError('stop'))).toBe(1);
    expect(await countCalls(() => new Error('transient'))).toBe(4);
    expect(
      await countCalls(
        () => new Error('permanent'),
        (e) => !(e as Error).message.includes('permanent'),
      ),
    ).toBe(1);
    expect(
      await countCalls(
        () => new Error('x'),
        () => {
          throw new Error('retryOn itself broke');
        },
      ),
    ).toBe(1);
  });

  it('retries a timed-out attempt (each attempt has its own time limit)', async () => {
    const built = pipeline('t')
      .step(
        's',
        async (_args, ctx) => {
          if (ctx.attempt === 1) await sleep(200);
          return ctx.attempt;
        },
        { retries: 1, timeoutMs: 30, backoff: { minDelayMs: 0 } },
      )
      .build();
    const result = await built.run(undefined, opts());
    expect(result.outputs.s).toBe(2);
    expect(result.steps.s?.attemptErrors?.[0]?.code).toBe('KEEL_TIMEOUT');
  });

  it('wraps a thrown non-Error into an Error that says so', async () => {
    const built = pipeline('n')
      .step('s', () => {
        throw 'a string';
      })
      .build();
    const error = (await built.run(undefined, opts()).catch((e: unknown) => e)) as PipelineRunError;
    expect((error.cause as Error).message).toContain('threw a non-Error value ("a string")');
    expect((error.cause as Error).cause).toBe('a string');
  });

  it('emits step events in order, and a throwing listener breaks nothing', async () => {
    const { keel } = createPipelineTestKeel();
    const seen = recordEvents(keel);
    keel.events.on('step:finished', () => {
      throw new Error('listener bug');
    });
    const built = pipeline('e')
      .step('a', () => 1)
      .step('b', () => 2)
      .build();
    const result = await built.run(undefined, { keel, captureEnvironment: false });
    expect(result.status).toBe('completed');
    expect(seen.map((s) => `${s.event}:${String(s.payload.step ?? '')}`)).toEqual([
      'step:started:a',
      'step:finished:a',
      'step:started:b',
      'step:finished:b',
      'pipeline:finished:',
    ]);
    expect(seen[1]?.payload).toMatchObject({
      pipeline: 'e',
      runId: result.runId,
      status: 'completed',
      cached: false,
    });
  });

  it('gives steps a logger whose lines reach the sink and the step run', async () => {
    const lines: string[] = [];
    const built = pipeline('l')
      .step('a', (_args, ctx) => {
        ctx.logger.info('loaded', { rows: 3 });
        ctx.logger.warn('odd');
        return 1;
      })
      .build();
    const { keel } = createPipelineTestKeel();
    const result = await built.run(undefined, {
      keel,
      captureEnvironment: false,
      logger: (entry) => lines.push(`${entry.level}:${entry.step}:${entry.message}`),
    });
    expect(lines).toEqual(['info:a:loaded', 'warn:a:odd']);
    const run = await keel.tracker.getRun(String(result.steps.a?.runId));
    const logs = run.outputs.find((ref) => ref.name === 'logs.ndjson');
    expect(logs).toBeDefined();
    const text = new TextDecoder().decode(await keel.artifacts.get(logs!.digest));
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['loaded', 'odd']);
  });

  it('can run steps that return nothing', async () => {
    const built = pipeline('u')
      .step('side', () => undefined, { cache: true, version: '1' })
      .step('next', ({ side }) => side === undefined)
      .build();
    const { keel } = createPipelineTestKeel();
    const first = await built.run(undefined, { keel, captureEnvironment: false });
    expect(first.outputs.next).toBe(true);
    const second = await built.run(undefined, { keel, captureEnvironment: false });
    expect(second.steps.side?.cached).toBe(true);
    expect(second.outputs.next).toBe(true);
  });
});

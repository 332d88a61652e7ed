import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createMonitor } from '../../src/ops/monitor/monitor.js';
import { createTrainingLoop, type TrainingLoopEvents } from '../../src/ops/training-loop.js';
import { every, onDecay, onDrift, onEvent } from '../../src/ops/triggers.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { rows } from './data.js';
import { opsKeel, sleep, type TestKeel, until } from './helpers.js';

interface TrainInput {
  accuracy: number;
  fail?: boolean;
  wait?: Promise<void>;
}

function trainPipeline(name = 'train') {
  return pipeline<TrainInput>(name)
    .step('model', async ({ input }, ctx) => {
      if (input.wait) await input.wait;
      if (input.fail) throw new Error('training diverged');
      const meta = await ctx.keel.artifacts.put(`weights ${input.accuracy} ${Math.random()}`);
      return { digest: meta.digest, accuracy: input.accuracy };
    })
    .build();
}

function loopFor(keel: TestKeel, input: (reason: string) => TrainInput, extra: object = {}) {
  return createTrainingLoop({
    keel,
    pipeline: trainPipeline(),
    input: (t) => input(t.reason),
    register: {
      model: 'churn',
      artifact: (o) => o.model.digest,
      metrics: (o) => ({ accuracy: o.model.accuracy }),
    },
    gate: {
      name: 'beats-champion',
      rules: [{ kind: 'compare', metric: 'accuracy', baseline: 'champion', higherIsBetter: true }],
    },
    promoteTo: 'challenger',
    ...extra,
  });
}

async function withChampion(keel: TestKeel, accuracy: number): Promise<void> {
  const { digest } = await keel.artifacts.put('champion weights');
  const v = await keel.registry.registerVersion('churn', {
    artifact: digest,
    metrics: { accuracy },
  });
  await keel.registry.setAlias('churn', 'champion', v.version);
}

describe('training loop', () => {
  it('trains, registers, gates against the champion, promotes, and tags the run with its trigger', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.8);
    const loop = loopFor(keel, () => ({ accuracy: 0.85 }));
    const outcome = await loop.trigger('new data landed');
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    expect(outcome.version?.version).toBe(2);
    expect(outcome.report?.passed).toBe(true);
    expect(outcome.promoted).toBe('challenger');
    const challenger = await keel.registry.resolve('churn', 'challenger');
    expect(challenger.version).toBe(2);
    expect(challenger.runId).toBe(outcome.runId);
    expect(challenger.tags).toMatchObject({
      'keel.trigger.kind': 'manual',
      'keel.trigger.reason': 'new data landed',
    });
    const history = await keel.registry.aliasHistory('churn', 'challenger');
    expect(history[0]).toMatchObject({ evidence: outcome.report?.digest });
    const run = await keel.tracker.getRun(outcome.runId);
    expect(run.tags).toMatchObject({
      'keel.trigger.kind': 'manual',
      'keel.trigger.reason': 'new data landed',
    });
  });

  it('does not promote a version that fails the gate', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.9);
    const loop = loopFor(keel, () => ({ accuracy: 0.7 }));
    const outcome = await loop.trigger('nightly');
    expect(outcome).toMatchObject({ status: 'completed', report: { passed: false } });
    expect(outcome.status === 'completed' && outcome.promoted).toBeFalsy();
    await expect(keel.registry.resolve('churn', 'challenger')).rejects.toThrow();
  });

  it('coalesces triggers while busy or cooling down and reports each as skipped', async () => {
    const clock = new ManualClock();
    const base = opsKeel(memoryBackend());
    const keel = { ...base, clock } as TestKeel;
    await withChampion(keel, 0.5);
    let release: () => void = () => {};
    const wait = new Promise<void>((r) => {
      release = r;
    });
    const loop = loopFor(keel, () => ({ accuracy: 0.9, wait }), { cooldownMs: 60_000 });
    const skipped: TrainingLoopEvents['skipped'][] = [];
    loop.on('skipped', (s) => skipped.push(s));
    const first = loop.trigger('one');
    expect(loop.running).toBe(1);
    expect(await loop.trigger('two')).toMatchObject({ status: 'skipped', reason: 'busy' });
    expect(await loop.trigger('three')).toMatchObject({ status: 'skipped', reason: 'busy' });
    release();
    expect(await first).toMatchObject({ status: 'completed' });
    clock.advance(1000);
    expect(await loop.trigger('four')).toMatchObject({ status: 'skipped', reason: 'cooldown' });
    expect(skipped.map((s) => [s.trigger.reason, s.reason, s.skippedSinceLastRun])).toEqual([
      ['two', 'busy', 1],
      ['three', 'busy', 2],
      ['four', 'cooldown', 3],
    ]);
    clock.advance(60_000);
    const fifth = await loop.trigger('five');
    expect(fifth.status).toBe('completed');
    if (fifth.status === 'completed') {
      expect(fifth.version?.tags['keel.trigger.coalesced']).toBe('3');
    }
  });

  it('tags each pipeline run with its own trigger, also when runs overlap (maxConcurrent > 1)', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.5);
    const holds: (() => void)[] = [];
    const loop = loopFor(
      keel,
      () => ({ accuracy: 0.9, wait: new Promise<void>((r) => holds.push(r)) }),
      { maxConcurrent: 3 },
    );
    const runs = [loop.trigger('first'), loop.trigger('second'), loop.trigger('third')];
    await until(() => holds.length === 3);
    expect(loop.running).toBe(3);
    // release in reverse order, so run order and trigger order differ
    for (const release of [...holds].reverse()) release();
    const outcomes = await Promise.all(runs);
    const reasons = ['first', 'second', 'third'];
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.status).toBe('completed');
      if (outcome.status !== 'completed') continue;
      const run = await keel.tracker.getRun(outcome.runId);
      expect(run.tags).toMatchObject({
        'keel.pipeline': 'train',
        'keel.trigger.kind': 'manual',
        'keel.trigger.reason': reasons[i],
        'keel.trigger.at': outcome.trigger.at,
        'keel.trigger.coalesced': '0',
      });
    }
    // the tags are on the pipeline runs themselves: no side runs carry them
    const { runs: tagged } = await keel.tracker.searchRuns({
      filter: "tags.`keel.trigger.kind` = 'manual'",
    });
    expect(tagged.map((r) => r.id).sort()).toEqual(
      outcomes.map((o) => (o.status === 'completed' ? o.runId : '')).sort(),
    );
  });

  it('tags a failed pipeline run with its trigger', async () => {
    const keel = opsKeel();
    const loop = loopFor(keel, () => ({ accuracy: 0.9, fail: true }));
    const outcome = await loop.trigger('broken data');
    expect(outcome).toMatchObject({ status: 'failed', stage: 'pipeline' });
    if (outcome.status !== 'failed' || outcome.runId === undefined) throw new Error('no run id');
    const run = await keel.tracker.getRun(outcome.runId);
    expect(run.status).toBe('failed');
    expect(run.tags).toMatchObject({
      'keel.trigger.kind': 'manual',
      'keel.trigger.reason': 'broken data',
    });
  });

  it('survives a failing run and keeps going', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.5);
    let attempt = 0;
    const loop = loopFor(keel, () => ({ accuracy: 0.9, fail: ++attempt === 1 }));
    const failures: TrainingLoopEvents['run:failed'][] = [];
    loop.on('run:failed', (f) => failures.push(f));
    const failed = await loop.trigger('first');
    expect(failed).toMatchObject({ status: 'failed', stage: 'pipeline' });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.runId).toEqual(expect.any(String));
    const ok = await loop.trigger('second');
    expect(ok.status).toBe('completed');
    const inputFails = createTrainingLoop({
      keel,
      pipeline: trainPipeline(),
      input: () => {
        throw new Error('no data');
      },
    });
    expect(await inputFails.trigger('x')).toMatchObject({ status: 'failed', stage: 'input' });
  });

  it('stop() waits for the run in flight; triggers after stop are ignored', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.5);
    let release: () => void = () => {};
    const wait = new Promise<void>((r) => {
      release = r;
    });
    const loop = loopFor(keel, () => ({ accuracy: 0.9, wait }));
    const completed: unknown[] = [];
    loop.on('run:completed', (c) => completed.push(c));
    const run = loop.trigger('before stop');
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await sleep(10);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(completed).toHaveLength(1);
    expect((await run).status).toBe('completed');
    expect(await loop.trigger('after stop')).toMatchObject({
      status: 'skipped',
      reason: 'stopped',
    });
  });

  it('runs on drift, decay, schedule and bus events', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.5);
    const monitor = createMonitor({
      keel,
      name: 'churn',
      reference: rows(1000, 'ref'),
      checkEvery: 1_000_000,
    });
    const loop = loopFor(keel, () => ({ accuracy: 0.9 }), {
      maxConcurrent: 4,
      triggers: [
        onDrift(monitor),
        onDecay(monitor),
        every({ ms: 40 }),
        onEvent<{ model: string }>(keel.events, 'model:registered', (e) => e.model === 'features'),
      ],
    });
    const kinds: string[] = [];
    loop.on('trigger', ({ trigger }) => kinds.push(trigger.kind));
    loop.start();
    for (const row of rows(500, 'now', 1)) monitor.record(row, 0, 1);
    await monitor.check();
    for (let i = 0; i < 300; i++) {
      monitor.record(rows(1, `r${i}`)[0], 1, 1, `p${i}`);
      monitor.recordOutcome(`p${i}`, i < 100 ? 1 : 0);
    }
    const { digest } = await keel.artifacts.put('features');
    await keel.registry.registerVersion('features', { artifact: digest });
    await until(() => ['drift', 'decay', 'every', 'event'].every((k) => kinds.includes(k)));
    await loop.stop();
    const after = kinds.length;
    await sleep(100);
    expect(kinds.length).toBe(after);
    monitor.close();
  });

  it('onDrift fires once per drift episode, not once per alarming check', async () => {
    const keel = opsKeel();
    await withChampion(keel, 0.5);
    const monitor = createMonitor({
      keel,
      name: 'churn',
      reference: rows(2000, 'ref'),
      window: { size: 300 },
      checkEvery: 1_000_000,
    });
    const loop = loopFor(keel, () => ({ accuracy: 0.9 }), { triggers: [onDrift(monitor)] });
    const reasons: string[] = [];
    const details: unknown[] = [];
    loop.on('trigger', ({ trigger }) => {
      reasons.push(trigger.reason);
      details.push(trigger.details);
    });
    let alarming = 0;
    monitor.on('check', (c) => {
      if (c.report.drifted) alarming++;
    });
    loop.start();
    const feed = async (data: ReturnType<typeof rows>): Promise<void> => {
      for (let i = 0; i < data.length; i += 100) {
        for (const row of data.slice(i, i + 100)) monitor.record(row, 0, 1);
        await monitor.check();
      }
    };
    await feed(rows(1000, 'drift-1', 1));
    expect(alarming).toBeGreaterThanOrEqual(8);
    await until(() => reasons.length === 1);
    expect(reasons[0]).toMatch(/^drift: x, y.*\(episode 1, share 0\.67\) on monitor "churn"$/);
    expect(details[0]).toMatchObject({ monitor: 'churn', episode: 1, columns: ['x', 'y'] });
    await feed(rows(900, 'calm'));
    expect(monitor.state().status).toBe('stable');
    await feed(rows(400, 'drift-2', -1));
    await until(() => reasons.length === 2);
    expect(reasons[1]).toMatch(/episode 2/);
    await loop.stop();
    expect(reasons).toHaveLength(2);
    monitor.close();
  });

  it('refuses bad options', () => {
    const keel = opsKeel();
    const base = { keel, pipeline: trainPipeline(), input: () => ({ accuracy: 1 }) };
    const bad: object[] = [
      { cooldownMs: -1 },
      { maxConcurrent: 0 },
      { promoteTo: 'Bad Alias' },
      { gate: { name: 'g', rules: [] } },
      { triggers: [42] },
      { pipeline: {} },
      { input: 'nope' },
      { register: { model: 'm', artifact: 'x' } },
    ];
    for (const extra of bad) {
      expect(() => createTrainingLoop({ ...base, ...extra } as never)).toThrow(
        expect.objectContaining({ code: 'KEEL_VALIDATION' }),
      );
    }
    expect(() => every({ ms: 0 })).toThrow(expect.objectContaining({ code: 'KEEL_VALIDATION' }));
    expect(() => onDrift({} as never)).toThrow(/needs a monitor/);
    const loop = createTrainingLoop(base);
    expect(() => loop.trigger('' as string)).toThrow(
      expect.objectContaining({ code: 'KEEL_VALIDATION' }),
    );
  });
});

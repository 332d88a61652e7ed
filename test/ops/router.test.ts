import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import type { GatePolicy } from '../../src/gates/schema.js';
import { createKeel } from '../../src/keel.js';
import { createRouter } from '../../src/ops/router/router.js';
import type { Predictor } from '../../src/ops/router/types.js';
import { createRegistry } from '../../src/registry/registry.js';
import { opsKeel, registerVersions, sleep, until, versionLoader } from './helpers.js';

async function setup(versions = 2) {
  const keel = opsKeel();
  await registerVersions(keel, 'churn', versions);
  await keel.registry.setAlias('churn', 'champion', 1);
  if (versions > 1) await keel.registry.setAlias('churn', 'challenger', 2);
  return keel;
}

const errorPolicy: GatePolicy = {
  name: 'live-errors',
  rules: [{ kind: 'metric', metric: 'error_rate', max: 0.05 }],
};

describe('router: canary and A/B', () => {
  it('splits keyed traffic within 2 percentage points of the weight over 10k requests', async () => {
    const keel = await setup();
    for (const weight of [0.1, 0.3]) {
      const { load } = versionLoader();
      const router = createRouter({
        keel,
        model: 'churn',
        load,
        strategy: { kind: 'canary', weight },
      });
      await router.ready();
      let toChallenger = 0;
      for (let i = 0; i < 10_000; i++) {
        const { arm } = await router.predict('x', { key: `user-${i}` });
        if (arm === 'challenger') toChallenger++;
      }
      expect(Math.abs(toChallenger / 10_000 - weight)).toBeLessThan(0.02);
      const stats = router.stats();
      expect(stats.challenger.count).toBe(toChallenger);
      expect(stats.champion.count).toBe(10_000 - toChallenger);
      expect(stats.challenger.version).toBe(2);
      expect(stats.champion.latencyMs.p50).toBeGreaterThanOrEqual(0);
      await router.close();
    }
  });

  it('is sticky: a key always lands on the same arm, and the version matches the arm', async () => {
    const keel = await setup();
    const { load } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'ab', weight: 0.5 },
    });
    const first = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) {
        const key = `k${i}`;
        const p = await router.predict('in', { key });
        expect(p.output).toBe(`v${p.version}:in`);
        expect(p.version).toBe(p.arm === 'champion' ? 1 : 2);
        if (round === 0) first.set(key, p.arm);
        else expect(p.arm).toBe(first.get(key));
      }
    }
    expect(new Set(first.values()).size).toBe(2);
    await router.close();
  });

  it('draws keyless requests from the random source', async () => {
    const keel = await setup();
    const { load } = versionLoader();
    const draws = [0.05, 0.5, 0.09, 0.11];
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0.1 },
      random: () => draws.shift()!,
    });
    const arms = [];
    for (let i = 0; i < 4; i++) arms.push((await router.predict('x')).arm);
    expect(arms).toEqual(['challenger', 'champion', 'challenger', 'champion']);
    await router.close();
  });

  it('loads each version once', async () => {
    const keel = await setup();
    const { load, loads } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0.5 },
    });
    for (let i = 0; i < 50; i++) await router.predict('x', { key: String(i) });
    await router.refresh();
    await router.refresh();
    expect(loads.sort()).toEqual([1, 2]);
    await router.close();
  });
});

describe('router: shadow', () => {
  it('never lets a slow, throwing challenger reach the caller', async () => {
    const keel = await setup();
    let challengerCalls = 0;
    let challengerDone = 0;
    const load = (v: { version: number }): Predictor<number, number> =>
      v.version === 1
        ? (x) => x * 2
        : async () => {
            challengerCalls++;
            await sleep(30);
            challengerDone++;
            throw new Error('challenger exploded');
          };
    const router = createRouter({ keel, model: 'churn', load, strategy: { kind: 'shadow' } });
    for (let i = 0; i < 20; i++) {
      const p = await router.predict(i);
      expect(p).toMatchObject({ output: i * 2, arm: 'champion', version: 1 });
      // The answer is delivered before the challenger has even finished (let alone failed).
      expect(challengerDone).toBe(0);
    }
    expect(challengerCalls).toBeLessThanOrEqual(4); // concurrency bound; the rest are queued
    await until(() => router.stats().challenger.count === 20);
    const stats = router.stats();
    expect(stats.champion).toMatchObject({ count: 20, errors: 0 });
    expect(stats.challenger).toMatchObject({ count: 20, errors: 20, errorRate: 1 });
    expect(stats.shadow).toMatchObject({ compared: 0, dropped: 0, pending: 0 });
    await router.close();
  });

  it('compares outputs, reports the differing share, and drops overflow', async () => {
    const keel = await setup();
    const load = (v: { version: number }): Predictor<number, { label: number }> =>
      v.version === 1 ? (x) => ({ label: x % 2 }) : (x) => ({ label: x % 4 === 0 ? 1 : x % 2 });
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'shadow' },
      shadow: { queueSize: 10 },
    });
    for (let i = 0; i < 40; i++) await router.predict(i);
    await until(() => router.stats().shadow?.pending === 0);
    const shadow = router.stats().shadow!;
    expect(shadow.dropped + shadow.compared).toBe(40);
    expect(shadow.dropped).toBeGreaterThan(0);
    expect(shadow.differingShare).toBeGreaterThan(0);
    expect(shadow.differingShare).toBeLessThan(1);
    await router.close();
  });
});

describe('router: following aliases', () => {
  it('follows alias:changed events and keeps in-flight requests on their version', async () => {
    const keel = await setup(3);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const load = (v: { version: number }): Predictor<string, string> =>
      v.version === 1
        ? async (x) => {
            await gate;
            return `v1:${x}`;
          }
        : (x) => `v${v.version}:${x}`;
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0 },
    });
    const swaps: unknown[] = [];
    router.on('swapped', (s) => swaps.push(s));
    await router.ready();
    const inFlight = router.predict('a');
    await keel.registry.setAlias('churn', 'champion', 3);
    await until(() => router.stats().champion.version === 3);
    expect((await router.predict('b')).output).toBe('v3:b');
    release();
    expect(await inFlight).toMatchObject({ output: 'v1:a', version: 1 });
    expect(swaps).toContainEqual(
      expect.objectContaining({ arm: 'champion', version: 3, previousVersion: 1 }),
    );
    await router.close();
  });

  it('sees alias moves made by another process through refresh', async () => {
    const keel = await setup(3);
    const { load } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 1 },
      refreshMs: 20,
    });
    await router.ready();
    expect((await router.predict('x')).version).toBe(2);
    // A registry with no event bus: as if another process moved the alias.
    const other = createRegistry({ metadata: keel.metadata, artifacts: keel.artifacts });
    await other.setAlias('churn', 'challenger', 3);
    await until(() => router.stats().challenger.version === 3);
    expect((await router.predict('x')).version).toBe(3);
    await other.deleteAlias('churn', 'challenger');
    await until(() => router.stats().challenger.version === null);
    expect((await router.predict('x')).arm).toBe('champion');
    await router.close();
  });

  it('keeps serving the last good version when a load fails, and emits error', async () => {
    const keel = await setup(3);
    const load = (v: { version: number }): Predictor<string, string> => {
      if (v.version === 3) throw new Error('corrupt weights');
      return (x) => `v${v.version}:${x}`;
    };
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0 },
    });
    const errors: { operation: string; version?: number }[] = [];
    router.on('error', (e) => errors.push(e));
    await router.ready();
    await keel.registry.setAlias('churn', 'champion', 3);
    await until(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ operation: 'load', version: 3 });
    expect((await router.predict('x')).output).toBe('v1:x');
    await router.close();
  });
});

describe('router: release decisions', () => {
  it('rolls back a failing challenger: no challenger traffic afterwards, alias deleted with a reason', async () => {
    const keel = await setup();
    const load = (v: { version: number }): Predictor<number, number> =>
      v.version === 1
        ? (x) => x
        : () => {
            throw new Error('bad model');
          };
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0.5 },
      autoRelease: { policy: errorPolicy, minSamples: 20, onPass: 'promote', onFail: 'rollback' },
    });
    await router.ready();
    const rolledBack = new Promise<{ reason: string; automatic: boolean }>((r) =>
      router.once('rolledback', r),
    );
    let failures = 0;
    for (let i = 0; i < 200 && router.stats().challenger.version !== null; i++) {
      try {
        await router.predict(i, { key: `u${i}` });
      } catch {
        failures++;
      }
      await sleep(0);
    }
    const event = await rolledBack;
    expect(event.automatic).toBe(true);
    expect(failures).toBeGreaterThanOrEqual(20);
    for (let i = 0; i < 1000; i++) {
      const p = await router.predict(i, { key: `u${i}` });
      expect(p.arm).toBe('champion');
    }
    expect(await keel.registry.listAliases('churn')).toEqual({ champion: 1 });
    const history = await keel.registry.aliasHistory('churn', 'challenger');
    expect(history.at(-1)).toMatchObject({ version: null, reason: event.reason });
    expect(event.reason).toContain('live-errors');
    await router.close();
  });

  it('promotes a passing challenger with the gate report as evidence', async () => {
    const keel = await setup();
    const { load } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0.5 },
      autoRelease: { policy: errorPolicy, minSamples: 10, onPass: 'promote', onFail: 'rollback' },
    });
    const promoted = new Promise<{ version: number; report?: { digest: string; passed: boolean } }>(
      (r) => router.once('promoted', r),
    );
    for (let i = 0; i < 100; i++) await router.predict('x', { key: `u${i}` });
    const event = await promoted;
    expect(event.version).toBe(2);
    expect(event.report?.passed).toBe(true);
    const history = await keel.registry.aliasHistory('churn', 'champion');
    expect(history.at(-1)).toMatchObject({ version: 2, evidence: event.report?.digest });
    expect(router.stats().champion.version).toBe(2);
    expect((await router.predict('y')).version).toBe(2);
    await router.close();
  });

  it('a promotion the registry refuses is judged again later, so a late approval still releases', async () => {
    const keel = createKeel({
      backend: memoryBackend(),
      actor: { id: 'ops-test' },
      aliasPolicies: [{ alias: 'champion', requiredApprovals: 1, approverRoles: ['reviewer'] }],
    });
    await registerVersions(keel, 'churn', 2);
    await keel.registry.approve('churn', 1, {
      alias: 'champion',
      actor: { id: 'ana', roles: ['reviewer'] },
    });
    await keel.registry.setAlias('churn', 'champion', 1);
    await keel.registry.setAlias('churn', 'challenger', 2);
    const { load } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 1 },
      autoRelease: { policy: errorPolicy, minSamples: 10, onPass: 'promote', onFail: 'rollback' },
    });
    const refused = new Promise<unknown>((r) => router.once('error', ({ error }) => r(error)));
    for (let i = 0; i < 10; i++) await router.predict('x', { key: `u${i}` });
    expect(isKeelError(await refused, 'KEEL_POLICY')).toBe(true);
    expect((await keel.registry.resolve('churn', 'champion')).version).toBe(1);
    await keel.registry.approve('churn', 2, {
      alias: 'champion',
      actor: { id: 'ana', roles: ['reviewer'] },
    });
    const promoted = new Promise<{ version: number }>((r) => router.once('promoted', r));
    for (let i = 10; i < 20; i++) await router.predict('x', { key: `u${i}` });
    expect((await promoted).version).toBe(2);
    expect((await keel.registry.resolve('churn', 'champion')).version).toBe(2);
    await router.close();
  });

  it('analyze builds evidence from live traffic; promote and rollback work by hand', async () => {
    const keel = await setup(3);
    const { load } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0.5 },
    });
    for (let i = 0; i < 50; i++) await router.predict('x', { key: `u${i}` });
    const report = await router.analyze({
      name: 'latency',
      rules: [
        { kind: 'latency', percentile: 95, maxMs: 1000 },
        { kind: 'metric', metric: 'requests', min: 1 },
      ],
    });
    expect(report.subject).toEqual({ model: 'churn', version: 2 });
    expect(report.passed).toBe(true);
    await router.promote({ reason: 'by hand', evidence: report });
    expect((await keel.registry.resolve('churn', 'champion')).version).toBe(2);
    await keel.registry.setAlias('churn', 'challenger', 3);
    await until(() => router.stats().challenger.version === 3);
    await router.rollback({ reason: 'not today' });
    expect(router.stats().challenger.version).toBeNull();
    await expect(keel.registry.resolve('churn', 'challenger')).rejects.toThrow();
    await expect(router.rollback()).rejects.toSatisfy((e) => isKeelError(e, 'KEEL_NOT_FOUND'));
    await router.close();
  });
});

describe('router: bad input', () => {
  it('rejects bad options synchronously', async () => {
    const keel = await setup();
    const { load } = versionLoader();
    const bad: unknown[] = [
      { strategy: { kind: 'canary', weight: 1.5 } },
      { strategy: { kind: 'canary', weight: -0.1 } },
      { strategy: { kind: 'canary', weight: Number.NaN } },
      { strategy: { kind: 'blue-green' } },
      { strategy: { kind: 'ab', weight: 0.5 }, champion: 'Not An Alias' },
      { strategy: { kind: 'ab' }, champion: 'x', challenger: 'x' },
      {
        strategy: { kind: 'ab' },
        autoRelease: { policy: errorPolicy, minSamples: 0, onPass: 'promote', onFail: 'rollback' },
      },
    ];
    for (const extra of bad) {
      expect(() =>
        createRouter({
          keel,
          model: 'churn',
          load,
          ...(extra as { strategy: { kind: 'shadow' } }),
        }),
      ).toThrow(expect.objectContaining({ code: 'KEEL_VALIDATION' }));
    }
    expect(() =>
      createRouter({ keel: {} as never, model: 'churn', load, strategy: { kind: 'shadow' } }),
    ).toThrow(/keel instance/);
  });

  it('reports an unknown model or champion alias through ready() and predict(), not later', async () => {
    const keel = await setup(1);
    const { load } = versionLoader();
    const unknownModel = createRouter({ keel, model: 'nope', load, strategy: { kind: 'shadow' } });
    await expect(unknownModel.ready()).rejects.toThrow(
      /model "nope" cannot start: the model is not registered/,
    );
    await expect(unknownModel.predict('x')).rejects.toSatisfy((e) =>
      isKeelError(e, 'KEEL_NOT_FOUND'),
    );
    const unknownAlias = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'shadow' },
      champion: 'production',
    });
    await expect(unknownAlias.ready()).rejects.toThrow(/alias "production" is not set/);
    // A missing challenger alias is fine: everything goes to the champion.
    const noChallenger = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 1 },
    });
    await noChallenger.ready();
    expect((await noChallenger.predict('x')).arm).toBe('champion');
    await expect(noChallenger.predict('x', { key: 42 as never })).rejects.toThrow(
      /key must be a string/,
    );
    await Promise.all([unknownModel.close(), unknownAlias.close(), noChallenger.close()]);
  });
});

describe('router: listeners', () => {
  it('once() listeners fire a single time', async () => {
    const keel = await setup(3);
    const { load } = versionLoader();
    const router = createRouter({
      keel,
      model: 'churn',
      load,
      strategy: { kind: 'canary', weight: 0 },
    });
    await router.ready();
    let calls = 0;
    router.once('swapped', () => calls++);
    await keel.registry.setAlias('churn', 'champion', 2);
    await until(() => router.stats().champion.version === 2);
    await keel.registry.setAlias('churn', 'champion', 3);
    await until(() => router.stats().champion.version === 3);
    expect(calls).toBe(1);
    await router.close();
  });
});

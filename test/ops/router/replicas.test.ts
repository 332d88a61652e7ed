import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../../src/backends/memory/backend.js';
import { isKeelError } from '../../../src/core/errors.js';
import type { GatePolicy } from '../../../src/gates/schema.js';
import type { GateReport } from '../../../src/gates/types.js';
import { createKeel } from '../../../src/keel.js';
import type { MetadataStore } from '../../../src/metadata/types.js';
import { createRouter } from '../../../src/ops/router/router.js';
import type { Router, RouterOptions } from '../../../src/ops/router/types.js';
import { ManualClock } from '../../../src/testing/manual-clock.js';
import { opsKeel, registerVersions, type TestKeel, until } from '../helpers.js';

/** Merged evidence only: no replica below reaches 30 requests on its own. */
const policy: GatePolicy = {
  name: 'merged',
  rules: [
    { kind: 'metric', metric: 'requests', min: 30 },
    { kind: 'metric', metric: 'error_rate', max: 0.05 },
  ],
};
const NEVER = 3_600_000; // no timer flush: the tests call share() themselves
const DECISION = 'ops/replicas/router/churn/champion@1+challenger@2/decision';

async function release(keel: TestKeel = opsKeel()): Promise<TestKeel> {
  await registerVersions(keel, 'churn', 2);
  await keel.registry.setAlias('churn', 'champion', 1);
  await keel.registry.setAlias('churn', 'challenger', 2);
  return keel;
}

/** A predictor per version; version 2 throws on 'bad'. */
const load = (v: { version: number }) => (input: string) => {
  if (v.version === 2 && input === 'bad') throw new Error('challenger failed');
  return `v${v.version}:${input}`;
};

function replica(
  keel: TestKeel,
  id: string,
  extra: Partial<RouterOptions<string, string>> = {},
): Router<string, string> {
  return createRouter({
    keel,
    model: 'churn',
    load,
    strategy: { kind: 'canary', weight: 1 },
    autoRelease: { policy, minSamples: 30, onPass: 'promote', onFail: 'rollback' },
    replicas: { id, flushMs: NEVER },
    ...extra,
  });
}

/** Records every judgement and release of the given routers. */
function watch(routers: Router<string, string>[]) {
  const seen = {
    analysis: [] as GateReport[],
    promoted: 0,
    rolledback: 0,
    errors: [] as unknown[],
  };
  for (const r of routers) {
    r.on('analysis', ({ report }) => seen.analysis.push(report));
    r.on('promoted', () => seen.promoted++);
    r.on('rolledback', () => seen.rolledback++);
    r.on('error', ({ error }) => seen.errors.push(error));
  }
  return seen;
}

async function serve(router: Router<string, string>, inputs: string[]): Promise<void> {
  for (const input of inputs) await router.predict(input).catch(() => {});
}

const observed = (report: GateReport, metric: string) =>
  report.results.find((r) => r.rule.metric === metric)?.observed;

describe('router replicas: live evidence shared through the store', () => {
  it('judges the merged evidence once: exactly one promotion among racing replicas', async () => {
    const keel = await release();
    const routers = ['a', 'b', 'c'].map((id) => replica(keel, id));
    const seen = watch(routers);
    for (const r of routers) await serve(r, Array(12).fill('ok'));
    expect(seen.analysis).toHaveLength(0); // 12 < 30: never judged on the request path
    expect((await routers[0]!.share())?.challenger.count).toBe(12);
    expect((await routers[1]!.share())?.challenger).toEqual({ count: 24, errors: 0 });
    expect(seen.analysis).toHaveLength(0);

    await Promise.all(routers.map((r) => r.share()));
    await Promise.all(routers.map((r) => r.share())); // later rounds never judge again
    expect(seen.analysis).toHaveLength(1);
    expect(observed(seen.analysis[0]!, 'requests')).toBe(36);
    expect(seen.promoted).toBe(1);
    const history = await keel.registry.aliasHistory('churn', 'champion');
    expect(history.map((h) => h.version)).toEqual([1, 2]);
    expect((await keel.metadata.get(DECISION))?.value).toMatchObject({ state: 'promoted' });
    await until(() => routers.every((r) => r.stats().champion.version === 2));
    for (const r of routers) await r.close();
  });

  it('rolls back once when the merged error rate fails, though each replica alone passes', async () => {
    const keel = await release();
    const routers = ['a', 'b', 'c'].map((id) => replica(keel, id));
    const seen = watch(routers);
    await serve(routers[0]!, Array(10).fill('ok'));
    await serve(routers[1]!, Array(10).fill('ok'));
    await serve(routers[2]!, [...Array(2).fill('bad'), ...Array(8).fill('ok')]);
    await Promise.all(routers.map((r) => r.share()));
    await Promise.all(routers.map((r) => r.share()));
    expect(seen.analysis).toHaveLength(1);
    expect(observed(seen.analysis[0]!, 'error_rate')).toBeCloseTo(2 / 30, 12);
    expect(seen.rolledback).toBe(1);
    expect(seen.promoted).toBe(0);
    await expect(keel.registry.resolve('churn', 'challenger')).rejects.toThrow();
    await until(() => routers.every((r) => r.stats().challenger.version === null));
    for (const r of routers) await r.close();
  });

  it('analyze() judges the merged evidence; latency samples come from the merged histograms', async () => {
    const keel = await release();
    const manual = { policy, minSamples: 1000, onPass: 'none' as const, onFail: 'none' as const };
    const routers = ['a', 'b'].map((id) => replica(keel, id, { autoRelease: manual }));
    await serve(routers[0]!, Array(7).fill('ok'));
    await serve(routers[1]!, Array(9).fill('ok'));
    await routers[0]!.share();
    const report = await routers[1]!.analyze({
      name: 'look',
      rules: [{ kind: 'latency', percentile: 95, maxMs: 10_000 }],
    });
    expect(report.passed).toBe(true);
    expect(routers[1]!.stats().shared).toMatchObject({ id: 'b', replicas: 2 });
    expect(routers[1]!.stats().shared?.challenger.count).toBe(16);
    expect(routers[1]!.stats().challenger.count).toBe(9); // local stats stay local
    for (const r of routers) await r.close();
  });

  it('drops a silent replica after staleAfter intervals, and takes over a claim it held', async () => {
    const clock = new ManualClock();
    const keel = await release(opsKeel(memoryBackend(), clock));
    const opts = { replicas: { flushMs: 1000, staleAfter: 2 } };
    const a = replica(keel, 'a', { replicas: { ...opts.replicas, id: 'a' } });
    const b = replica(keel, 'b', { replicas: { ...opts.replicas, id: 'b' } });
    const seen = watch([a, b]);
    await serve(a, Array(20).fill('ok'));
    await serve(b, Array(15).fill('ok'));
    // b claimed the judgement and died before acting (its claim document stays).
    await keel.metadata.put(DECISION, { state: 'judging', by: 'b', requests: 35 });
    await b.share();
    expect((await a.share())?.replicas).toBe(2);
    expect(seen.analysis).toHaveLength(0); // b is alive: its claim stands
    clock.advance(2500); // b silent for more than 2 x 1000 ms
    const after = await a.share();
    expect(after?.replicas).toBe(1);
    expect(after?.challenger.count).toBe(20);
    expect(seen.analysis).toHaveLength(0); // 20 < 30 without b
    await serve(a, Array(10).fill('ok'));
    await a.share();
    expect(seen.promoted).toBe(1);
    expect((await keel.metadata.get(DECISION))?.value).toMatchObject({
      state: 'promoted',
      by: 'a',
    });
    await a.close();
    await b.close();
  });

  it('a refused promotion is judged again after minSamples more merged requests', async () => {
    const keel = createKeel({
      backend: memoryBackend(),
      actor: { id: 'ops-test' },
      aliasPolicies: [{ alias: 'champion', requiredApprovals: 1, approverRoles: ['reviewer'] }],
    }) as TestKeel;
    await registerVersions(keel, 'churn', 2);
    const reviewer = { alias: 'champion', actor: { id: 'ana', roles: ['reviewer'] } };
    await keel.registry.approve('churn', 1, reviewer);
    await keel.registry.setAlias('churn', 'champion', 1);
    await keel.registry.setAlias('churn', 'challenger', 2);
    const routers = ['a', 'b'].map((id) =>
      replica(keel, id, {
        autoRelease: {
          policy: { name: 'ok', rules: [{ kind: 'metric', metric: 'error_rate', max: 0.05 }] },
          minSamples: 10,
          onPass: 'promote',
          onFail: 'rollback',
        },
      }),
    );
    const seen = watch(routers);
    for (const r of routers) await serve(r, Array(6).fill('ok'));
    await Promise.all(routers.map((r) => r.share()));
    expect(seen.errors.some((e) => isKeelError(e, 'KEEL_POLICY'))).toBe(true);
    expect((await keel.metadata.get(DECISION))?.value).toMatchObject({
      state: 'refused',
      retryAt: 22,
    });
    await keel.registry.approve('churn', 2, reviewer);
    await routers[0]!.share(); // 12 < 22: not yet
    expect(seen.promoted).toBe(0);
    await serve(routers[0]!, Array(10).fill('ok'));
    await routers[0]!.share();
    expect(seen.promoted).toBe(1);
    expect(seen.analysis).toHaveLength(2);
    for (const r of routers) await r.close();
  });

  it('keeps serving when the store is unreachable, reports it, and decides nothing', async () => {
    const keel = await release();
    const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    const store = {
      get: () => Promise.reject(down),
      put: () => Promise.reject(down),
      delete: () => Promise.reject(down),
      list: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(down) }),
      }),
      append: () => Promise.reject(down),
      read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(down) }) }),
    } as unknown as MetadataStore;
    const router = replica(keel, 'a', { replicas: { id: 'a', store, flushMs: 20 } });
    const failure = new Promise<{ operation: string; error: unknown }>((r) =>
      router.once('error', r),
    );
    await serve(router, Array(40).fill('ok'));
    expect(await failure).toMatchObject({ operation: 'share', error: down });
    await expect(router.share()).rejects.toBe(down);
    expect((await router.predict('still')).output).toBe('v2:still');
    expect((await keel.registry.resolve('churn', 'champion')).version).toBe(1);
    await router.close();
  });

  it('refuses a replica id used by another process, and bad replica options', async () => {
    const keel = await release();
    const first = replica(keel, 'same');
    const second = replica(keel, 'same');
    await serve(first, ['ok']);
    await serve(second, ['ok']);
    await first.share();
    await expect(second.share()).rejects.toSatisfy((e) => isKeelError(e, 'KEEL_CONFLICT'));
    await first.close();
    await second.close();
    for (const replicas of [
      { id: '../etc' },
      { id: 'a/b' },
      { id: '' },
      { id: 'x'.repeat(200) },
      { flushMs: 5 },
      { flushMs: Number.NaN },
      { staleAfter: 1 },
      { group: '__proto__/x' },
      { store: {} as MetadataStore },
    ]) {
      expect(() => replica(keel, 'a', { replicas })).toThrow(
        expect.objectContaining({ code: 'KEEL_VALIDATION' }),
      );
    }
  });
});

/**
 * Issue 12 §3: gate evidence is bound to the policy, the version and time. Each forgery the
 * issue found accepted by `setAlias` is refused, and what keel evaluated itself passes.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { isKeelError } from '../../src/core/errors.js';
import type { GatePolicy } from '../../src/gates/schema.js';
import type { GateReport } from '../../src/gates/types.js';
import { createKeel, type Keel, type KeelOptions } from '../../src/keel.js';
import type { AliasPolicy } from '../../src/registry/types.js';

const release: GatePolicy = {
  name: 'release',
  rules: [{ kind: 'metric', metric: 'auc', min: 0.8 }],
};
const trivial: GatePolicy = { name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0 }] };

function keelWith(
  requireGate: NonNullable<AliasPolicy['requireGate']>,
  extra: Partial<KeelOptions> = {},
): Keel {
  return createKeel({
    backend: memoryBackend(),
    aliasPolicies: [{ alias: 'production', requireGate }],
    ...extra,
  });
}

async function register(keel: Keel, metrics?: Record<string, number>) {
  const { digest } = await keel.artifacts.put('weights');
  return keel.registry.registerVersion('churn', {
    artifact: digest,
    ...(metrics === undefined ? {} : { metrics }),
  });
}

async function refusal(promise: Promise<unknown>): Promise<{ kind: unknown; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isKeelError(error, 'KEEL_POLICY'))
    throw new Error(`expected a PolicyError, got ${String(error)}`);
  return { kind: error.details?.evidence, message: error.message };
}

describe('requireGate: { policy } binds the report to that policy', () => {
  it('passes a report keel evaluated with the policy on the registered metrics', async () => {
    const keel = keelWith({ policy: release });
    const v = await register(keel, { auc: 0.9 });
    const report = await keel.gates.evaluate(
      release,
      { candidate: { metrics: v.metrics } },
      {
        subject: { model: 'churn', version: v.version },
      },
    );
    const change = await keel.registry.setAlias('churn', 'production', v.version, {
      evidence: report,
    });
    expect(change.evidence).toBe(report.digest);
  });

  it('refuses a report of a trivial policy (auc min 0) under the same name', async () => {
    const keel = keelWith({ policy: release });
    const v = await register(keel, { auc: 0.5 });
    const report = await keel.gates.evaluate(
      trivial,
      { candidate: { metrics: v.metrics } },
      {
        subject: { model: 'churn', version: v.version },
      },
    );
    expect(report.passed).toBe(true);
    const refused = await refusal(
      keel.registry.setAlias('churn', 'production', v.version, { evidence: report }),
    );
    expect(refused.kind).toBe('wrong-policy');
    expect(await keel.registry.listAliases('churn')).toEqual({});
  });

  it('names a policy of gatePolicies, and refuses a name gatePolicies lacks', async () => {
    const keel = keelWith({ policy: 'release' }, { gatePolicies: [release] });
    const v = await register(keel, { auc: 0.9 });
    const subject = { model: 'churn', version: v.version };
    const cheat = await keel.gates.evaluate(
      trivial,
      { candidate: { metrics: v.metrics } },
      { subject },
    );
    expect(
      (await refusal(keel.registry.setAlias('churn', 'production', 1, { evidence: cheat }))).kind,
    ).toBe('wrong-policy');
    const report = await keel.gates.evaluate(
      release,
      { candidate: { metrics: v.metrics } },
      { subject },
    );
    await keel.registry.setAlias('churn', 'production', 1, { evidence: report });
    expect(() => keelWith({ policy: 'nosuch' }, { gatePolicies: [release] })).toThrow(
      expect.objectContaining({
        code: 'KEEL_VALIDATION',
        message: expect.stringContaining('"nosuch"'),
      }),
    );
  });
});

describe("requireGate: the evidence is the version's registered metrics", () => {
  it('refuses the real policy evaluated on caller-made metrics (auc 0.99 for a version without metrics)', async () => {
    for (const requireGate of [true, { policy: release }] as const) {
      const keel = keelWith(requireGate);
      const v = await register(keel);
      const report = await keel.gates.evaluate(
        release,
        { candidate: { metrics: { auc: 0.99 } } },
        {
          subject: { model: 'churn', version: v.version },
        },
      );
      const refused = await refusal(
        keel.registry.setAlias('churn', 'production', v.version, { evidence: report }),
      );
      expect(refused.kind).toBe('metrics');
      expect(refused.message).toContain('{"auc":0.99}');
    }
  });

  it('metrics: "asserted" accepts metrics the caller measured, still judged again', async () => {
    const keel = keelWith({ policy: release, metrics: 'asserted' });
    const v = await register(keel);
    const report = await keel.gates.evaluate(
      release,
      { candidate: { metrics: { auc: 0.95 } } },
      {
        subject: { model: 'churn', version: v.version },
      },
    );
    await keel.registry.setAlias('churn', 'production', v.version, { evidence: report });
    expect((await keel.registry.resolve('churn', 'production')).version).toBe(v.version);
  });

  it('requireGate: true accepts any policy keel evaluated on the registered metrics (and says so in the docs)', async () => {
    const keel = keelWith(true);
    const v = await register(keel, { auc: 0.5 });
    const report = await keel.gates.evaluate(
      trivial,
      { candidate: { metrics: v.metrics } },
      {
        subject: { model: 'churn', version: v.version },
      },
    );
    await keel.registry.setAlias('churn', 'production', v.version, { evidence: report });
  });
});

describe('requireGate: warn, hand-made and replayed reports', () => {
  const warnOnly: GatePolicy = {
    name: 'release',
    rules: [{ kind: 'metric', metric: 'auc', min: 0.95, severity: 'warn' }],
  };

  it('a warn-only report does not satisfy requireGate unless the policy accepts warnings', async () => {
    const keel = keelWith({ policy: warnOnly });
    const v = await register(keel, { auc: 0.9 });
    const report = await keel.gates.evaluate(
      warnOnly,
      { candidate: { metrics: v.metrics } },
      {
        subject: { model: 'churn', version: v.version },
      },
    );
    expect([report.decision, report.passed]).toEqual(['warn', true]);
    expect(
      (await refusal(keel.registry.setAlias('churn', 'production', 1, { evidence: report }))).kind,
    ).toBe('warn');
    const lenient = createKeel({
      backend: { metadata: keel.metadata, artifacts: keel.artifacts },
      aliasPolicies: [{ alias: 'production', requireGate: { policy: warnOnly, acceptWarn: true } }],
    });
    await lenient.registry.setAlias('churn', 'production', 1, { evidence: report });
  });

  it('refuses a hand-made report stored with artifacts.put(canonicalJson(...))', async () => {
    const keel = keelWith({ policy: release });
    const v = await register(keel, { auc: 0.5 });
    const subject = { model: 'churn', version: v.version };
    const body = {
      policy: 'release',
      decision: 'pass' as const,
      passed: true,
      subject,
      results: [
        {
          rule: { kind: 'metric', metric: 'auc', min: 0.8 },
          decision: 'pass' as const,
          observed: 0.9,
          expected: '>= 0.8',
          message: 'auc 0.9 meets 0.8',
        },
      ],
      evaluatedAt: '2026-01-01T00:00:00.000Z',
    };
    const bare = await keel.artifacts.put(canonicalJson(body));
    expect(
      (
        await refusal(
          keel.registry.setAlias('churn', 'production', 1, {
            evidence: { ...body, digest: bare.digest } as GateReport,
          }),
        )
      ).kind,
    ).toBe('unbound');
    // With the digests of the real policy and the real evidence, the results give it away.
    const real = await keel.gates.evaluate(
      release,
      { candidate: { metrics: v.metrics } },
      { subject },
    );
    expect(real.passed).toBe(false);
    const bound = {
      ...body,
      policyDigest: real.policyDigest!,
      evidenceDigest: real.evidenceDigest!,
      evaluatedAt: '2030-01-01T00:00:00.000Z',
    };
    const forged = await keel.artifacts.put(canonicalJson(bound));
    const refused = await refusal(
      keel.registry.setAlias('churn', 'production', 1, {
        evidence: { ...bound, digest: forged.digest } as GateReport,
      }),
    );
    expect(['not-reproduced', 'superseded']).toContain(refused.kind);
    // Even when it is the newest one recorded, it is judged again.
    await keel.metadata.delete(
      `registry/gate-reports/churn/0000000001/${real.policyDigest!.slice(7)}`,
    );
    expect(
      (
        await refusal(
          keel.registry.setAlias('churn', 'production', 1, {
            evidence: { ...bound, digest: forged.digest } as GateReport,
          }),
        )
      ).kind,
    ).toBe('not-reproduced');
    expect(await keel.registry.listAliases('churn')).toEqual({});
  });

  it('an older pass replayed after a newer fail is refused until a new pass', async () => {
    const keel = keelWith({ policy: release, metrics: 'asserted' });
    const v = await register(keel);
    const subject = { model: 'churn', version: v.version };
    const pass = await keel.gates.evaluate(
      release,
      { candidate: { metrics: { auc: 0.9 } } },
      { subject },
    );
    const fail = await keel.gates.evaluate(
      release,
      { candidate: { metrics: { auc: 0.6 } } },
      { subject },
    );
    expect([pass.passed, fail.passed]).toEqual([true, false]);
    const refused = await refusal(
      keel.registry.setAlias('churn', 'production', 1, { evidence: pass }),
    );
    expect(refused.kind).toBe('superseded');
    expect(refused.message).toContain(fail.digest);
    const again = await keel.gates.evaluate(
      release,
      { candidate: { metrics: { auc: 0.91 } } },
      { subject },
    );
    await keel.registry.setAlias('churn', 'production', 1, { evidence: again });
  });

  it('evidence that is not plain JSON yields a report the registry cannot judge again', async () => {
    const keel = keelWith({ metrics: 'asserted' });
    const v = await register(keel);
    const report = await keel.gates.evaluate(
      release,
      { candidate: { metrics: { auc: 0.9 } }, extra: () => 1 } as never,
      { subject: { model: 'churn', version: v.version } },
    );
    expect(report.evidenceDigest).toBeUndefined();
    expect(
      (await refusal(keel.registry.setAlias('churn', 'production', 1, { evidence: report }))).kind,
    ).toBe('unbound');
    // An alias without requireGate still takes it as evidence, checked as before.
    await keel.registry.setAlias('churn', 'staging', 1, { evidence: report });
  });

  it('gc keeps the policy and evidence a cited report names, so it can be judged again', async () => {
    const keel = keelWith({ policy: release });
    const v = await register(keel, { auc: 0.9 });
    const report = await keel.gates.evaluate(
      release,
      { candidate: { metrics: v.metrics } },
      {
        subject: { model: 'churn', version: v.version },
      },
    );
    await keel.registry.setAlias('churn', 'production', 1, { evidence: report });
    const plan = await keel.registry.gc({ dryRun: false, minAgeMs: 0, references: [] });
    expect(plan.deleted).toEqual([]);
    expect(await keel.artifacts.has(report.policyDigest!)).toBe(true);
    expect(await keel.artifacts.has(report.evidenceDigest!)).toBe(true);
    await keel.registry.setAlias('churn', 'production', 1, { evidence: report });
  });
});

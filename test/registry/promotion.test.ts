import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createGateEvaluator } from '../../src/gates/evaluator.js';
import { roleAuthorizer } from '../../src/registry/authorizer.js';
import { createRegistry } from '../../src/registry/registry.js';

const policy = { name: 'release', rules: [{ kind: 'metric' as const, metric: 'auc', min: 0.8 }] };

describe('promotion through a gated, approved alias with the real gate evaluator', () => {
  it('promotes with a passing report and two approvals, refuses a failing one', async () => {
    const backend = memoryBackend();
    const gates = createGateEvaluator({ artifacts: backend.artifacts });
    const registry = createRegistry({
      ...backend,
      authorizer: roleAuthorizer({
        trainer: ['model:create', 'version:register'],
        reviewer: ['version:approve'],
        releaser: ['alias:*'],
      }),
      aliasPolicies: [
        {
          alias: 'production',
          requireGate: true,
          requiredApprovals: 2,
          approverRoles: ['reviewer'],
          allowedRoles: ['releaser'],
        },
      ],
    });
    const trainer = { id: 'ci', roles: ['trainer'] };
    const { digest } = await backend.artifacts.put('weights');
    const good = await registry.registerVersion('churn', {
      artifact: digest,
      metrics: { auc: 0.9 },
      actor: trainer,
    });
    const bad = await registry.registerVersion('churn', {
      artifact: digest,
      metrics: { auc: 0.7 },
      actor: trainer,
    });
    const passReport = await gates.evaluate(
      policy,
      { candidate: { metrics: good.metrics } },
      {
        subject: { model: 'churn', version: good.version },
      },
    );
    const failReport = await gates.evaluate(
      policy,
      { candidate: { metrics: bad.metrics } },
      {
        subject: { model: 'churn', version: bad.version },
      },
    );
    expect(failReport.passed).toBe(false);
    const releaser = { id: 'rel', roles: ['releaser'] };
    for (const id of ['ana', 'bob']) {
      await registry.approve('churn', good.version, {
        alias: 'production',
        actor: { id, roles: ['reviewer'] },
      });
      await registry.approve('churn', bad.version, {
        alias: 'production',
        actor: { id, roles: ['reviewer'] },
      });
    }
    const refused = await registry
      .setAlias('churn', 'production', bad.version, { evidence: failReport, actor: releaser })
      .catch((e: unknown) => e);
    expect(isKeelError(refused, 'KEEL_POLICY')).toBe(true);
    const change = await registry.setAlias('churn', 'production', good.version, {
      evidence: passReport,
      actor: releaser,
      reason: 'passed the release gate',
    });
    expect(change.evidence).toBe(passReport.digest);
    expect((await registry.resolve('churn', 'production')).version).toBe(good.version);
    expect((await registry.verifyAudit()).ok).toBe(true);
  });
});

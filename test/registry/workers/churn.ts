/**
 * Child process of the kill test: changes the registry on a shared fs store without end
 * (versions, alias moves, approvals, archives, denials) until it is killed.
 */
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { createRegistry } from '../../../src/registry/registry.js';

const [root, leaseText] = process.argv.slice(2);
if (root === undefined || leaseText === undefined)
  throw new Error('usage: churn.ts <root> <leaseMs>');
const backend = fsBackend({ root });
const registry = createRegistry({
  ...backend,
  actor: { id: `pid-${process.pid}` },
  auditLeaseMs: Number(leaseText),
  authorizer: ({ actor }) => actor.id !== 'eve',
});
const { digest } = await backend.artifacts.put('weights');
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  try {
    const v = await registry.registerVersion('churn', { artifact: digest, metrics: { i } });
    await registry.setAlias('churn', 'prod', v.version);
    await registry.approve('churn', v.version, { alias: 'prod', actor: { id: `r${i % 3}` } });
    if (v.version > 2) await registry.archiveVersion('churn', v.version - 2).catch(() => undefined);
    if (i % 4 === 0)
      await registry.createModel('x', { actor: { id: 'eve' } }).catch(() => undefined);
    if (i % 5 === 0) await registry.rollback('churn', 'prod').catch(() => undefined);
  } catch (error) {
    // A conflict with a version archived by the rollback race is fine; anything else is a bug.
    const code = (error as { code?: string }).code;
    if (code !== 'KEEL_CONFLICT' && code !== 'KEEL_NOT_FOUND') throw error;
  }
}

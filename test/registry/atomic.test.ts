/**
 * Issue 12 §2: a registry change and its audit entry commit together. Every write of a
 * scenario is made to fail in turn (and, without batches, the process is made to "die" at
 * it): afterwards each model, version, archive, alias move and approval has exactly one
 * audit entry, no entry describes a change that did not happen, and the chain verifies.
 */
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/types.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { isKeelError } from '../../src/core/errors.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { createRegistry } from '../../src/registry/registry.js';
import type { Registry } from '../../src/registry/types.js';
import { auditProblems } from './invariants.js';
import { failingStore, modes } from './stores.js';

const ana = { id: 'ana', roles: ['reviewer'] };
const eve = { id: 'eve' };

function open(metadata: MetadataStore, artifacts: ArtifactStore, leaseMs = 20): Registry {
  return createRegistry({
    metadata,
    artifacts,
    auditLeaseMs: leaseMs,
    authorizer: ({ actor }) => actor.id !== 'eve',
  });
}

/** Runs every step, whatever the earlier ones did; counts the denials the caller was told of. */
async function scenario(registry: Registry, artifacts: ArtifactStore): Promise<{ denied: number }> {
  const { digest } = await artifacts.put('weights');
  let denied = 0;
  const steps: Array<() => Promise<unknown>> = [
    () => registry.registerVersion('m', { artifact: digest, metrics: { auc: 0.9 } }),
    () => registry.registerVersion('m', { artifact: digest }),
    () => registry.setAlias('m', 'prod', 1),
    () => registry.approve('m', 2, { alias: 'prod', actor: ana }),
    () => registry.setAlias('m', 'prod', 2, { reason: 'better' }),
    () => registry.createModel('other', { actor: eve }),
    () => registry.rollback('m', 'prod'),
    () => registry.archiveVersion('m', 2),
    () => registry.deleteAlias('m', 'prod'),
    () => registry.registerVersion('m', { artifact: digest }),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if (!isKeelError(error)) throw error;
      if (isKeelError(error, 'KEEL_UNAUTHORIZED')) denied++;
    }
  }
  return { denied };
}

async function deniedEntries(registry: Registry): Promise<number> {
  let n = 0;
  for await (const entry of registry.audit()) if (entry.details.outcome === 'denied') n++;
  return n;
}

async function versionNumbers(registry: Registry, model: string): Promise<number[]> {
  const { versions } = await registry.listVersions(model, { limit: 1000 }).catch(() => ({
    versions: [],
  }));
  return versions.map((v) => v.version);
}

describe.each(modes)('commits with their audit entries (%s)', (mode) => {
  it('a clean run has one entry per change', async () => {
    const { store } = failingStore(mode);
    const artifacts = createMemoryArtifactStore();
    const registry = open(store, artifacts);
    await scenario(registry, artifacts);
    expect(await auditProblems(store)).toEqual([]);
    expect(await registry.verifyAudit()).toMatchObject({ ok: true, entries: 11 });
  });

  it('whichever write fails, the audit log and the documents agree and a retry adds no duplicate', async () => {
    const probe = failingStore(mode);
    const artifacts = createMemoryArtifactStore();
    await scenario(open(probe.store, artifacts), artifacts);
    const total = probe.writes();
    expect(total).toBeGreaterThan(9);
    for (let n = 1; n <= total; n++) {
      const { store, failAt } = failingStore(mode);
      const registry = open(store, artifacts);
      failAt(n);
      const { denied } = await scenario(registry, artifacts);
      const where = `failure at write ${n} of ${total}`;
      expect(await auditProblems(store), where).toEqual([]);
      expect((await registry.verifyAudit()).ok, where).toBe(true);
      expect(await deniedEntries(registry), where).toBe(denied);
      // The caller retries: the numbers stay 1..n without a gap or a duplicate.
      const before = await versionNumbers(registry, 'm');
      const { digest } = await artifacts.put('weights');
      await registry.registerVersion('m', { artifact: digest });
      const after = await versionNumbers(registry, 'm');
      expect(after, where).toEqual(Array.from({ length: before.length + 1 }, (_, i) => i + 1));
      expect(await auditProblems(store), where).toEqual([]);
    }
  });

  it('when the process dies at any write, the next process finds the log and documents agreeing', async () => {
    const probe = failingStore(mode);
    const artifacts = createMemoryArtifactStore();
    await scenario(open(probe.store, artifacts), artifacts);
    const total = probe.writes();
    for (let n = 1; n <= total; n++) {
      const { store, inner, failAt } = failingStore(mode);
      failAt(n, { die: true });
      await scenario(open(store, artifacts), artifacts);
      // The next process, once the dead one's lease has expired, writes something.
      await new Promise((resolve) => setTimeout(resolve, 25));
      const next = open(inner, artifacts);
      const { digest } = await artifacts.put('weights');
      await next.registerVersion('after', { artifact: digest });
      const where = `death at write ${n} of ${total}`;
      expect(await auditProblems(inner), where).toEqual([]);
      expect(await next.verifyAudit(), where).toMatchObject({ ok: true });
    }
  });

  it('a registerVersion whose audit entry cannot be written leaves no version and says so', async () => {
    const { store, failAt } = failingStore(mode);
    const artifacts = createMemoryArtifactStore();
    const registry = open(store, artifacts);
    const { digest } = await artifacts.put('weights');
    await registry.registerVersion('m', { artifact: digest });
    // batch: the one batch fails; lease: take, pending, version, counter, then the append fails.
    failAt(mode === 'batch' ? 1 : 5);
    const error = await registry
      .registerVersion('m', { artifact: digest })
      .catch((e: unknown) => e);
    expect(isKeelError(error, 'KEEL_STORAGE')).toBe(true);
    expect((error as Error).message).toMatch(/nothing was changed/);
    expect(await versionNumbers(registry, 'm')).toEqual([1]);
    expect((await registry.registerVersion('m', { artifact: digest })).version).toBe(2);
    expect(await auditProblems(store)).toEqual([]);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { createPostgresMetadataStore } from '../../src/postgres.js';
import { createRegistry } from '../../src/registry/registry.js';
import { startWorker } from '../reliability/spawn.js';
import { describePg, freshSchema, PG_URL } from './helpers.js';

const ROUNDS = 6;
const root = mkdtempSync(join(tmpdir(), 'keel-pg-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describePg('PostgreSQL registry under SIGKILL', () => {
  it(`kill -9 in the middle of registry writes leaves every change audited (${ROUNDS} rounds)`, async () => {
    const schema = freshSchema('kill');
    const seed = Number(process.env.KEEL_CHAOS_SEED ?? Date.now() % 1_000_000);
    let state = seed;
    const next = (): number => {
      state = (state * 1664525 + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    for (let round = 0; round < ROUNDS; round++) {
      const where = `seed ${seed}, round ${round}`;
      // The reliability tests' spawner resolves names under test/reliability/workers.
      const worker = startWorker('../../postgres/workers/register', [
        PG_URL,
        schema,
        root,
        String(round),
        '100000',
        '--alias',
      ]);
      await worker.printed('ack alias');
      await new Promise((resolve) => setTimeout(resolve, 50 + next() * 400));
      worker.child.kill('SIGKILL');
      expect((await worker.exited).signal, where).toBe('SIGKILL');
      const acked = worker
        .output()
        .split('\n')
        .filter((line) => line.startsWith('ack version '))
        .map((line) => Number(line.slice('ack version '.length)));

      const metadata = createPostgresMetadataStore({ connectionString: PG_URL, schema });
      try {
        const registry = createRegistry({
          metadata,
          artifacts: createFsArtifactStore({ root }),
          auditLeaseMs: 2000,
        });
        const versions = (await registry.listVersions('churn', { limit: 1000 })).versions.map(
          (v) => v.version,
        );
        for (const version of acked)
          expect(versions, `${where}: acked ${version}`).toContain(version);
        const registered = new Set<number>();
        let lastAliasSet: number | undefined;
        for await (const entry of registry.audit()) {
          if (entry.details.outcome !== 'ok') continue;
          if (entry.action === 'version:register') registered.add(entry.resource.version!);
          if (entry.action === 'alias:set' && entry.resource.alias === 'prod')
            lastAliasSet = entry.resource.version;
        }
        for (const version of versions)
          expect(registered.has(version), `${where}: version ${version} audited`).toBe(true);
        const serving = (await registry.resolve('churn', 'prod')).version;
        expect(lastAliasSet, `${where}: the alias move to ${serving} is audited`).toBe(serving);
        expect((await registry.verifyAudit()).ok, where).toBe(true);
      } finally {
        await metadata.close();
      }
    }
  }, 120_000);
});

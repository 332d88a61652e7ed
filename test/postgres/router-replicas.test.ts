import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { createKeel } from '../../src/keel.js';
import { createPostgresMetadataStore } from '../../src/postgres.js';
import { runWorker } from '../reliability/spawn.js';
import { describePg, freshSchema, PG_URL } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'keel-pg-replicas-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const worker = '../../postgres/workers/router-replica';

describePg('router replicas on PostgreSQL: one decision on the merged evidence', () => {
  it('3 processes, none reaching minSamples alone, promote once and all follow', async () => {
    const schema = freshSchema('replicas');
    const metadata = createPostgresMetadataStore({ connectionString: PG_URL, schema });
    const keel = createKeel({
      backend: { metadata, artifacts: createFsArtifactStore({ root }) },
      actor: { id: 'release-manager' },
    });
    try {
      for (let v = 1; v <= 2; v++) {
        const { digest } = await keel.artifacts.put(`weights ${v}`);
        await keel.registry.registerVersion('churn', { artifact: digest });
      }
      await keel.registry.setAlias('churn', 'champion', 1);
      await keel.registry.setAlias('churn', 'challenger', 2);
      // 3 x 25 = 75 challenger requests; minSamples 60 > 25: only the merged evidence qualifies.
      const outputs = await Promise.all(
        ['r1', 'r2', 'r3'].map((id) => runWorker(worker, [PG_URL, schema, root, id, '25', '60'])),
      );
      const results = outputs.map(
        (out) =>
          JSON.parse(out.trim().split('\n').at(-1)!) as {
            judged: number[];
            promoted: number;
            errors: string[];
            champion: number;
            answeredBy: number;
          },
      );
      const judged = results.flatMap((r) => r.judged);
      expect(judged).toHaveLength(1);
      expect(judged[0]).toBeGreaterThanOrEqual(60);
      expect(judged[0]).toBeLessThanOrEqual(75);
      expect(results.reduce((n, r) => n + r.promoted, 0)).toBe(1);
      for (const r of results) {
        expect(r.errors).toEqual([]);
        expect(r.champion).toBe(2);
        expect(r.answeredBy).toBe(2);
      }
      const history = await keel.registry.aliasHistory('churn', 'champion');
      expect(history.map((h) => h.version)).toEqual([1, 2]);
      const decision = await metadata.get(
        'ops/replicas/router/churn/champion@1+challenger@2/decision',
      );
      expect(decision?.value).toMatchObject({ state: 'promoted' });
      expect(await keel.registry.verifyAudit()).toMatchObject({ ok: true });
    } finally {
      await keel.close();
      await metadata.close();
    }
  }, 120_000);
});

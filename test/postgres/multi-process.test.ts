import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { createPostgresMetadataStore } from '../../src/postgres.js';
import { createRegistry } from '../../src/registry/registry.js';
import { runWorker } from '../reliability/spawn.js';
import { describePg, freshSchema, PG_URL } from './helpers.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'keel-pg-mp-'));
  roots.push(root);
  return root;
}
// The reliability tests' spawner resolves names under test/reliability/workers.
const worker = (name: string): string => `../../postgres/workers/${name}`;

describePg('PostgreSQL store shared by several processes', () => {
  it('4 processes x 50 compare-and-swap increments lose nothing', async () => {
    const schema = freshSchema('mpcas');
    const outputs = await Promise.all(
      [0, 1, 2, 3].map(() => runWorker(worker('cas'), [PG_URL, schema, '50'])),
    );
    const store = createPostgresMetadataStore({ connectionString: PG_URL, schema });
    try {
      expect((await store.get('counter'))?.value).toBe(200);
      // Every worker finished its 50 (conflicts were retried, never lost).
      expect(outputs.map((out) => typeof JSON.parse(out).conflicts)).toEqual(
        Array(4).fill('number'),
      );
    } finally {
      await store.close();
    }
  }, 120_000);

  it('4 processes registering versions of one model get 1..100 and a verifying audit chain', async () => {
    const schema = freshSchema('mpreg');
    const root = tempRoot();
    const outputs = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        runWorker(worker('register'), [PG_URL, schema, root, String(n), '25']),
      ),
    );
    const perWorker = outputs.map((out) => JSON.parse(out.trim().split('\n').at(-1)!) as number[]);
    for (const versions of perWorker) {
      expect(versions).toHaveLength(25);
      expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    }
    const all = perWorker.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const metadata = createPostgresMetadataStore({ connectionString: PG_URL, schema });
    try {
      const registry = createRegistry({ metadata, artifacts: createFsArtifactStore({ root }) });
      const listed = await registry.listVersions('churn', { limit: 1000 });
      expect(listed.versions.map((v) => v.version)).toEqual(all);
      expect(await registry.verifyAudit()).toMatchObject({ ok: true, entries: 101 });
      const registered: number[] = [];
      for await (const entry of registry.audit()) {
        if (entry.action === 'version:register') registered.push(entry.resource.version!);
      }
      expect(registered.sort((a, b) => a - b)).toEqual(all);
    } finally {
      await metadata.close();
    }
  }, 120_000);
});

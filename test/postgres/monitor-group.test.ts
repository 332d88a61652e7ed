import { expect, it } from 'vitest';
import { createPostgresMetadataStore } from '../../src/postgres.js';
import { runWorker } from '../reliability/spawn.js';
import { describePg, freshSchema, PG_URL } from './helpers.js';

const worker = '../../postgres/workers/monitor-replica';

describePg('monitor group on PostgreSQL: one page for the group, on the merged window', () => {
  it('3 processes on a shifted stream page once, judged on the 3 windows merged', async () => {
    const schema = freshSchema('monitor_group');
    const metadata = createPostgresMetadataStore({ connectionString: PG_URL, schema });
    try {
      const outputs = await Promise.all(
        ['m1', 'm2', 'm3'].map((id) => runWorker(worker, [PG_URL, schema, id])),
      );
      const results = outputs.map(
        (out) =>
          JSON.parse(out.trim().split('\n').at(-1)!) as {
            id: string;
            pages: { rows: number; episode: number; columns: string[] }[];
            state: { status: string; episodes: number; group?: { replicas: number } };
            errors: string[];
          },
      );
      const pages = results.flatMap((r) => r.pages);
      expect(pages).toHaveLength(1);
      // Judged on every replica's window (3 x 300 rows), not one replica's 300.
      expect(pages[0]).toMatchObject({ rows: 900, episode: 1 });
      expect(pages[0]!.columns.length).toBeGreaterThan(0);
      for (const c of pages[0]!.columns) expect(['x', 'y']).toContain(c); // c did not move
      for (const r of results) {
        expect(r.errors).toEqual([]);
        expect(r.state).toMatchObject({ status: 'drifting', episodes: 1 });
      }
      const docs = new Map<string, unknown>();
      for await (const e of metadata.list('ops/replicas/monitor/churn/'))
        docs.set(e.key.split('/').at(-1)!, e.value);
      expect(docs.get('episode')).toMatchObject({ open: true, episode: { id: 1 } });
      expect(docs.get('judge')).toMatchObject({ by: expect.stringMatching(/^m[123]$/) });
    } finally {
      await metadata.close();
    }
  }, 120_000);
});

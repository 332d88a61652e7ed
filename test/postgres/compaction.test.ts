import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createPostgresMetadataStore } from '../../src/postgres.js';
import { readHead } from '../../src/tracking/journal-head.js';
import { createTracker } from '../../src/tracking/tracker.js';
import { describePg, freshSchema, PG_URL } from './helpers.js';

describePg('PostgreSQL', () => {
  describe('tracker journal compaction', () => {
    it('compacts as runs are written; new processes start from the snapshot and see every run', async () => {
      const schema = freshSchema('compaction');
      const open = () => createPostgresMetadataStore({ connectionString: PG_URL }, { schema });
      const artifacts = createMemoryArtifactStore();
      const writerStore = open();
      const writer = createTracker({
        metadata: writerStore,
        artifacts,
        flushIntervalMs: 0,
        searchSnapshotEvery: 8,
      });
      for (let i = 0; i < 60; i++) {
        const run = await writer.startRun({ experiment: 'pg', params: { i } });
        run.logMetric('acc', i / 100);
        await run.end();
        if (i % 10 === 0) await writer.searchRuns({ limit: 1 });
      }
      await writer.close();
      const stores = [open(), open()];
      try {
        expect((await readHead(stores[0]!)).snapshot).toBeDefined();
        const [fromSnapshot, listed] = await Promise.all(
          stores.map((metadata, k) =>
            createTracker({ metadata, artifacts, searchSnapshotEvery: k === 0 ? 8 : 0 }).searchRuns(
              { limit: 100, orderBy: ['params.i'], filter: 'metrics.acc >= 0' },
            ),
          ),
        );
        expect(fromSnapshot!.runs).toHaveLength(60);
        expect(fromSnapshot!.runs).toEqual(listed!.runs);
      } finally {
        await Promise.all([writerStore, ...stores].map((store) => store.close()));
      }
    });
  });
});

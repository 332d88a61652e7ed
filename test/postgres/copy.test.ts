/**
 * copyBackend from fs to PostgreSQL + S3, the way a store outgrows one machine: a store
 * populated through createKeel on fs, copied into a fresh PostgreSQL schema and an S3 bucket
 * (s3rver on 127.0.0.1), answers the same searches, versions, aliases, alias history, audit,
 * lineage and bytes; a copy interrupted in each phase resumes and ends equal.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { type CopyProgress, copyBackend } from '../../src/backends/copy.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createS3ArtifactStore } from '../../src/backends/s3/artifact-store.js';
import { createKeel } from '../../src/keel.js';
import { collect } from '../../src/testing/assert.js';
import { populate, view } from '../backends/copy-fixture.js';
import { tempRoot } from '../fs/helpers.js';
import { BUCKET, type S3TestServer, startS3Server } from '../s3/server.js';
import { describePg, freshStore } from './helpers.js';

let server: S3TestServer | undefined;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3Server();
});

afterAll(async () => {
  await server?.close();
});

/** A fresh PostgreSQL schema and a fresh prefix of the S3 bucket. */
function target(): Backend & { close(): Promise<void> } {
  const metadata = freshStore('copy');
  const artifacts = createS3ArtifactStore({
    client: server!.client(),
    bucket: BUCKET,
    prefix: `pg-copy-${++prefixes}`,
  });
  return { metadata, artifacts, close: () => metadata.close() };
}

describePg('copyBackend fs -> PostgreSQL + S3', () => {
  it('reads back the same searches, versions, aliases, alias history, audit, lineage and bytes', async () => {
    const source = fsBackend({ root: tempRoot() });
    const populated = await populate(source);
    const to = target();
    try {
      const report = await copyBackend(source, to);
      expect(report.artifacts.copied).toBe((await collect(source.artifacts.list())).length);
      expect(report.documents.copied).toBe((await collect(source.metadata.list(''))).length);
      for await (const log of source.metadata.listLogs!('')) {
        expect(await collect(to.metadata.read(log))).toEqual(
          await collect(source.metadata.read(log)),
        );
      }
      const expected = await view(source, populated);
      expect(expected).toMatchObject({
        verifyAudit: { ok: true },
        searches: { all: { runs: { length: 3 } } },
      });
      const open = { metadata: to.metadata, artifacts: to.artifacts };
      expect(await view(open, populated)).toEqual(expected);
      // The copy is a working store: the tracker's journal, the version numbers and the audit
      // chain continue where the source's ended.
      const keel = createKeel({ backend: open, actor: { id: 'after-copy' } });
      const run = await keel.tracker.startRun({ experiment: 'churn', params: { lr: 0.5 } });
      run.logMetrics({ auc: 0.95 });
      const weights = await run.logArtifact('weights after the copy', { name: 'model' });
      await run.end();
      const v3 = await keel.registry.registerVersion('churn', {
        artifact: weights.digest,
        runId: run.id,
        metrics: { auc: 0.95 },
      });
      expect(v3.version).toBe(3);
      await keel.registry.setAlias('churn', 'prod', 3);
      expect(await keel.registry.verifyAudit()).toMatchObject({ ok: true });
      const { runs } = await keel.tracker.searchRuns({ filter: 'metrics.auc > 0.9' });
      expect(runs.map((r) => r.id)).toEqual([run.id]);
      expect((await keel.registry.aliasHistory('churn', 'prod')).length).toBe(4);
      await keel.close();
    } finally {
      await to.close();
    }
  }, 120_000);

  it('resumes a copy interrupted in each phase and ends equal', async () => {
    const source = fsBackend({ root: tempRoot() });
    const populated = await populate(source);
    const to = target();
    try {
      const phases: CopyProgress['phase'][] = [];
      // Stop the copy at the second item of each phase in turn (a listener that throws is
      // ignored by design, so it aborts the copy's signal), then let it finish.
      for (const stopIn of ['artifacts', 'logs', 'documents', undefined] as const) {
        let seen = 0;
        const controller = new AbortController();
        const attempt = copyBackend(source, to, {
          resume: true,
          batchSize: 5,
          signal: controller.signal,
          onProgress: (p) => {
            phases.push(p.phase);
            if (p.phase === stopIn && ++seen === 2) controller.abort();
          },
        });
        if (stopIn === undefined) await attempt;
        else await expect(attempt).rejects.toMatchObject({ code: 'KEEL_ABORTED' });
      }
      expect(new Set(phases)).toEqual(new Set(['artifacts', 'logs', 'documents']));
      for await (const log of source.metadata.listLogs!('')) {
        expect(await collect(to.metadata.read(log))).toEqual(
          await collect(source.metadata.read(log)),
        );
      }
      // view() closes the keel it builds: hand it the stores without the backend's close
      const open = { metadata: to.metadata, artifacts: to.artifacts };
      expect(await view(open, populated)).toEqual(await view(source, populated));
      const again = await copyBackend(source, to, { resume: true });
      expect(again.artifacts.copied + again.logs.appended + again.documents.copied).toBe(0);
    } finally {
      await to.close();
    }
  }, 120_000);
});

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { readHead } from '../../src/tracking/journal-head.js';
import { createTracker } from '../../src/tracking/tracker.js';
import { repoRoot } from '../helpers/run-ts.js';

const run = promisify(execFile);
const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const worker = join(import.meta.dirname, 'workers/log-metrics.ts');
const snapshotWriter = join(import.meta.dirname, 'workers/snapshot-writer.ts');
const compactingWriter = join(import.meta.dirname, 'workers/compacting-writer.ts');
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('tracker across processes on one fs store', () => {
  it('3 processes logging 2000 metrics each: every run and every point is present', async () => {
    const root = mkdtempSync(join(tmpdir(), 'keel-tracker-mp-'));
    roots.push(root);
    const backend = fsBackend({ root });
    const tracker = createTracker({ metadata: backend.metadata, artifacts: backend.artifacts });
    const shared = await tracker.startRun({ experiment: 'multi-process', name: 'shared' });
    expect((await tracker.searchRuns()).runs).toHaveLength(1); // warms the search cache before the workers write

    const outputs = await Promise.all(
      [0, 1, 2].map((n) =>
        run(process.execPath, ['--import', tsx, worker, root, String(n), '2000', shared.id], {
          cwd: repoRoot,
        }),
      ),
    );
    const runIds = outputs.map(({ stdout }) => (JSON.parse(stdout) as { runId: string }).runId);

    const { runs } = await tracker.searchRuns({
      experiment: 'multi-process',
      orderBy: ['attributes.name'],
    });
    expect(runs.map((r) => r.name)).toEqual(['shared', 'worker-0', 'worker-1', 'worker-2']);
    for (const id of runIds) {
      const history = await tracker.metricHistory(id, 'x');
      expect(history.map((p) => p.value)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      const stored = await tracker.getRun(id);
      expect(stored.status).toBe('completed');
      expect(stored.metrics.x).toMatchObject({ value: 1999, step: 1999 });
    }
    const sharedRun = await tracker.getRun(shared.id);
    expect(sharedRun.tags).toEqual({ 'worker-0': 'done', 'worker-1': 'done', 'worker-2': 'done' });
    for (const n of [0, 1, 2]) {
      expect(sharedRun.metrics[`w${n}`]).toMatchObject({ value: 1990, step: 1990 });
      expect(await tracker.metricHistory(shared.id, `w${n}`)).toHaveLength(200);
    }
    const filtered = await tracker.searchRuns({
      filter: 'metrics.x = 1999 and params.worker >= 1',
    });
    expect(filtered.runs).toHaveLength(2);
    await shared.end();
  }, 120_000);

  it('3 processes writing runs and compacting the journal at once: a new process sees every run as it ended', async () => {
    const root = mkdtempSync(join(tmpdir(), 'keel-tracker-snap-'));
    roots.push(root);
    await Promise.all(
      [0, 1, 2].map((n) =>
        run(process.execPath, ['--import', tsx, snapshotWriter, root, String(n), '40'], {
          cwd: repoRoot,
        }),
      ),
    );
    const search = async (searchSnapshotEvery: number) => {
      const backend = fsBackend({ root });
      const tracker = createTracker({
        metadata: backend.metadata,
        artifacts: backend.artifacts,
        searchSnapshotEvery,
      });
      return (await tracker.searchRuns({ limit: 1000, orderBy: ['attributes.name'] })).runs;
    };
    // the writers compacted the journal: the head names a snapshot to start from
    expect((await readHead(fsBackend({ root }).metadata)).snapshot).toBeDefined();
    const withSnapshot = await search(4);
    expect(withSnapshot).toHaveLength(120);
    for (const r of withSnapshot) {
      expect(r.status).toBe('completed');
      expect(r.tags).toEqual({ phase: 'done' });
      expect(r.metrics.acc?.value).toBe(r.params.i);
    }
    expect(withSnapshot).toEqual(await search(0));
  }, 120_000);

  it('writers killed with SIGKILL mid-compaction: the journal stays readable and no acknowledged run is lost', async () => {
    const root = mkdtempSync(join(tmpdir(), 'keel-tracker-kill-'));
    roots.push(root);
    const acknowledged = new Set<string>();
    for (let round = 0; round < 4; round++) {
      // two writers compacting all the time; both killed at a moment that varies by round
      const children = [0, 1].map((n) => {
        const child = spawn(
          process.execPath,
          ['--import', tsx, compactingWriter, root, `${round}-${n}`],
          { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const id of lines) acknowledged.add(id);
        });
        return child;
      });
      const before = acknowledged.size;
      // wait until the writers have written (and compacted) for a while
      for (let i = 0; i < 600 && acknowledged.size < before + 20 + 7 * round; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              child.on('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      const backend = fsBackend({ root });
      const head = await readHead(backend.metadata);
      expect(head.generation).toBeGreaterThan(0);
      const search = async (searchSnapshotEvery: number) => {
        const tracker = createTracker({
          metadata: fsBackend({ root }).metadata,
          artifacts: backend.artifacts,
          searchSnapshotEvery,
        });
        const { runs } = await tracker.searchRuns({ limit: 5000, orderBy: ['attributes.run_id'] });
        return runs.map((r) => r.id);
      };
      const fromSnapshot = await search(4);
      for (const id of acknowledged) expect(fromSnapshot).toContain(id);
      expect(fromSnapshot).toEqual(await search(0));
    }
  }, 120_000);
});

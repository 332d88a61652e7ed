import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../src/backends/fs/backend.js';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createKeel, type Keel } from '../src/keel.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'keel-doctor-'));
  dirs.push(root);
  return root;
}

const open = (root: string): Keel => createKeel({ backend: fsBackend({ root }) });
const journalPath = (root: string) => join(root, 'metadata/logs/tracking/journal.log');
const runPath = (root: string, id: string) =>
  join(root, 'metadata/docs/tracking/runs', `${id}.json`);
const blobPath = (root: string, digest: string) => {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'artifacts/sha256', hex.slice(0, 2), hex);
};

/** A store with runs (one with metrics and an artifact), then three planted faults. */
async function damagedStore(): Promise<{ root: string; ids: string[]; digest: string }> {
  const root = freshRoot();
  const keel = open(root);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const run = await keel.tracker.startRun({ experiment: 'e', params: { i } });
    run.logMetric('loss', 1 / (i + 1));
    await run.end();
    ids.push(run.id);
  }
  const { digest } = await keel.artifacts.put('model weights');
  await keel.close();
  // a garbage line in the middle of the journal
  const lines = readFileSync(journalPath(root), 'utf8').split('\n');
  lines.splice(3, 0, 'garbage that is no log line');
  writeFileSync(journalPath(root), lines.join('\n'));
  // a truncated run document
  const doc = readFileSync(runPath(root, ids[2]!));
  writeFileSync(runPath(root, ids[2]!), doc.subarray(0, doc.length - 9));
  // a flipped byte in a blob
  const blob = readFileSync(blobPath(root, digest));
  blob[3] = blob[3]! ^ 0x01;
  writeFileSync(blobPath(root, digest), blob);
  return { root, ids, digest };
}

describe('keel.doctor() on the fs backend', () => {
  it('finds each planted fault, quarantines, rebuilds, and operations work again', async () => {
    const { root, ids, digest } = await damagedStore();
    const keel = open(root);
    // before: every fault shows
    const before = await keel.tracker.searchRuns();
    expect(before.corrupt?.map((c) => c.key).sort()).toEqual(
      ['tracking/journal', `tracking/runs/${ids[2]}`].sort(),
    );
    await expect(keel.artifacts.get(digest as `sha256:${string}`)).rejects.toMatchObject({
      code: 'KEEL_INTEGRITY',
    });
    await expect(keel.tracker.getRun(ids[2]!)).rejects.toMatchObject({ code: 'KEEL_INTEGRITY' });

    const events: string[] = [];
    keel.events.on('store:corrupt', (record) => events.push(record.key));
    const report = await keel.doctor();
    expect(report.ok).toBe(false); // the blob can only be restored from a backup
    expect(report.dryRun).toBe(false);
    expect(report.corrupt.map((f) => [f.kind, f.key]).sort()).toEqual(
      [
        ['blob', digest],
        ['document', `tracking/runs/${ids[2]}`],
        ['log', 'tracking/journal'],
      ].sort(),
    );
    expect(report.corrupt.find((f) => f.kind === 'log')?.offset).toBe(3);
    expect(report.checked.blobs).toBe(1);
    expect(report.checked.documents).toBeGreaterThanOrEqual(5);
    expect(report.checked.logs).toBe(1 + 4); // every log: the journal and the metric log of each run
    expect(report.repaired).toEqual([
      {
        action: 'quarantined',
        key: `tracking/runs/${ids[2]}`,
        to: expect.stringMatching(/^quarantine\/\d+\/tracking\/runs\//),
      },
      { action: 'rebuilt', key: 'tracking/journal', to: 'tracking/journals/1' },
    ]);
    expect(events.sort()).toEqual(report.corrupt.map((f) => f.key).sort());
    // the quarantine keeps a report and what it moved
    const stored = await keel.metadata.get(report.reportKey!);
    expect(stored?.value).toMatchObject({ format: 'keel.quarantine/1' });
    const moved = await keel.metadata.get(report.repaired[0]!.to);
    expect(moved?.value).toMatchObject({ key: `tracking/runs/${ids[2]}` });
    // the blob is still there: reported, never deleted
    expect(readdirSync(join(root, 'artifacts/sha256', digest.slice(7, 9)))).toContain(
      digest.slice(7),
    );

    // after: the same process and a new one work, with nothing corrupt to report
    const run = await keel.tracker.startRun({ experiment: 'e', params: { i: 9 } });
    await run.end();
    const expected = [ids[0], ids[1], ids[3], run.id];
    const after = await keel.tracker.searchRuns({ orderBy: ['params.i'] });
    expect(after.runs.map((r) => r.id)).toEqual(expected);
    expect(after.corrupt).toBeUndefined();
    await keel.close();

    const fresh = open(root);
    const again = await fresh.tracker.searchRuns({ orderBy: ['params.i'] });
    expect(again.runs.map((r) => r.id)).toEqual(expected);
    expect(again.corrupt).toBeUndefined();
    const second = await fresh.doctor();
    expect(second.corrupt.map((f) => f.kind)).toEqual(['blob']);
    expect(second.repaired).toEqual([]);
    await fresh.close();
  });

  it('dryRun reports and changes nothing', async () => {
    const { root, ids } = await damagedStore();
    const keel = open(root);
    const report = await keel.doctor({ dryRun: true });
    expect(report.ok).toBe(false);
    expect(report.dryRun).toBe(true);
    expect(report.corrupt).toHaveLength(3);
    expect(report.repaired).toEqual([]);
    expect(report.reportKey).toBeUndefined();
    const result = await keel.tracker.searchRuns();
    expect(result.corrupt?.map((c) => c.key)).toContain(`tracking/runs/${ids[2]}`);
    const quarantined: string[] = [];
    for await (const { key } of keel.metadata.list('quarantine/')) quarantined.push(key);
    expect(quarantined).toEqual([]);
    await keel.close();
  });

  it('a sound store is ok; rebuildIndexes writes a new journal that search follows', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    const run = await keel.tracker.startRun({ experiment: 'e' });
    await run.end();
    const report = await keel.doctor();
    expect(report).toMatchObject({ ok: true, corrupt: [], repaired: [] });
    const rebuilt = await keel.doctor({ rebuildIndexes: true });
    expect(rebuilt.ok).toBe(true);
    expect(rebuilt.repaired).toEqual([
      { action: 'rebuilt', key: 'tracking/journal', to: 'tracking/journals/1' },
    ]);
    const other = createKeel({ backend: { metadata: keel.metadata, artifacts: keel.artifacts } });
    const late = await keel.tracker.startRun({ experiment: 'e' });
    await late.end();
    expect((await other.tracker.searchRuns()).runs).toHaveLength(2);
    await expect(keel.doctor({ dryrun: true } as never)).rejects.toMatchObject({
      code: 'KEEL_VALIDATION',
    });
    await keel.close();
  });
});

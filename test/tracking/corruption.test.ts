import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createKeel, type Keel } from '../../src/keel.js';
import type { CorruptRecord } from '../../src/tracking/types.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'keel-corrupt-'));
  dirs.push(root);
  return root;
}

function open(root: string): { keel: Keel; seen: CorruptRecord[] } {
  const keel = createKeel({ backend: fsBackend({ root }) });
  const seen: CorruptRecord[] = [];
  keel.events.on('store:corrupt', (record) => seen.push(record));
  return { keel, seen };
}

async function writeRuns(root: string, n: number): Promise<string[]> {
  const keel = createKeel({ backend: fsBackend({ root }) });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const run = await keel.tracker.startRun({ experiment: 'e', params: { i } });
    await run.end();
    ids.push(run.id);
  }
  await keel.close();
  return ids;
}

const journalPath = (root: string) => join(root, 'metadata/logs/tracking/journal.log');
const runPath = (root: string, id: string) =>
  join(root, 'metadata/docs/tracking/runs', `${id}.json`);

/** Puts a garbage line between the journal's second and third lines. */
function plantJournalGarbage(root: string): void {
  const lines = readFileSync(journalPath(root), 'utf8').split('\n');
  lines.splice(2, 0, '2 1 deadbeef [["not a checksum",0]]');
  writeFileSync(journalPath(root), lines.join('\n'));
}

describe('a corrupt record does not take the tracker down (fs)', () => {
  it('a garbage line in the middle of the journal: startRun and searchRuns work and report it', async () => {
    const root = freshRoot();
    const ids = await writeRuns(root, 3);
    plantJournalGarbage(root);
    const { keel, seen } = open(root);
    const run = await keel.tracker.startRun({ experiment: 'e', params: { i: 3 } });
    await run.end();
    const result = await keel.tracker.searchRuns({ orderBy: ['params.i'] });
    expect(result.runs.map((r) => r.id)).toEqual([...ids, run.id]);
    expect(result.corrupt?.length).toBeGreaterThan(0);
    expect(result.corrupt!.every((c) => c.key === 'tracking/journal')).toBe(true);
    expect(result.corrupt!.some((c) => c.offset === 2)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]!.key).toBe('tracking/journal');
    await keel.close();
  });

  it('another process sees runs written after the journal broke', async () => {
    const root = freshRoot();
    const ids = await writeRuns(root, 2);
    plantJournalGarbage(root);
    const { keel: writer } = open(root);
    const { keel: reader } = open(root);
    expect((await reader.tracker.searchRuns()).runs).toHaveLength(2);
    const run = await writer.tracker.startRun({ experiment: 'e', params: { i: 9 } });
    await run.logParams({ late: 1 });
    const found = await reader.tracker.searchRuns({ filter: 'params.late = 1' });
    expect(found.runs.map((r) => r.id)).toEqual([run.id]);
    expect(ids).toHaveLength(2);
    await writer.close();
    await reader.close();
  });

  it('a truncated run document is skipped and reported; the other runs are found', async () => {
    const root = freshRoot();
    const ids = await writeRuns(root, 3);
    const bytes = readFileSync(runPath(root, ids[1]!));
    writeFileSync(runPath(root, ids[1]!), bytes.subarray(0, bytes.length >> 1));
    const { keel, seen } = open(root);
    const result = await keel.tracker.searchRuns({ orderBy: ['params.i'] });
    expect(result.runs.map((r) => r.id)).toEqual([ids[0], ids[2]]);
    expect(result.corrupt).toEqual([
      { key: `tracking/runs/${ids[1]}`, reason: expect.stringContaining('[keel]') },
    ]);
    expect(seen.map((r) => r.key)).toEqual([`tracking/runs/${ids[1]}`]);
    // writes never build on it: the damaged run refuses updates
    await expect(keel.tracker.getRun(ids[1]!)).rejects.toMatchObject({ code: 'KEEL_INTEGRITY' });
    await keel.close();
  });

  it('a listing (journal broken too) skips each corrupt document and goes on', async () => {
    const root = freshRoot();
    const ids = await writeRuns(root, 12);
    plantJournalGarbage(root);
    const doc = JSON.parse(readFileSync(runPath(root, ids[7]!), 'utf8'));
    doc.value = { format: 1, nonsense: true };
    writeFileSync(runPath(root, ids[7]!), JSON.stringify(doc));
    const bytes = readFileSync(runPath(root, ids[8]!));
    writeFileSync(runPath(root, ids[8]!), bytes.subarray(0, 10));
    const { keel } = open(root);
    const result = await keel.tracker.searchRuns({ limit: 1000 });
    expect(result.runs).toHaveLength(10);
    expect(result.corrupt?.map((c) => c.key).sort()).toEqual(
      ['tracking/journal', `tracking/runs/${ids[7]}`, `tracking/runs/${ids[8]}`].sort(),
    );
    await keel.close();
  });
});

/**
 * Issue 12: `keel.doctor()` reads every log the store holds (pipeline run logs and logs of
 * other services too, not only the tracker's), reports a damaged one with its offset and what
 * to do, and never deletes it; on a store that cannot name its logs it says what it skipped.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createKeel } from '../../src/keel.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { tempRoot } from '../fs/helpers.js';
import { inMode } from '../registry/stores.js';

const logPath = (root: string, log: string) => join(root, 'metadata/logs', `${log}.log`);

/** Puts a line that is no log line before the last record (one append) of a log file. */
function plantGarbage(path: string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.splice(lines.length - 2, 0, 'garbage that is no log line');
  writeFileSync(path, lines.join('\n'));
}

describe('keel.doctor() and every log of the store', () => {
  it('a damaged pipeline run log and a log of another service are reported, kept, and counted', async () => {
    const root = tempRoot('keel-doctor-logs-');
    const keel = createKeel({ backend: fsBackend({ root }) });
    const flow = pipeline('nightly')
      .step('a', () => 1)
      .step('b', ({ a }) => a + 1)
      .build();
    const { runId } = await flow.run(undefined, { keel });
    for (const n of [1, 2, 3]) await keel.metadata.append('custom/events', [{ n }]);
    const healthy = await keel.doctor({ dryRun: true });
    expect(healthy).toMatchObject({ ok: true, corrupt: [], unchecked: [] });
    const runLog = `pipelines/nightly/runs/${runId}`;
    expect(healthy.checked.logs).toBeGreaterThanOrEqual(3); // journal, run log, custom
    await keel.close();

    plantGarbage(logPath(root, runLog));
    plantGarbage(logPath(root, 'custom/events'));
    const reopened = createKeel({ backend: fsBackend({ root }) });
    const events: string[] = [];
    reopened.events.on('store:corrupt', (r) => events.push(r.key));
    const report = await reopened.doctor();
    expect(report.ok).toBe(false);
    const byKey = new Map(report.corrupt.map((f) => [f.key, f]));
    expect(byKey.get(runLog)).toMatchObject({
      kind: 'log',
      offset: expect.any(Number),
      remedy: expect.stringMatching(/start a new run instead of resuming from this one/),
    });
    expect(byKey.get('custom/events')).toMatchObject({
      kind: 'log',
      offset: 2,
      remedy: expect.stringMatching(/restore this log from a backup.*entries before offset 2/),
    });
    expect(events.sort()).toEqual(['custom/events', runLog].sort());
    expect(report.repaired).toEqual([]);
    // reported in the stored report, and never deleted
    const stored = await reopened.metadata.get(report.reportKey!);
    expect(JSON.stringify(stored?.value)).toContain(runLog);
    expect(existsSync(logPath(root, runLog))).toBe(true);
    expect(existsSync(logPath(root, 'custom/events'))).toBe(true);
    await reopened.close();
  });

  it('a store that cannot name its logs: the tracker logs are checked and the rest is listed as unchecked', async () => {
    const backend = memoryBackend();
    const metadata = inMode(backend.metadata, 'batch'); // drops listLogs
    expect(metadata.listLogs).toBeUndefined();
    const keel = createKeel({ backend: { metadata, artifacts: backend.artifacts } });
    const run = await keel.tracker.startRun({ experiment: 'e' });
    run.logMetric('loss', 1);
    await run.end();
    const report = await keel.doctor();
    expect(report.ok).toBe(true);
    expect(report.checked.logs).toBe(2); // the journal and the run's metric log
    expect(report.unchecked).toEqual([expect.stringMatching(/cannot name its logs/)]);
  });
});

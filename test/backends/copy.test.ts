/**
 * copyBackend: a store populated through createKeel on fs, copied into memory (and into
 * another fs store), reads back the same; an interrupted copy resumes and writes nothing
 * twice; a non-empty target is refused unless resuming.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import { type CopyProgress, copyBackend } from '../../src/backends/copy.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { isKeelError } from '../../src/core/errors.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { collect } from '../../src/testing/assert.js';
import { errorOf, tempRoot } from '../fs/helpers.js';
import { populate, view } from './copy-fixture.js';

/** A backend whose writes fail after `budget` of them, as a process killed mid-copy would stop. */
function failingAfter(target: Backend, budget: number): Backend {
  let left = budget;
  const spend = (): void => {
    if (left-- <= 0) throw new Error('the copy was killed');
  };
  return {
    artifacts: {
      ...target.artifacts,
      put: async (body, opts) => {
        spend();
        return target.artifacts.put(body, opts);
      },
    },
    metadata: {
      ...target.metadata,
      append: async (log, entries) => {
        spend();
        return target.metadata.append(log, entries);
      },
      put: async (key, value, opts) => {
        spend();
        return target.metadata.put(key, value, opts);
      },
    } as MetadataStore,
  };
}

describe('copyBackend', () => {
  it('copies an fs store populated through createKeel into memory: everything reads back the same', async () => {
    const source = fsBackend({ root: tempRoot() });
    const populated = await populate(source);
    const target = memoryBackend();
    const seen: CopyProgress[] = [];
    const report = await copyBackend(source, target, { onProgress: (p) => seen.push(p) });
    const expected = await view(source, populated);
    expect(await view(target, populated)).toEqual(expected);
    // The comparison is not vacuous: the source has runs, lineage, versions, history, audit.
    expect(expected).toMatchObject({
      searches: {
        everything: { runs: { length: 9 } },
        all: { runs: { length: 3 } },
        filtered: { runs: { length: 1 } },
        children: { runs: [{ name: 'depth-5' }, { name: 'depth-3' }] },
        steps: { runs: [{ name: 'rows' }, { name: 'total' }] },
        liked: { runs: { length: 3 } },
      },
      productionHistory: [{ version: 2, evidence: populated.report }],
      pipelineRun: { status: 'completed' },
      history: [{ length: 40 }, { length: 40 }, { length: 40 }],
      lineage: { consumedBy: { length: 3 } },
      modelLineage: { producedBy: { length: 1 } },
      versions: { versions: { length: 2 } },
      aliases: { prod: 1, staging: 2 },
      prodHistory: { length: 3 },
      verifyAudit: { ok: true },
      verifyLineage: { ok: true },
      bytes: 'weights of trial 0',
    });
    expect((expected as { audit: unknown[] }).audit.length).toBeGreaterThan(5);
    // Every log entry at the same offset.
    for await (const log of source.metadata.listLogs!('')) {
      expect(await collect(target.metadata.read(log))).toEqual(
        await collect(source.metadata.read(log)),
      );
    }
    expect(report.artifacts.copied).toBe((await collect(source.artifacts.list())).length);
    expect(report.documents.copied).toBe((await collect(source.metadata.list(''))).length);
    expect(seen.map((p) => p.phase)).toEqual([
      ...Array(report.artifacts.copied).fill('artifacts'),
      ...Array(report.logs.logs).fill('logs'),
      ...Array(report.documents.copied).fill('documents'),
    ]);
    expect(seen.at(-1)).toMatchObject({
      artifacts: report.artifacts.copied,
      documents: report.documents.copied,
      logEntries: report.logs.appended,
    });
  });

  it('copies memory into fs and back (a plain { metadata, artifacts } pair is a backend)', async () => {
    const memory = {
      metadata: createMemoryMetadataStore(),
      artifacts: createMemoryArtifactStore(),
    };
    const populated = await populate(memory);
    const disk = fsBackend({ root: tempRoot() });
    await copyBackend(memory, disk);
    const back = memoryBackend();
    await copyBackend(disk, back);
    expect(await view(back, populated)).toEqual(await view(memory, populated));
  });

  it('refuses a non-empty target unless told to resume', async () => {
    const source = memoryBackend();
    await populate(source);
    for (const seed of [
      async (t: Backend) => void (await t.artifacts.put('x')),
      async (t: Backend) => void (await t.metadata.put('k', 1)),
      async (t: Backend) => void (await t.metadata.append('l', [1])),
    ]) {
      const target = memoryBackend();
      await seed(target);
      const error = await errorOf(copyBackend(source, target));
      expect(isKeelError(error, 'KEEL_CONFLICT')).toBe(true);
      expect((error as Error).message).toContain('resume: true');
    }
  });

  it('resumes an interrupted copy: re-running continues, writes nothing twice, ends equal', async () => {
    const source = fsBackend({ root: tempRoot() });
    const populated = await populate(source);
    const target = fsBackend({ root: tempRoot() });
    const logs = await collect(source.metadata.listLogs!(''));
    // Kill the copy every few writes, in every phase, and run it again until it completes.
    const phases = new Set<string>();
    let attempts = 0;
    for (let done = false; !done; ) {
      attempts++;
      try {
        await copyBackend(source, failingAfter(target, 3), {
          resume: true,
          batchSize: 7,
          onProgress: (p) => phases.add(p.phase),
        });
        done = true;
      } catch (error) {
        expect((error as Error).message).toBe('the copy was killed');
      }
    }
    expect(attempts).toBeGreaterThan(5);
    expect([...phases].sort()).toEqual(['artifacts', 'documents', 'logs']);
    for (const log of logs) {
      expect(await collect(target.metadata.read(log))).toEqual(
        await collect(source.metadata.read(log)),
      );
    }
    expect(await view(target, populated)).toEqual(await view(source, populated));
    // A second resume finds everything in place and writes nothing.
    const again = await copyBackend(source, target, { resume: true });
    expect(again.artifacts.copied + again.logs.appended + again.documents.copied).toBe(0);
    expect(again.artifacts.present).toBe((await collect(source.artifacts.list())).length);
    expect(again.documents.present).toBe((await collect(source.metadata.list(''))).length);
    expect(again.logs.logs).toBe(logs.length);
  });

  it('stops between items when the signal aborts, and resumes from there', async () => {
    const source = memoryBackend();
    const populated = await populate(source);
    const target = memoryBackend();
    const controller = new AbortController();
    const error = await errorOf(
      copyBackend(source, target, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'logs') controller.abort();
        },
      }),
    );
    expect(isKeelError(error, 'KEEL_ABORTED')).toBe(true);
    expect(await collect(target.metadata.list(''))).toEqual([]);
    await copyBackend(source, target, { resume: true });
    expect(await view(target, populated)).toEqual(await view(source, populated));
  });

  it('refuses to resume into a log that holds other entries', async () => {
    const source = memoryBackend();
    await source.metadata.append('events', [1, 2, 3]);
    const target = memoryBackend();
    await target.metadata.append('events', [1, 9]);
    const error = await errorOf(copyBackend(source, target, { resume: true }));
    expect(isKeelError(error, 'KEEL_CONFLICT')).toBe(true);
    expect((error as Error).message).toContain('offset 1');
    expect((await collect(target.metadata.read('events'))).map((r) => r.entry)).toEqual([1, 9]);
  });

  it('verifies artifacts: a corrupt source blob fails the copy and is not stored', async () => {
    const source = fsBackend({ root: tempRoot() });
    const { digest } = await source.artifacts.put('weights');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(source.artifacts.pathOf(digest), 'forged!');
    const target = memoryBackend();
    expect(isKeelError(await errorOf(copyBackend(source, target)), 'KEEL_INTEGRITY')).toBe(true);
    expect(await target.artifacts.has(digest)).toBe(false);
  });

  it('needs a source that can list its logs, and validates its arguments', async () => {
    const source = memoryBackend();
    const { listLogs: _listLogs, ...withoutListLogs } = source.metadata;
    const blind = { artifacts: source.artifacts, metadata: withoutListLogs as MetadataStore };
    const error = await errorOf(copyBackend(blind, memoryBackend()));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect((error as Error).message).toContain('listLogs');
    expect(isKeelError(await errorOf(copyBackend(source, source)), 'KEEL_VALIDATION')).toBe(true);
    expect(isKeelError(await errorOf(copyBackend(source, {} as Backend)), 'KEEL_VALIDATION')).toBe(
      true,
    );
    expect(
      isKeelError(
        await errorOf(copyBackend(source, memoryBackend(), { batchSize: 0 })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});

/**
 * A tracker store on fs with many runs, for the search and UI benchmarks: built once into
 * `.bench-tmp/` and reused (keyed by the run count and the snapshot format). The run documents
 * and the journal are written as files directly (writing 1M runs through the tracker, fsync by
 * fsync, would take hours). Then keel compacts the journal itself (`RunIndex.compact`: the
 * first time by listing every run document), a tail of new runs is announced in the new log,
 * keel compacts again (from the snapshot), and a second tail follows: the steady state a new
 * process meets just before the next compaction is due (the worst case for its first search).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsBackend } from '../src/backends/fs/backend.js';
import { keyLocation } from '../src/backends/fs/key-path.js';
import { formatLine } from '../src/backends/fs/log-file.js';
import { systemClock } from '../src/core/clock.js';
import { createIdGenerator } from '../src/core/ids.js';
import type { JsonValue } from '../src/core/json.js';
import { readHead } from '../src/tracking/journal-head.js';
import { runToJson, trackingKeys } from '../src/tracking/records.js';
import { COMPACT_SHIFT, RunIndex } from '../src/tracking/run-index.js';
import { SNAPSHOT_FORMAT } from '../src/tracking/search-snapshot.js';
import { DEFAULT_SEARCH_SNAPSHOT_EVERY } from '../src/tracking/tracker.js';
import type { Run } from '../src/tracking/types.js';

/** The experiment every run of the store belongs to. */
export const BENCH_EXPERIMENT = 'bench';

/** A built store. */
export interface TrackerStore {
  /** The fs backend root. */
  root: string;
  /** Runs in the last snapshot, and runs written after it (named only by the journal log in use). */
  runs: number;
  tail: number;
  /**
   * Set when this call built the store: how long writing the files took, the first compaction
   * (listing every run) and the second (from the first snapshot, with its tail).
   */
  built?: { writeMs: number; listCompactMs: number; compactMs: number };
}

/**
 * The store with `count` runs (built when absent). `tail` new runs (default: as many as fill
 * the journal log up to the compaction threshold, 3 entries each) come after the snapshot.
 */
export async function trackerStore(count: number): Promise<TrackerStore> {
  const tail = Math.floor(Math.max(DEFAULT_SEARCH_SNAPSHOT_EVERY, count >> COMPACT_SHIFT) / 3) - 1;
  const root = join(
    process.cwd(),
    '.bench-tmp',
    `tracker-${count}-${tail}-2-${SNAPSHOT_FORMAT.replace(/[^a-z0-9]/g, '')}`,
  );
  if (existsSync(join(root, 'ready'))) return { root, runs: count + tail, tail };
  rmSync(root, { recursive: true, force: true });
  const newId = createIdGenerator();
  const start = performance.now();
  writeRuns(root, 0, count, newId, trackingKeys.journal);
  const writeMs = performance.now() - start;
  const backend = fsBackend({ root });
  for (const name of [BENCH_EXPERIMENT]) {
    await backend.metadata.put(trackingKeys.experiment(name), {
      name,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
  }
  const compact = async (): Promise<number> => {
    const begin = performance.now();
    const index = new RunIndex(backend.metadata, systemClock, DEFAULT_SEARCH_SNAPSHOT_EVERY);
    if (!(await index.compact())) throw new Error('the bench store could not be compacted');
    return performance.now() - begin;
  };
  const listCompactMs = await compact();
  writeRuns(root, count, tail, newId, (await readHead(backend.metadata)).log);
  const compactMs = await compact();
  writeRuns(root, count + tail, tail, newId, (await readHead(backend.metadata)).log);
  writeFileSync(join(root, 'ready'), '');
  return { root, runs: count + tail, tail, built: { writeMs, listCompactMs, compactMs } };
}

/** The run of index `i`: 3 params, 2 metrics, a tag, ended (3 writes: create, metrics, end). */
export function benchRun(i: number, id: string): Run {
  const teams = ['vision', 'nlp', 'audio', 'tabular'];
  const start = Date.UTC(2026, 0, 1) + i * 1000;
  return {
    id,
    experiment: BENCH_EXPERIMENT,
    name: `trial-${i}`,
    status: i % 7 === 0 ? 'failed' : 'completed',
    startTime: new Date(start).toISOString(),
    endTime: new Date(start + 500).toISOString(),
    params: { lr: 10 ** -(1 + (i % 4)), layers: 1 + (i % 8), optimizer: i % 3 ? 'adam' : 'sgd' },
    tags: { team: teams[i % 4]! },
    metrics: {
      acc: { key: 'acc', value: (i % 1000) / 1000, step: 0, timestamp: start + 400 },
      loss: { key: 'loss', value: 1 - (i % 1000) / 1000, step: 0, timestamp: start + 400 },
    },
    inputs: [],
    outputs: [],
  };
}

/** Writes runs `from .. from + n` as document files and their journal entries into `log`. */
function writeRuns(root: string, from: number, n: number, newId: () => string, log: string): void {
  const docs = join(root, 'metadata', 'docs');
  const made = new Set<string>();
  const entries: JsonValue[] = [];
  for (let i = from; i < from + n; i++) {
    const id = newId();
    const key = trackingKeys.run(id);
    const { dirs, file } = keyLocation(key, '.json');
    const dir = join(docs, ...dirs);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    const value = runToJson({ run: benchRun(i, id), seq: 2 });
    const revision = randomBytes(8).toString('hex');
    writeFileSync(join(dir, file), JSON.stringify({ key, revision, value }));
    entries.push([id, 0], [id, 1], [id, 2]);
  }
  appendLog(root, log, entries);
}

/** Appends entries to a log file in the fs store's format, 1000 a line. */
function appendLog(root: string, log: string, entries: readonly JsonValue[]): void {
  const { dirs, file } = keyLocation(log, '.log');
  const path = join(root, 'metadata', 'logs', ...dirs, file);
  mkdirSync(dirname(path), { recursive: true });
  const writer = randomBytes(8).toString('hex');
  const lines: Buffer[] = [];
  // a new log, or the tail of one written here: offsets from 0
  for (let offset = 0; offset < entries.length; offset += 1000)
    lines.push(formatLine(offset, entries.slice(offset, offset + 1000), writer));
  writeFileSync(path, Buffer.concat(lines), { flag: 'wx' });
}

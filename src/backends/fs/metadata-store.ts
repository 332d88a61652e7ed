/**
 * @module
 * Filesystem MetadataStore: one file per document (written to a temp file, fsynced,
 * renamed into place), per-key lock files for compare-and-swap across processes, and
 * append-only logs whose torn last record is ignored and truncated by the next append.
 */
import { constants, type FileHandle, open, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { sha256 } from '../../core/digest.js';
import { IntegrityError } from '../../core/errors.js';
import { createIdGenerator } from '../../core/ids.js';
import { type JsonValue, parseJsonSafe } from '../../core/json.js';
import { parseWith } from '../../core/validate.js';
import {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  checkRevision,
  compareKeys,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  readFrom,
} from '../../metadata/keys.js';
import type { MetadataCapabilities, MetadataStore, Versioned } from '../../metadata/types.js';
import {
  errorCode,
  fsyncDir,
  listDir,
  mkdirDurable,
  publish,
  readOptional,
  removeFile,
  storageError,
  writeAll,
  writeTemp,
} from './io.js';
import { dirName, isHashedName, keyLocation, segmentOfName } from './key-path.js';
import { formatLine, type LogLine, lineEntries, scanLog } from './log-file.js';
import { openStoreRoot } from './store-root.js';

/** Options of {@link createFsMetadataStore}. */
export interface FsMetadataStoreOptions {
  /** Directory of the store (created if missing). Several processes may share it. */
  root: string;
  /** A lock older than this (ms) is taken over even if its holder seems alive. Default 30 000. */
  lockStaleMs?: number;
  /** Longest wait for a lock before `TimeoutError` (ms). Default 60 000. */
  lockTimeoutMs?: number;
}

/** The filesystem MetadataStore: a {@link MetadataStore} that also tells where it lives. */
export type FsMetadataStore = MetadataStore & {
  /** Absolute path of the store directory. */
  readonly root: string;
  /** Always `{ sharedAcrossProcesses: true }`. */
  readonly capabilities: MetadataCapabilities;
  /** Forgets in-memory log positions; the store stays usable. */
  close(): Promise<void>;
};

const optionsSchema = z
  .object({
    root: z.string().min(1, 'pass the directory of the store'),
    lockStaleMs: z.number().int().positive().optional(),
    lockTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

/**
 * Creates a MetadataStore in a directory. Safe to share between processes on one machine:
 * compare-and-swap and log appends take per-key lock files, every write is atomic.
 *
 * @example
 * ```ts
 * const meta = createFsMetadataStore({ root: '.keel/metadata' });
 * const { revision } = await meta.put('models/churn', { owner: 'ml' }, { ifRevision: null });
 * ```
 */
export function createFsMetadataStore(opts: FsMetadataStoreOptions): FsMetadataStore {
  const options = parseWith(optionsSchema, opts, 'fs metadata store options');
  const { root, tmpDir, locker, ready: init } = openStoreRoot(options, ['docs', 'logs']);
  const docsDir = join(root, 'docs');
  const logsDir = join(root, 'logs');
  const nextRevision = createIdGenerator();
  const logStates = new Map<string, LogState>();
  const checkpoints = new Map<string, Checkpoints>();

  const docPath = (key: string): string => {
    const { dirs, file } = keyLocation(key, DOC_SUFFIX);
    return join(docsDir, ...dirs, file);
  };
  const logPath = (log: string): string => {
    const { dirs, file } = keyLocation(log, LOG_SUFFIX);
    return join(logsDir, ...dirs, file);
  };

  const checkpointFor = (path: string, ino: number): Checkpoints => {
    let points = checkpoints.get(path);
    if (points?.ino !== ino) {
      points = { ino, offsets: [0], positions: [0] };
      checkpoints.set(path, points);
    }
    return points;
  };

  /** Removes now-empty directories from `dir` up to (not including) the docs root. */
  const pruneEmpty = async (dir: string): Promise<void> => {
    for (let current = dir; current.length > docsDir.length && current.startsWith(docsDir); ) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty, already gone, or not ours: all fine
      }
      current = dirname(current);
    }
  };

  /** Paths of every document whose key starts with `prefix`, reading only reachable directories. */
  const collect = async (prefix: string): Promise<Found[]> => {
    const parts = prefix.split('/');
    const partial = parts.pop()!;
    if (parts.some((segment) => segment === '')) return [];
    const found: Found[] = [];
    let dir = docsDir;
    // Keys too deep for the path budget live as hashed files in an ancestor directory.
    for (const segment of parts) {
      for (const name of await listDir(dir)) {
        if (isHashedName(name, DOC_SUFFIX)) await addRead(found, join(dir, name), prefix);
      }
      dir = join(dir, dirName(segment));
    }
    const base = parts.length === 0 ? '' : `${parts.join('/')}/`;
    for (const name of await listDir(dir)) {
      const path = join(dir, name);
      if (name.endsWith(DOC_SUFFIX)) {
        const segment = segmentOfName(name, DOC_SUFFIX);
        if (segment !== undefined) {
          if (segment.startsWith(partial)) found.push({ key: base + segment, path });
        } else if (isHashedName(name, DOC_SUFFIX)) {
          await addRead(found, path, prefix);
        }
        continue;
      }
      const segment = segmentOfName(name, '');
      if (segment !== undefined) {
        if (segment.startsWith(partial)) await walk(found, path, `${base}${segment}/`, prefix);
      } else if (isHashedName(name, '')) {
        await walk(found, path, undefined, prefix);
      }
    }
    return found;
  };

  const walk = async (
    found: Found[],
    dir: string,
    base: string | undefined,
    prefix: string,
  ): Promise<void> => {
    for (const name of await listDir(dir)) {
      const path = join(dir, name);
      if (name.endsWith(DOC_SUFFIX)) {
        const segment = segmentOfName(name, DOC_SUFFIX);
        if (segment !== undefined && base !== undefined) found.push({ key: base + segment, path });
        else if (segment !== undefined || isHashedName(name, DOC_SUFFIX))
          await addRead(found, path, prefix);
        continue;
      }
      const segment = segmentOfName(name, '');
      if (segment !== undefined)
        await walk(found, path, base === undefined ? undefined : `${base}${segment}/`, prefix);
      else if (isHashedName(name, '')) await walk(found, path, undefined, prefix);
    }
  };

  return {
    root,
    capabilities: { sharedAcrossProcesses: true },

    async get(key) {
      assertKey(key);
      await init();
      const doc = await readDocument(docPath(key), key);
      return doc === undefined ? undefined : { value: doc.value, revision: doc.revision };
    },

    async put(key, value, putOpts) {
      assertKey(key);
      assertRevisionOption(putOpts?.ifRevision, true);
      const copy = copyJsonValue(value);
      await init();
      const path = docPath(key);
      const revision = nextRevision();
      // The temp file is written and fsynced before taking the lock, to keep the lock short.
      const temp = await writeTemp(tmpDir, JSON.stringify({ key, revision, value: copy }));
      let published = false;
      try {
        await locker.withLock(lockName('d', key), async () => {
          if (putOpts?.ifRevision !== undefined) {
            const current = await readDocument(path, key);
            checkRevision('fs', key, current?.revision, putOpts.ifRevision);
          }
          published = true; // publish removes the temp file itself when it fails
          await publish(temp, path);
        });
      } finally {
        if (!published) await removeFile(temp).catch(() => undefined);
      }
      return { revision };
    },

    async delete(key, deleteOpts) {
      assertKey(key);
      assertRevisionOption(deleteOpts?.ifRevision, false);
      await init();
      const path = docPath(key);
      return locker.withLock(lockName('d', key), async () => {
        const current = await readDocument(path, key, deleteOpts?.ifRevision === undefined);
        checkRevision('fs', key, current?.revision, deleteOpts?.ifRevision);
        if (!(await removeFile(path))) return false;
        await fsyncDir(dirname(path));
        await pruneEmpty(dirname(path));
        return true;
      });
    },

    async *list(prefix, listOpts) {
      assertPrefix(prefix);
      const limit = listLimit(listOpts);
      const after = listOpts?.after;
      await init();
      const found = (await collect(prefix))
        .filter((f) => f.key.startsWith(prefix) && (after === undefined || f.key > after))
        .sort((a, b) => compareKeys(a.key, b.key));
      let count = 0;
      for (const entry of found) {
        if (count >= limit) return;
        const doc = entry.doc ?? (await readDocument(entry.path, entry.key));
        if (doc === undefined) continue; // deleted since the directory was read
        count++;
        yield { key: entry.key, value: doc.value, revision: doc.revision };
      }
    },

    async append(log, entries) {
      assertKey(log, 'log name');
      const copies = copyLogEntries(entries);
      await init();
      const path = logPath(log);
      return locker.withLock(lockName('l', log), async () => {
        const { handle, created } = await openLogForAppend(path);
        try {
          const stat = await handle.stat();
          let state = logStates.get(path);
          if (state === undefined || state.ino !== stat.ino || state.end > stat.size) {
            state = { ino: stat.ino, end: 0, next: 0 };
          }
          if (stat.size !== state.end) {
            const points = checkpointFor(path, stat.ino);
            for await (const item of scanLog(handle, path, state.end, state.next)) {
              if (item.kind === 'line') {
                addCheckpoint(points, item);
                continue;
              }
              state = { ino: stat.ino, end: item.end, next: item.next };
              // A writer was killed mid-append: drop its torn record before writing.
              if (stat.size > item.end) {
                await handle.truncate(item.end);
                await handle.sync();
              }
            }
          }
          const offset = state.next;
          const line = formatLine(offset, copies);
          logStates.delete(path);
          await writeAll(handle, line, state.end);
          await handle.datasync();
          if (created) await fsyncDir(dirname(path));
          logStates.set(path, {
            ino: stat.ino,
            end: state.end + line.length,
            next: offset + copies.length,
          });
          return { offset };
        } catch (error) {
          throw storageError(error, 'append to the log', path);
        } finally {
          await handle.close().catch(() => undefined);
        }
      });
    },

    async *read(log, readOpts) {
      assertKey(log, 'log name');
      const from = readFrom(readOpts);
      await init();
      const path = logPath(log);
      let handle: FileHandle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
        throw storageError(error, 'read the log', path);
      }
      try {
        const points = checkpointFor(path, (await handle.stat()).ino);
        const start = nearestCheckpoint(points, from);
        for await (const item of scanLog(
          handle,
          path,
          points.positions[start]!,
          points.offsets[start]!,
          { before: from, visit: (line) => addCheckpoint(points, line) },
        )) {
          if (item.kind === 'end') return;
          addCheckpoint(points, item);
          if (item.offset + item.count <= from) continue;
          const entries = lineEntries(item, path);
          for (let i = 0; i < entries.length; i++) {
            if (item.offset + i >= from) yield { offset: item.offset + i, entry: entries[i]! };
          }
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    },

    async close() {
      logStates.clear();
      checkpoints.clear();
    },
  };
}

const DOC_SUFFIX = '.json';
const LOG_SUFFIX = '.log';
/** Checkpoints are kept at most this many bytes apart, so reading from an offset skips ahead. */
const CHECKPOINT_SPACING = 64 * 1024;

interface Found {
  key: string;
  path: string;
  doc?: Versioned;
}

/** Where the valid part of a log ends, as last seen by this process under the lock. */
interface LogState {
  ino: number;
  end: number;
  next: number;
}

/** Known line starts of one log file (parallel arrays, ascending). */
interface Checkpoints {
  ino: number;
  offsets: number[];
  positions: number[];
}

function lockName(kind: 'd' | 'l', key: string): string {
  return `${kind}-${sha256(`${kind}\u0000${key}`).slice(7, 47)}`;
}

/**
 * Reads a document file; `undefined` when absent. A file that does not parse, or that
 * records another key, throws `IntegrityError` (unless `lenient`, then it counts as absent).
 */
async function readDocument(
  path: string,
  key: string,
  lenient = false,
): Promise<Versioned | undefined> {
  const bytes = await readOptional(path);
  if (bytes === undefined) return undefined;
  const doc = parseDocument(bytes.toString('utf8'));
  if (doc !== undefined && doc.key === key) return { value: doc.value, revision: doc.revision };
  if (lenient) return undefined;
  throw new IntegrityError(
    `[keel] [fs] the document file ${path} ${doc === undefined ? 'is unreadable' : `holds the key ${JSON.stringify(doc.key)}`}, not a document for ${JSON.stringify(key)}: restore it from a backup, or put the key again without ifRevision`,
    { details: { path, key } },
  );
}

function parseDocument(
  text: string,
): { key: string; revision: string; value: JsonValue } | undefined {
  let parsed: JsonValue;
  try {
    parsed = parseJsonSafe(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { key, revision, value } = parsed;
  if (typeof key !== 'string' || typeof revision !== 'string' || value === undefined)
    return undefined;
  return { key, revision, value };
}

/** Reads a hashed file (its key is only inside) and keeps it when its key has the prefix. */
async function addRead(found: Found[], path: string, prefix: string): Promise<void> {
  const bytes = await readOptional(path);
  if (bytes === undefined) return;
  const doc = parseDocument(bytes.toString('utf8'));
  if (doc === undefined) {
    throw new IntegrityError(
      `[keel] [fs] the document file ${path} is unreadable: restore it from a backup or delete it`,
      {
        details: { path },
      },
    );
  }
  if (doc.key.startsWith(prefix))
    found.push({ key: doc.key, path, doc: { value: doc.value, revision: doc.revision } });
}

async function openLogForAppend(path: string): Promise<{ handle: FileHandle; created: boolean }> {
  try {
    return { handle: await open(path, constants.O_RDWR), created: false };
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw storageError(error, 'open the log', path);
  }
  await mkdirDurable(dirname(path));
  try {
    return { handle: await open(path, constants.O_RDWR | constants.O_CREAT), created: true };
  } catch (error) {
    throw storageError(error, 'create the log', path);
  }
}

function nearestCheckpoint(points: Checkpoints, from: number): number {
  let lo = 0;
  let hi = points.offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (points.offsets[mid]! <= from) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function addCheckpoint(points: Checkpoints, line: LogLine): void {
  const last = points.offsets.length - 1;
  if (
    line.offset > points.offsets[last]! &&
    line.start - points.positions[last]! >= CHECKPOINT_SPACING
  ) {
    points.offsets.push(line.offset);
    points.positions.push(line.start);
  }
}

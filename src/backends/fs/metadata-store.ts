/**
 * @module
 * Filesystem MetadataStore: one file per document (written to a temp file, fsynced,
 * renamed into place), per-key fenced locks for compare-and-swap across processes (a write
 * commits only while its lock is still held, ADR 0009), and append-only logs whose torn last
 * record is ignored and truncated by the next append.
 */
import { constants, type FileHandle, link, lstat, rename, rmdir, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { sha256 } from '../../core/digest.js';
import { ConflictError, IntegrityError, StorageError } from '../../core/errors.js';
import { createIdGenerator } from '../../core/ids.js';
import { type JsonValue, parseJsonSafe } from '../../core/json.js';
import { parseWith } from '../../core/validate.js';
import {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  checkOffset,
  checkRevision,
  compareKeys,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  readFrom,
} from '../../metadata/keys.js';
import type { MetadataCapabilities, MetadataStore, Versioned } from '../../metadata/types.js';
import {
  assertNoSymlinks,
  errorCode,
  fsyncDir,
  listDir,
  mkdirDurable,
  openNoFollow,
  readOptional,
  removeFile,
  storageError,
  writeAll,
  writeTemp,
} from './io.js';
import { dirName, isHashedName, keyLocation, segmentOfName } from './key-path.js';
import type { HeldLock } from './lock.js';
import { formatLine, type LogLine, lineAt, lineEntries, newWriterId, scanLog } from './log-file.js';
import { openStoreRoot } from './store-root.js';

/** Options of {@link createFsMetadataStore}. */
export interface FsMetadataStoreOptions {
  /** Directory of the store (created if missing). Several processes may share it. */
  root: string;
  /**
   * A lock held by a process on another host (or in another pid namespace) that has not been
   * refreshed for this long (ms) is taken over; its holder can no longer commit. Locks of
   * live processes on this host are never taken over. Default 30 000.
   */
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
  return createFsMetadataStoreWithHooks(opts, {});
}

/**
 * Test hooks of the fs MetadataStore, to reproduce in one process what a pause or a crash at
 * an exact instruction does. For keel's own tests (and adapter authors studying them); not
 * part of the public API, and never set in production.
 * @internal
 */
export interface FsMetadataStoreTestHooks {
  /**
   * Called under the lock right before a write commits (the document rename, the log write),
   * after every check: a hook that deletes the lock here plays a holder paused at that point.
   */
  beforeCommit?(kind: 'document' | 'delete' | 'log', path: string): Promise<void> | void;
}

/**
 * {@link createFsMetadataStore} with test hooks (see {@link FsMetadataStoreTestHooks}).
 * @internal
 */
export function createFsMetadataStoreWithHooks(
  opts: FsMetadataStoreOptions,
  hooks: FsMetadataStoreTestHooks,
): FsMetadataStore {
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

  /**
   * Appends one line to the log at `path` under `lock` and returns its first offset. The line
   * is appended (O_APPEND: never over existing bytes), synced, and read back where the valid
   * log ended: a holder that lost its lock may have slipped a line in between, which is then
   * cut off (through the lock's private directory, so only a current holder can cut) and the
   * write retried. `LostAfterWrite` when the lock was lost during the write.
   */
  const appendLocked = async (
    lock: HeldLock,
    log: string,
    path: string,
    entries: readonly JsonValue[],
    writer: string,
    expectedOffset?: number,
  ): Promise<number> => {
    assertNoSymlinks(root, dirname(path));
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
          if (item.kind === 'line') addCheckpoint(points, item);
          else state = { ino: stat.ino, end: item.end, next: item.next };
        }
      }
      const { end, next: offset } = state;
      checkOffset('fs', log, offset, expectedOffset);
      const line = formatLine(offset, entries, writer);
      let linked: string | undefined;
      const cut = async (): Promise<void> => {
        linked ??= await linkIntoLock(lock, path, stat.ino);
        try {
          await truncate(linked, end);
        } catch (error) {
          if (errorCode(error) === 'ENOENT') await lock.assertHeld(`append to the log ${path}`);
          throw error;
        }
        await handle.datasync();
      };
      logStates.delete(path);
      // A writer was killed mid-append (or a fenced-out one wrote past the end): drop it.
      if ((await handle.stat()).size > end) await cut();
      await lock.assertHeld(`append to the log ${path}`);
      await hooks.beforeCommit?.('log', path);
      for (let attempt = 0; ; attempt++) {
        await writeAll(handle, line, null);
        await handle.datasync();
        if (await landedAt(handle, line, end)) break;
        if (attempt >= 8) {
          throw new StorageError(
            `[keel] [fs] cannot append to the log ${path}: other writers keep writing past its end without holding its lock; stop the processes that share this store without keel's locking and retry`,
            { details: { path } },
          );
        }
        await cut();
      }
      if (created) await fsyncDir(dirname(path));
      if (!(await lock.isHeld())) throw new LostAfterWrite(end, offset, writer);
      logStates.set(path, { ino: stat.ino, end: end + line.length, next: offset + entries.length });
      return offset;
    } catch (error) {
      if (error instanceof LostAfterWrite) throw error;
      throw storageError(error, 'append to the log', path);
    } finally {
      await handle.close().catch(() => undefined);
    }
  };

  /** Decides, under the lock again, whether an append that lost its lock mid-write counts. */
  const settleLostAppend = async (
    _lock: HeldLock,
    path: string,
    lost: LostAfterWrite,
  ): Promise<number> => {
    logStates.delete(path);
    const handle = await openNoFollow(path, constants.O_RDONLY).catch((error: unknown) => {
      throw storageError(error, 'read the log', path);
    });
    try {
      const line = await lineAt(handle, lost.position, lost.offset);
      if (line?.writer === lost.writer) return lost.offset;
    } finally {
      await handle.close().catch(() => undefined);
    }
    throw new ConflictError(
      `[keel] [fs] cannot append to the log ${path}: this process lost the log's lock while writing (it was taken over or removed), and the entries did not land; nothing was written, retry the append`,
      { details: { path, reason: 'lock-lost' } },
    );
  };

  return {
    root,
    capabilities: { sharedAcrossProcesses: true },

    async get(key) {
      assertKey(key);
      await init();
      const path = docPath(key);
      assertNoSymlinks(root, dirname(path));
      const doc = await readDocument(path, key);
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
      assertNoSymlinks(root, tmpDir);
      const temp = await writeTemp(tmpDir, JSON.stringify({ key, revision, value: copy }));
      try {
        await locker.withLock(lockName('d', key), async (lock) => {
          assertNoSymlinks(root, dirname(path));
          if (putOpts?.ifRevision !== undefined) {
            const current = await readDocument(path, key);
            checkRevision('fs', key, current?.revision, putOpts.ifRevision);
          }
          await commitDocument(lock, temp, path, hooks);
        });
      } finally {
        await removeFile(temp).catch(() => undefined);
      }
      return { revision };
    },

    async delete(key, deleteOpts) {
      assertKey(key);
      assertRevisionOption(deleteOpts?.ifRevision, false);
      await init();
      const path = docPath(key);
      return locker.withLock(lockName('d', key), async (lock) => {
        assertNoSymlinks(root, dirname(path));
        const current = await readDocument(path, key, deleteOpts?.ifRevision === undefined);
        checkRevision('fs', key, current?.revision, deleteOpts?.ifRevision);
        await hooks.beforeCommit?.('delete', path);
        if (!(await removeDocument(lock, path))) return false;
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
      const name = lockName('l', log);
      const writer = newWriterId();
      try {
        const offset = await locker.withLock(name, (lock) =>
          appendLocked(lock, log, path, copies, writer),
        );
        return { offset };
      } catch (error) {
        if (!(error instanceof LostAfterWrite)) throw error;
        // The lock was lost while our line was being written: under the lock again, the line
        // counts if and only if it is the one at the offset it was written for.
        const offset = await locker.withLock(name, (lock) => settleLostAppend(lock, path, error));
        return { offset };
      }
    },

    async *read(log, readOpts) {
      assertKey(log, 'log name');
      const from = readFrom(readOpts);
      await init();
      const path = logPath(log);
      assertNoSymlinks(root, dirname(path));
      let handle: FileHandle;
      try {
        handle = await openNoFollow(path, constants.O_RDONLY);
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

/** An append whose lock was lost while its line was being written: it may or may not count. */
class LostAfterWrite extends Error {
  constructor(
    readonly position: number,
    readonly offset: number,
    readonly writer: string,
  ) {
    super('[keel] [fs] the lock was lost during an append');
  }
}

/**
 * Commits a document: moves the fsynced temp file into the lock's private directory, then
 * renames it into place from there. Both renames fail (`ConflictError`, nothing written) once
 * the lock is no longer ours, because its private directory is then gone.
 */
async function commitDocument(
  lock: HeldLock,
  temp: string,
  path: string,
  hooks: FsMetadataStoreTestHooks,
): Promise<void> {
  const staged = join(lock.dir, 'doc');
  try {
    await rename(temp, staged);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') await lock.assertHeld(`write ${path}`);
    throw storageError(error, 'stage the document', staged);
  }
  await hooks.beforeCommit?.('document', path);
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(staged, path);
      break;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || attempt >= 5) throw storageError(error, 'publish', path);
      // Either the lock was lost (its directory went with the staged file), or a concurrent
      // delete removed the document's directory: recreate it and try again.
      await lock.assertHeld(`write ${path}`);
      await mkdirDurable(dirname(path));
    }
  }
  await fsyncDir(dirname(path));
}

/**
 * Removes a document by renaming it into the lock's private directory (a fenced commit, like
 * {@link commitDocument}); `false` when there was none.
 */
async function removeDocument(lock: HeldLock, path: string): Promise<boolean> {
  try {
    await rename(path, join(lock.dir, 'gone'));
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw storageError(error, 'remove', path);
    await lock.assertHeld(`remove ${path}`);
    return false;
  }
  await fsyncDir(dirname(path));
  await removeFile(join(lock.dir, 'gone')).catch(() => undefined);
  return true;
}

/** A hard link to the log inside the lock's private directory: truncating through it is fenced. */
async function linkIntoLock(lock: HeldLock, path: string, ino: number): Promise<string> {
  const linked = join(lock.dir, 'log');
  try {
    await link(path, linked);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') await lock.assertHeld(`repair the log ${path}`);
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  // The log could have been swapped (for a link, say) since it was opened: refuse then.
  if ((await lstat(linked)).ino !== ino) {
    throw new StorageError(
      `[keel] [fs] the log ${path} was replaced while being appended to; retry the append`,
      { details: { path } },
    );
  }
  return linked;
}

/** Whether `line` is what the log holds at byte `position`. */
async function landedAt(handle: FileHandle, line: Buffer, position: number): Promise<boolean> {
  const back = Buffer.alloc(line.length);
  let read = 0;
  while (read < line.length) {
    const { bytesRead } = await handle.read(back, read, line.length - read, position + read);
    if (bytesRead === 0) return false;
    read += bytesRead;
  }
  return back.equals(line);
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
  const flags = constants.O_RDWR | constants.O_APPEND;
  try {
    return { handle: await openNoFollow(path, flags), created: false };
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw storageError(error, 'open the log', path);
  }
  await mkdirDurable(dirname(path));
  try {
    return { handle: await openNoFollow(path, flags | constants.O_CREAT, 0o666), created: true };
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

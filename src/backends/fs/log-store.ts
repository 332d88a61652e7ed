/**
 * @module
 * The logs of the fs MetadataStore: fenced appends (ADR 0009), reads from any offset with
 * in-memory checkpoints, and the idempotent append a batch replay needs. Per-process caches of
 * where each log's valid part ends live here.
 */
import { constants, type FileHandle, link, lstat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConflictError, IntegrityError, StorageError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import { checkOffset } from '../../metadata/keys.js';
import type { LogRecord } from '../../metadata/types.js';
import {
  assertNoSymlinks,
  errorCode,
  fsyncDir,
  mkdirDurable,
  openNoFollow,
  storageError,
  writeAll,
} from './io.js';
import type { HeldLock } from './lock.js';
import { formatLine, type LogLine, lineAt, lineEntries, scanLog } from './log-file.js';

/** An append whose lock was lost while its line was being written: it may or may not count. */
export class LostAfterWrite extends Error {
  constructor(
    /** Byte where the line was written, if it landed where it should. */
    readonly position: number,
    /** The offset it was written for. */
    readonly offset: number,
    /** Its writer id. */
    readonly writer: string,
  ) {
    super('[keel] [fs] the lock was lost during an append');
  }
}

/** The logs of one store. */
export interface LogFiles {
  /**
   * Appends one line under `lock` and returns its first offset: `ConflictError` when
   * `expectedOffset` does not hold or the lock was lost before the write, `LostAfterWrite`
   * when it was lost during the write (settle it with {@link LogFiles.settle}).
   */
  append(
    lock: HeldLock,
    log: string,
    path: string,
    entries: readonly JsonValue[],
    writer: string,
    expectedOffset?: number,
  ): Promise<number>;
  /** Under the lock again: the offset of a `LostAfterWrite` append if it counts; else `ConflictError`. */
  settle(path: string, lost: LostAfterWrite): Promise<number>;
  /** The number of entries of the log (its next offset); 0 when it does not exist. */
  length(path: string): Promise<number>;
  /**
   * Under `lock`: makes sure the line of `writer` is the one at `offset`, appending it when the
   * log ends there (a batch replay). `IntegrityError` when another line took that offset.
   */
  replay(
    lock: HeldLock,
    log: string,
    path: string,
    entries: readonly JsonValue[],
    writer: string,
    offset: number,
  ): Promise<void>;
  /** Reads entries from `from` on. */
  read(path: string, from: number): AsyncGenerator<LogRecord>;
  /** Forgets the cached positions. */
  forget(): void;
}

/** Hook called under the lock right before a log line is written (tests only). */
export type BeforeLogWrite = (path: string) => Promise<void> | void;

/** Creates the log files of the store rooted at `root`. */
export function createLogFiles(root: string, beforeWrite?: BeforeLogWrite): LogFiles {
  const logStates = new Map<string, LogState>();
  const checkpoints = new Map<string, Checkpoints>();

  const checkpointFor = (path: string, ino: number): Checkpoints => {
    let points = checkpoints.get(path);
    if (points?.ino !== ino) {
      points = { ino, offsets: [0], positions: [0] };
      checkpoints.set(path, points);
    }
    return points;
  };

  /** Where the valid part of the open log ends, from the cached state on. */
  const scanEnd = async (handle: FileHandle, path: string): Promise<LogState> => {
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
    return state;
  };

  /** The line whose first offset is `offset`, if any. */
  const lineOf = async (
    handle: FileHandle,
    path: string,
    offset: number,
  ): Promise<LogLine | undefined> => {
    const points = checkpointFor(path, (await handle.stat()).ino);
    const start = nearestCheckpoint(points, offset);
    for await (const item of scanLog(
      handle,
      path,
      points.positions[start]!,
      points.offsets[start]!,
      { before: offset, visit: (line) => addCheckpoint(points, line) },
    )) {
      if (item.kind === 'end') return undefined;
      addCheckpoint(points, item);
      return item.offset === offset ? item : undefined;
    }
    return undefined;
  };

  const append: LogFiles['append'] = async (lock, log, path, entries, writer, expectedOffset) => {
    assertNoSymlinks(root, dirname(path));
    const { handle, created } = await openLogForAppend(path);
    try {
      const state = await scanEnd(handle, path);
      const { end, next: offset, ino } = state;
      checkOffset('fs', log, offset, expectedOffset);
      const line = formatLine(offset, entries, writer);
      let linked: string | undefined;
      // Cutting goes through a hard link in the lock's private directory: only a current
      // holder can cut, a fenced-out one gets ENOENT.
      const cut = async (): Promise<void> => {
        linked ??= await linkIntoLock(lock, path, ino);
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
      await beforeWrite?.(path);
      for (let attempt = 0; ; attempt++) {
        await writeAll(handle, line, null);
        await handle.datasync();
        // A holder that lost its lock may have appended between our scan and our write.
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
      logStates.set(path, { ino, end: end + line.length, next: offset + entries.length });
      return offset;
    } catch (error) {
      if (error instanceof LostAfterWrite) throw error;
      throw storageError(error, 'append to the log', path);
    } finally {
      await handle.close().catch(() => undefined);
    }
  };

  /** Opens the log for reading; `undefined` when it does not exist. */
  const openForRead = async (path: string): Promise<FileHandle | undefined> => {
    assertNoSymlinks(root, dirname(path));
    try {
      return await openNoFollow(path, constants.O_RDONLY);
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
      throw storageError(error, 'read the log', path);
    }
  };

  const length = async (path: string): Promise<number> => {
    const handle = await openForRead(path);
    if (handle === undefined) return 0;
    try {
      const state = await scanEnd(handle, path);
      logStates.set(path, state);
      return state.next;
    } finally {
      await handle.close().catch(() => undefined);
    }
  };

  return {
    append,

    async settle(path, lost) {
      logStates.delete(path);
      const handle = await openForRead(path);
      try {
        const line = handle && (await lineAt(handle, lost.position, lost.offset));
        if (line?.writer === lost.writer) return lost.offset;
      } finally {
        await handle?.close().catch(() => undefined);
      }
      throw new ConflictError(
        `[keel] [fs] cannot append to the log ${path}: this process lost the log's lock while writing (it was taken over or removed), and the entries did not land; nothing was written, retry the append`,
        { details: { path, reason: 'lock-lost' } },
      );
    },

    length,

    async replay(lock, log, path, entries, writer, offset) {
      const current = await length(path);
      if (current === offset) {
        await append(lock, log, path, entries, writer, offset);
        return;
      }
      const handle = current > offset ? await openForRead(path) : undefined;
      try {
        const line = handle && (await lineOf(handle, path, offset));
        if (line?.writer === writer) return;
      } finally {
        await handle?.close().catch(() => undefined);
      }
      throw new IntegrityError(
        `[keel] [fs] cannot complete a committed batch: the log ${path} has ${current} entries and not the batch's entry at offset ${offset}; something wrote to it without keel's locks. Move the batch intent aside (intents/) to give that batch up`,
        { details: { path, offset, length: current } },
      );
    },

    async *read(path, from) {
      const handle = await openForRead(path);
      if (handle === undefined) return;
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

    forget() {
      logStates.clear();
      checkpoints.clear();
    },
  };
}

/** Checkpoints are kept at most this many bytes apart, so reading from an offset skips ahead. */
const CHECKPOINT_SPACING = 64 * 1024;

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

/**
 * @module
 * Cross-process mutual exclusion for the filesystem backend: one lock file per name,
 * created atomically (a fully written temp file hard-linked into place, which fails if the
 * lock exists), with recovery from locks whose holder died (dead pid on this host, another
 * boot, or older than the stale age).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { TimeoutError } from '../../core/errors.js';
import { ABANDONED_TEMP_MS, errorCode, mkdirDurable, storageError } from './io.js';

/** Options of {@link createLocker}. */
export interface LockerOptions {
  /** Directory holding the lock files. */
  dir: string;
  /** A lock older than this (ms) is considered abandoned whoever holds it. Default 30 s. */
  staleMs?: number;
  /** Give up (with `TimeoutError`) after waiting this long (ms). Default 60 s. */
  timeoutMs?: number;
}

/** Runs critical sections under named locks shared by every process using the same directory. */
export interface Locker {
  /** Runs `fn` while holding the lock `name` (a short file-name-safe string). */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Removes lock files and lock temp files left by dead processes. Best effort; never throws. */
  sweep(): Promise<void>;
}

/** What a lock file records about its holder. */
interface LockInfo {
  /** Unique per acquisition, so that a lock is never mistaken for a later one. */
  id: string;
  pid: number;
  host: string;
  boot: string;
  at: number;
}

/** Default age after which a lock is abandoned whoever holds it. */
export const DEFAULT_LOCK_STALE_MS = 30_000;
/** Default longest wait for a lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/**
 * Creates a locker over lock files in `dir`. Within one process, waiters queue in memory;
 * across processes they poll with jittered back-off.
 */
export function createLocker(opts: LockerOptions): Locker {
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const queues = new Map<string, Promise<void>>();

  const acquire = async (path: string): Promise<string> => {
    const id = randomBytes(12).toString('hex');
    const info: LockInfo = { id, pid: process.pid, host: HOST, boot: BOOT, at: Date.now() };
    const temp = join(opts.dir, `.t-${id}`);
    await writeLockTemp(opts.dir, temp, info);
    const started = Date.now();
    let delay = 1;
    try {
      for (;;) {
        try {
          await link(temp, path);
          return id;
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw storageError(error, 'create the lock', path);
        }
        const holder = await readLock(path);
        if (holder !== undefined && isStale(holder, staleMs)) {
          await breakLock(path, holder, staleMs, 0);
          continue;
        }
        if (Date.now() - started > timeoutMs) {
          throw new TimeoutError(
            `[keel] [fs] could not take the lock ${path} within ${timeoutMs} ms: another process holds it; retry later, or delete the file if no keel process uses this store`,
            { details: { path, holder: holder ?? null } },
          );
        }
        await sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 25);
      }
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  };

  const release = async (path: string, id: string, heldMs: number): Promise<void> => {
    // Only a lock older than staleMs can have been broken and retaken by another process;
    // a younger one is certainly still ours.
    if (heldMs < staleMs / 2) {
      await unlink(path).catch(() => undefined);
      return;
    }
    const current = await readLock(path);
    if (current?.id === id) await unlink(path).catch(() => undefined);
  };

  return {
    async sweep() {
      let names: string[];
      try {
        names = await readdir(opts.dir);
      } catch {
        return;
      }
      for (const name of names) {
        const path = join(opts.dir, name);
        try {
          const holder = await readLock(path);
          if (holder === undefined) continue;
          if (name.startsWith('.t-')) {
            // A live waiter's temp file may be old: only its writer's death (or an hour) frees it.
            if (isDead(holder) || Date.now() - holder.at > ABANDONED_TEMP_MS) await unlink(path);
          } else if (isStale(holder, staleMs)) {
            await breakLock(path, holder, staleMs, 0);
          }
        } catch {
          // another process got there first, or the file is not ours to judge
        }
      }
    },

    async withLock(name, fn) {
      const previous = queues.get(name) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      const tail = previous.then(() => mine);
      queues.set(name, tail);
      await previous;
      const path = join(opts.dir, `${name}.lock`);
      try {
        const id = await acquire(path);
        const acquired = Date.now();
        try {
          return await fn();
        } finally {
          await release(path, id, Date.now() - acquired);
        }
      } finally {
        done();
        if (queues.get(name) === tail) queues.delete(name);
      }
    },
  };
}

const HOST: string = hostname();
const BOOT: string = readBootId();

/**
 * Removes the abandoned lock `path` whose holder was `holder`. Breaking is itself guarded by
 * a lock named after the holder's unique id, so two processes never both break, and a lock
 * taken after the break (with another id) is never removed by mistake.
 */
async function breakLock(
  path: string,
  holder: LockInfo,
  staleMs: number,
  depth: number,
): Promise<void> {
  const breaker = `${path}.break-${holder.id}`;
  if (depth > 4) {
    throw storageError(
      new Error('lock recovery recursed too deep'),
      'recover the lock',
      `${path} (remove ${breaker}*)`,
    );
  }
  const id = randomBytes(12).toString('hex');
  const info: LockInfo = { id, pid: process.pid, host: HOST, boot: BOOT, at: Date.now() };
  const dir = dirname(path);
  const temp = join(dir, `.t-${id}`);
  await writeLockTemp(dir, temp, info);
  try {
    try {
      await link(temp, breaker);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw storageError(error, 'create the lock', breaker);
      const other = await readLock(breaker);
      if (other !== undefined && isStale(other, staleMs))
        await breakLock(breaker, other, staleMs, depth + 1);
      else await sleep(2);
      return;
    }
    try {
      const current = await readLock(path);
      if (current?.id === holder.id) await unlink(path).catch(() => undefined);
    } finally {
      await unlink(breaker).catch(() => undefined);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function writeLockTemp(dir: string, temp: string, info: LockInfo): Promise<void> {
  try {
    await writeFile(temp, JSON.stringify(info), { flag: 'wx' });
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw storageError(error, 'write the lock file', temp);
    await mkdirDurable(dir);
    await writeFile(temp, JSON.stringify(info), { flag: 'wx' }).catch((again: unknown) => {
      throw storageError(again, 'write the lock file', temp);
    });
  }
}

/**
 * The holder recorded in a lock file; `undefined` when the lock is gone. `at` is the time the
 * file was linked into place (its ctime), not when its holder started waiting.
 */
async function readLock(path: string): Promise<LockInfo | undefined> {
  let text: string;
  let changed: number;
  let ino: number;
  try {
    text = await readFile(path, 'utf8');
    const s = await stat(path);
    changed = s.ctimeMs;
    ino = s.ino;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw storageError(error, 'read the lock', path);
  }
  const info = parseLockInfo(text);
  if (info !== undefined) return { ...info, at: changed };
  // Unreadable content (a foreign file, a disk fault): judge it by age alone, identified by inode.
  return { id: `x${ino}-${changed}`, pid: 0, host: '', boot: '', at: changed };
}

function parseLockInfo(text: string): LockInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockInfo>;
    if (
      typeof value.id === 'string' &&
      /^[0-9a-f]{24}$/.test(value.id) &&
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.boot === 'string' &&
      typeof value.at === 'number'
    ) {
      return { id: value.id, pid: value.pid, host: value.host, boot: value.boot, at: value.at };
    }
  } catch {
    // fall through to undefined
  }
  return undefined;
}

function isStale(info: LockInfo, staleMs: number): boolean {
  return isDead(info) || Date.now() - info.at > staleMs;
}

function isDead(info: LockInfo): boolean {
  return info.host === HOST && info.pid > 0 && (info.boot !== BOOT || !isAlive(info.pid));
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
  return !isZombie(pid);
}

// A killed child that its parent has not reaped yet still answers kill(pid, 0).
function isZombie(pid: number): boolean {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return line.slice(line.lastIndexOf(')') + 2, line.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

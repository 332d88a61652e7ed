/**
 * @module
 * Cross-process mutual exclusion with fencing for the filesystem backend (ADR 0009).
 *
 * A lock is a directory `<name>.lock` that holds exactly one entry: its holder's private
 * directory, named after a unique token and the holder's identity (pid, process start
 * time, boot id, host). It appears atomically (prepared aside, then renamed into place, which
 * fails while a holder's directory is in it). A holder commits by renaming files *out of its
 * private directory*, so a commit is only possible while the lock is still its own: breaking
 * a lock, or deleting it by hand, moves or removes that directory, and the former holder's
 * commit then fails with `ENOENT` instead of overwriting someone else's work.
 *
 * A lock whose holder is a live process on this host is never broken, however old; a holder
 * that died (pid gone, pid reused, or another boot) is. A holder on another host (a
 * container with its own pid namespace) refreshes its directory's time while it works and
 * is taken over once it has not done so for the stale age.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, utimesSync } from 'node:fs';
import { lstat, readdir, rename, rmdir, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConflictError, TimeoutError } from '../../core/errors.js';
import {
  ABANDONED_TEMP_MS,
  assertNoSymlinks,
  errorCode,
  mkdirDurable,
  readOptional,
  removeTree,
  storageError,
  symlinkError,
} from './io.js';

/** Options of {@link createLocker}. */
export interface LockerOptions {
  /** Directory holding the locks. */
  dir: string;
  /** The store root the lock directory lives in (no symbolic link is followed below it). */
  root?: string;
  /**
   * A lock held from another host that has not been refreshed for this long (ms) is taken
   * over. Default 30 s. Locks of live processes on this host are never taken over.
   */
  staleMs?: number;
  /** Give up (with `TimeoutError`) after waiting this long (ms). Default 60 s. */
  timeoutMs?: number;
}

/** A lock while it is held: what a critical section uses to commit fenced writes. */
export interface HeldLock {
  /** The lock's name. */
  readonly name: string;
  /**
   * The holder's private directory. It exists only while the lock is this holder's: a file
   * renamed out of it into the store commits only if the lock was not lost.
   */
  readonly dir: string;
  /** Whether the lock is still this holder's (its private directory is still in place). */
  isHeld(): Promise<boolean>;
  /** Throws `ConflictError` (nothing written, retry) unless the lock is still this holder's. */
  assertHeld(action: string): Promise<void>;
}

/** Options of one {@link Locker.withLock} call. */
export interface WithLockOptions {
  /** Overrides the locker's `timeoutMs` for this call. */
  timeoutMs?: number;
}

/** Runs critical sections under named locks shared by every process using the same directory. */
export interface Locker {
  /** Runs `fn` while holding the lock `name` (a short file-name-safe string). */
  withLock<T>(name: string, fn: (lock: HeldLock) => Promise<T>, opts?: WithLockOptions): Promise<T>;
  /**
   * Runs `fn` while holding every lock of `names`, taken one by one in sorted order (the same
   * order everywhere, so two callers never wait for each other in a cycle).
   */
  withLocks<T>(
    names: readonly string[],
    fn: (locks: ReadonlyMap<string, HeldLock>) => Promise<T>,
    opts?: WithLockOptions,
  ): Promise<T>;
  /** Removes locks and leftovers of dead processes. Best effort; never throws. */
  sweep(): Promise<void>;
}

/** Default age after which a lock held from another host is taken over. */
export const DEFAULT_LOCK_STALE_MS = 30_000;
/** Default longest wait for a lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/**
 * Creates a locker over lock directories in `dir`. Within one process, waiters queue in
 * memory; across processes they poll with jittered back-off.
 */
export function createLocker(opts: LockerOptions): Locker {
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const defaultTimeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const root = opts.root ?? opts.dir;
  const queues = new Map<string, Promise<void>>();

  // Taking and giving back a lock are a couple of renames of small directories: they run
  // synchronously (microseconds each), far cheaper than thread-pool round trips. The
  // directories are reused (a pool of parked `.t-<token>/<owner>/` pairs), because creating and
  // removing a directory allocates and frees a block, which costs a millisecond or more on
  // filesystems mounted with `discard`.
  const pool: Slot[] = [];

  const newSlot = async (): Promise<Slot> => {
    const token = randomBytes(12).toString('hex');
    const slot = { prep: join(opts.dir, `.t-${token}`), sub: ownerName(token) };
    try {
      mkdirSync(slot.prep);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw storageError(error, 'prepare the lock', slot.prep);
      await mkdirDurable(opts.dir);
      try {
        mkdirSync(slot.prep);
      } catch (again) {
        throw storageError(again, 'prepare the lock', slot.prep);
      }
    }
    try {
      mkdirSync(join(slot.prep, slot.sub));
    } catch (error) {
      throw storageError(error, 'prepare the lock', slot.prep);
    }
    return slot;
  };

  /** A parked slot, touched so that its age says "just taken"; a new one when none is left. */
  const takeSlot = async (): Promise<Slot> => {
    for (let slot = pool.pop(); slot !== undefined; slot = pool.pop()) {
      try {
        const now = new Date();
        utimesSync(join(slot.prep, slot.sub), now, now);
        return slot;
      } catch {
        await removeTree(slot.prep); // removed behind our back: start afresh
      }
    }
    return newSlot();
  };

  /** Takes the lock at `path` with a slot; returns the holder's private directory. */
  const acquire = async (path: string, timeoutMs: number): Promise<Slot> => {
    assertNoSymlinks(root, opts.dir);
    const slot = await takeSlot();
    const started = Date.now();
    let delay = 1;
    let taken = false;
    try {
      for (;;) {
        try {
          renameSync(slot.prep, path);
          taken = true;
          return slot;
        } catch (error) {
          if (!BUSY.has(errorCode(error) ?? '')) throw storageError(error, 'take the lock', path);
        }
        const holder = await inspect(path, staleMs);
        if (holder.kind === 'gone') continue;
        if (holder.kind === 'stale') {
          await holder.revoke();
          continue;
        }
        if (Date.now() - started > timeoutMs) {
          throw new TimeoutError(
            `[keel] [fs] could not take the lock ${path} within ${timeoutMs} ms: ${holder.describe}; retry later (keel never takes a lock from a live process on this host)`,
            { details: { path, holder: holder.describe } },
          );
        }
        await sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 25);
      }
    } finally {
      if (!taken) park(slot);
    }
  };

  const park = (slot: Slot): void => {
    if (pool.length < MAX_PARKED) pool.push(slot);
    else void removeTree(slot.prep);
  };

  /**
   * Gives the lock up by moving the lock directory back to its parked name, unless the lock was
   * lost (our private directory is no longer in it: then nothing there is ours to move).
   */
  const release = async (path: string, slot: Slot): Promise<void> => {
    try {
      lstatSync(join(path, slot.sub));
      renameSync(path, slot.prep);
    } catch {
      return; // lost: the slot is gone with it
    }
    // Lost between the check and the rename (revoked, then taken by another process): what we
    // moved is that process's lock. Its commits now fail (fenced); revoke what is not ours so
    // that it can never be renamed back into place with us.
    let entries: string[];
    try {
      entries = readdirSync(slot.prep);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry === slot.sub) continue;
      const aside = join(opts.dir, `.x-${randomBytes(12).toString('hex')}`);
      try {
        renameSync(join(slot.prep, entry), aside);
      } catch {}
      await removeTree(aside);
    }
    if (entries.includes(slot.sub)) park(slot);
    else await removeTree(slot.prep);
  };

  const heldLock = (name: string, own: string): HeldLock => {
    const isHeld = async (): Promise<boolean> => {
      try {
        return lstatSync(own).isDirectory();
      } catch {
        return false;
      }
    };
    return {
      name,
      dir: own,
      isHeld,
      async assertHeld(action) {
        if (await isHeld()) return;
        throw lockLost(name, action, own);
      },
    };
  };

  const withLock = async <T>(
    name: string,
    fn: (lock: HeldLock) => Promise<T>,
    callOpts?: WithLockOptions,
  ): Promise<T> => {
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
      const slot = await acquire(path, callOpts?.timeoutMs ?? defaultTimeoutMs);
      const own = join(path, slot.sub);
      // Keep the lock visibly alive for holders on other hosts, which judge it by age.
      const refresh = setInterval(
        () => {
          const now = new Date();
          utimes(own, now, now).catch(() => clearInterval(refresh));
        },
        Math.max(10, Math.floor(staleMs / 3)),
      );
      refresh.unref();
      try {
        return await fn(heldLock(name, own));
      } finally {
        clearInterval(refresh);
        await release(path, slot);
      }
    } finally {
      done();
      if (queues.get(name) === tail) queues.delete(name);
    }
  };

  const withLocks = async <T>(
    names: readonly string[],
    fn: (locks: ReadonlyMap<string, HeldLock>) => Promise<T>,
    callOpts?: WithLockOptions,
  ): Promise<T> => {
    const sorted = [...new Set(names)].sort();
    const held = new Map<string, HeldLock>();
    const step = async (index: number): Promise<T> => {
      const name = sorted[index];
      if (name === undefined) return fn(held);
      return withLock(
        name,
        async (lock) => {
          held.set(name, lock);
          return step(index + 1);
        },
        callOpts,
      );
    };
    return step(0);
  };

  return {
    withLock,
    withLocks,
    async sweep() {
      let names: string[];
      try {
        assertNoSymlinks(root, opts.dir);
        names = await readdir(opts.dir);
      } catch {
        return;
      }
      for (const name of names) {
        const path = join(opts.dir, name);
        try {
          if (name.startsWith('.r-') || name.startsWith('.x-')) {
            // A released or revoked private directory: nobody can use it any more.
            await removeTree(path);
          } else if (name.startsWith('.t-')) {
            await sweepPrepared(path);
          } else if (name.endsWith('.lock')) {
            const holder = await inspect(path, staleMs);
            if (holder.kind === 'stale') await holder.revoke();
            if (holder.kind === 'stale' || holder.kind === 'gone')
              await rmdir(path).catch(() => undefined);
          }
        } catch {
          // another process got there first, or the entry is not ours to judge
        }
      }
    },
  };

  /** A parked slot: removed once its process died (or, ownerless, after an hour). */
  async function sweepPrepared(path: string): Promise<void> {
    const s = await lstat(path);
    if (!s.isDirectory()) {
      // A lock temp file of an older keel version.
      if (Date.now() - s.mtimeMs > ABANDONED_TEMP_MS) await unlink(path);
      return;
    }
    // A parked slot of a live process is its own business, however old.
    const entries = await readdir(path);
    const owner = entries.map(parseOwner).find((o) => o !== undefined);
    if (owner === undefined ? Date.now() - s.mtimeMs > ABANDONED_TEMP_MS : isDead(owner)) {
      await removeTree(path);
    }
  }

  /** Who holds the lock at `path`, and whether it may be taken over. */
  async function inspect(path: string, stale: number): Promise<Holder> {
    let s: Awaited<ReturnType<typeof lstat>>;
    try {
      s = await lstat(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { kind: 'gone' };
      throw storageError(error, 'inspect the lock', path);
    }
    if (s.isSymbolicLink()) throw symlinkError(path);
    if (!s.isDirectory()) return inspectLegacy(path, stale);
    let entries: string[];
    try {
      entries = await readdir(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { kind: 'gone' };
      throw storageError(error, 'inspect the lock', path);
    }
    const entry = entries[0];
    if (entry === undefined) {
      // Left empty by a release (or a revocation) in progress: free. Removing it lets platforms
      // whose rename cannot replace an empty directory take the lock too.
      await rmdir(path).catch(() => undefined);
      return { kind: 'gone' };
    }
    const own = join(path, entry);
    let age: number;
    try {
      age = Date.now() - (await lstat(own)).mtimeMs;
    } catch {
      return { kind: 'gone' };
    }
    const owner = parseOwner(entry);
    const describe =
      owner === undefined
        ? `an unknown holder (${entry}) holds it`
        : owner.host === HOST_TAG
          ? `process ${owner.pid} on this host holds it`
          : `process ${owner.pid} on another host holds it (last refreshed ${Math.round(age)} ms ago)`;
    const isStale =
      owner === undefined ? age > stale : isDead(owner) || (!isLocal(owner) && age > stale);
    if (!isStale) return { kind: 'held', describe };
    return {
      kind: 'stale',
      describe,
      // Moving the holder's private directory away is the revocation: from then on, none of
      // its commits (renames out of that directory) can succeed. Only one revoker wins.
      revoke: async () => {
        const aside = join(opts.dir, `.x-${randomBytes(12).toString('hex')}`);
        try {
          await rename(own, aside);
        } catch {
          return;
        }
        await removeTree(aside);
      },
    };
  }

  /** A lock file of an older keel version (a JSON file, not a directory). */
  async function inspectLegacy(path: string, stale: number): Promise<Holder> {
    const bytes = await readOptional(path);
    if (bytes === undefined) return { kind: 'gone' };
    const s = await lstat(path).catch(() => undefined);
    if (s === undefined) return { kind: 'gone' };
    const info = parseLegacy(bytes.toString('utf8'));
    const dead =
      info !== undefined &&
      info.host === hostname() &&
      (info.boot !== BOOT || !isAlive(info.pid, ''));
    const describe = `a lock file of an older keel version (process ${info?.pid ?? 'unknown'}) holds it`;
    if (!dead && Date.now() - s.ctimeMs <= stale) return { kind: 'held', describe };
    return {
      kind: 'stale',
      describe,
      revoke: async () => {
        const again = await lstat(path).catch(() => undefined);
        if (again?.ino === s.ino && again.ctimeMs === s.ctimeMs)
          await unlink(path).catch(() => undefined);
      },
    };
  }
}

/** A reusable lock directory: parked at `prep` (holding `sub`), renamed into place to lock. */
interface Slot {
  prep: string;
  /** The holder's private directory name: token, pid, start time, boot id, host. */
  sub: string;
}

/** Parked slots kept per process (one per lock held at once is enough). */
const MAX_PARKED = 16;

/** What {@link Locker} knows about a lock it could not take. */
type Holder =
  | { kind: 'gone' }
  | { kind: 'held'; describe: string }
  | { kind: 'stale'; describe: string; revoke(): Promise<void> };

/** The identity a holder's private directory name records. */
interface Owner {
  token: string;
  pid: number;
  /** Start time of the process (clock ticks since boot), '0' when unknown. */
  start: string;
  /** Boot id without dashes, '0' when unknown. */
  boot: string;
  /** First 16 hex digits of the host name's sha256. */
  host: string;
}

// What rename answers when the target lock directory is there and not empty (or a file).
const BUSY = new Set(['EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR', 'EPERM', 'EACCES', 'EBUSY']);

const HOST_TAG: string = createHash('sha256').update(hostname()).digest('hex').slice(0, 16);
const BOOT: string = readBootId();
const START: string = readStartTime(process.pid);
const OWNER = /^([0-9a-f]{24})\.(\d{1,10})\.(\d{1,20})\.([0-9a-f]{1,32})\.([0-9a-f]{16})$/;

function ownerName(token: string): string {
  return `${token}.${process.pid}.${START}.${BOOT}.${HOST_TAG}`;
}

function parseOwner(name: string): Owner | undefined {
  const m = OWNER.exec(name);
  if (m === null) return undefined;
  return { token: m[1]!, pid: Number(m[2]), start: m[3]!, boot: m[4]!, host: m[5]! };
}

/** Same host and same boot: the pid can be checked. */
function isLocal(owner: Owner): boolean {
  return owner.host === HOST_TAG && owner.boot === BOOT;
}

function isDead(owner: Owner): boolean {
  if (owner.host !== HOST_TAG) return false;
  if (owner.boot !== BOOT && owner.boot !== '0' && BOOT !== '0') return true;
  return !isAlive(owner.pid, owner.start === '0' ? '' : owner.start);
}

/** Whether `pid` is a live process, and the same one that started at `start` (when known). */
function isAlive(pid: number, start: string): boolean {
  if (pid === process.pid) return start === '' || start === START;
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errorCode(error) !== 'EPERM') return false;
  }
  const stat = readProcStat(pid);
  if (stat === undefined) return true; // no /proc: trust kill(0)
  // A killed child that its parent has not reaped yet still answers kill(pid, 0).
  if (stat.state === 'Z') return false;
  // The pid was reused by a process that started later than the holder.
  return start === '' || stat.start === start;
}

function readProcStat(pid: number): { state: string; start: string } | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is field 3 of the whole line, starttime field 22.
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function readStartTime(pid: number): string {
  const start = readProcStat(pid)?.start;
  return start !== undefined && /^\d{1,20}$/.test(start) ? start : '0';
}

function readBootId(): string {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
    return /^[0-9a-f]{1,32}$/.test(id) ? id : '0';
  } catch {
    return '0';
  }
}

interface LegacyInfo {
  pid: number;
  host: string;
  boot: string;
}

function parseLegacy(text: string): LegacyInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<LegacyInfo>;
    if (
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.boot === 'string'
    ) {
      return { pid: value.pid, host: value.host, boot: value.boot.replaceAll('-', '') };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function lockLost(name: string, action: string, own: string): ConflictError {
  return new ConflictError(
    `[keel] [fs] cannot ${action}: this process lost the lock ${name} (it was taken over or removed while held), so nothing was written; retry the operation`,
    { details: { lock: name, path: own, reason: 'lock-lost' } },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * @module
 * The durable-file primitives of the filesystem backend: atomic replace (temp file,
 * fsync, rename, fsync directory), durable mkdir, clean-up of abandoned temp files, the
 * refusal to follow symbolic links inside a store root, and the translation of I/O failures
 * into `StorageError`s that say what to do.
 */
import { randomBytes } from 'node:crypto';
import { constants, lstatSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { isKeelError, StorageError } from '../../core/errors.js';

/** Temp files older than this are left over from a crashed writer and are removed on open. */
export const ABANDONED_TEMP_MS: number = 60 * 60 * 1000;

/** A fresh, unguessable file name for a temp file (never a valid encoded key). */
export function tempName(suffix = '.tmp'): string {
  return `${randomBytes(12).toString('hex')}${suffix}`;
}

/**
 * Wraps a failed I/O call as a `StorageError` naming the path and the remedy. Keel errors
 * pass through unchanged.
 */
export function storageError(error: unknown, action: string, path: string): Error {
  if (isKeelError(error)) return error;
  const code = errorCode(error);
  return new StorageError(`[keel] [fs] cannot ${action} ${path}: ${remedy(code, error)}`, {
    cause: error,
    details: { path, ...(code === undefined ? {} : { code }) },
  });
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST`, ...), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Runs an I/O call and turns its failure into a `StorageError`. */
export async function io<T>(action: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw storageError(error, action, path);
  }
}

/** `O_NOFOLLOW` where the platform has it (every POSIX system; 0 on Windows). */
export const NO_FOLLOW: number = constants.O_NOFOLLOW ?? 0;

/** The error for a symbolic link met inside a store root: keel never reads or writes through one. */
export function symlinkError(path: string): StorageError {
  return new StorageError(
    `[keel] [fs] refusing to follow the symbolic link ${path} inside the store root: keel never reads or writes through links; remove the link (and restore the real file or directory) to use this path`,
    { details: { path, code: 'ELOOP' } },
  );
}

/**
 * Opens a file without following a symbolic link in its last component (a link there throws
 * the error of {@link symlinkError}). Other failures are thrown as they are, for the caller to
 * judge (`ENOENT` is often an answer, not a failure).
 */
export async function openNoFollow(
  path: string,
  flags: number,
  mode?: number,
): Promise<FileHandle> {
  try {
    return await open(path, flags | NO_FOLLOW, mode);
  } catch (error) {
    if (isLinkRefusal(error) && (await isSymlink(path))) throw symlinkError(path);
    throw error;
  }
}

/**
 * Throws the error of {@link symlinkError} when a directory between `root` (excluded: the
 * user chose it, link or not) and `dir` (included) is a symbolic link, and `StorageError` when
 * one is not a directory. Stops at the first missing directory: whatever keel creates below it
 * is a real directory. Synchronous on purpose: a few cached `lstat` calls cost microseconds,
 * far less than one round trip through the I/O thread pool each.
 */
export function assertNoSymlinks(root: string, dir: string): void {
  const rel = relative(root, dir);
  if (rel === '' || rel.startsWith('..')) return;
  let current = root;
  for (const part of rel.split(sep)) {
    current = join(current, part);
    let isDir: boolean;
    try {
      const s = lstatSync(current);
      if (s.isSymbolicLink()) throw symlinkError(current);
      isDir = s.isDirectory();
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return;
      throw storageError(error, 'inspect', current);
    }
    if (!isDir) {
      throw new StorageError(
        `[keel] [fs] cannot use ${current}: it is not a directory; ${remedy('ENOTDIR', undefined)}`,
        { details: { path: current, code: 'ENOTDIR' } },
      );
    }
  }
}

/** Returns `path`; throws the error of {@link symlinkError} when it is a symbolic link. */
export function assertNotSymlink(path: string): string {
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch {
    return path; // absent (or unreadable: the operation itself will say)
  }
  if (link) throw symlinkError(path);
  return path;
}

/** Reads a whole file (never through a symbolic link), or `undefined` when it does not exist. */
export async function readOptional(path: string): Promise<Buffer | undefined> {
  let handle: FileHandle;
  try {
    handle = await openNoFollow(path, constants.O_RDONLY);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw storageError(error, 'read', path);
  }
  try {
    return await handle.readFile();
  } catch (error) {
    throw storageError(error, 'read', path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Whether a path exists (any file type but a symbolic link, which throws). */
export async function exists(path: string): Promise<boolean> {
  try {
    if ((await lstat(path)).isSymbolicLink()) throw symlinkError(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw storageError(error, 'inspect', path);
  }
}

/**
 * Makes a directory entry durable: fsyncs the directory so that a rename or create in it
 * survives a power loss. Platforms that cannot open directories (Windows) skip it.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF') return;
    throw storageError(error, 'sync the directory', dir);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Creates a directory and its missing parents, fsyncing each parent that gained an entry. */
export async function mkdirDurable(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return assertDirectory(dir);
    if (code !== 'ENOENT') throw storageError(error, 'create the directory', dir);
    await mkdirDurable(dirname(dir));
    try {
      await mkdir(dir);
    } catch (again) {
      if (errorCode(again) !== 'EEXIST') throw storageError(again, 'create the directory', dir);
      return assertDirectory(dir);
    }
  }
  await fsyncDir(dirname(dir));
}

/** Removes a file or a directory tree (never following links); best effort, never throws. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}

/** Writes all of `data` at `position` (regular files may accept short writes). */
export async function writeAll(
  handle: FileHandle,
  data: Uint8Array,
  position: number | null,
): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(
      data,
      done,
      data.length - done,
      position === null ? null : position + done,
    );
    done += bytesWritten;
  }
}

/** Writes `data` to a new temp file in `tmpDir` and fsyncs it; returns its path. */
export async function writeTemp(tmpDir: string, data: Uint8Array | string): Promise<string> {
  const path = join(tmpDir, tempName());
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'wx');
    await writeAll(handle, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, null);
    await handle.sync();
    await handle.close();
    handle = undefined;
    return path;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw storageError(error, 'write the temp file', path);
  }
}

/**
 * Publishes `tempPath` as `target` by rename and fsyncs the target directory. A reader
 * sees the old file or the new one, never a mix. The directory is (re)created if a
 * concurrent delete removed it.
 */
export async function publish(tempPath: string, target: string): Promise<void> {
  const dir = dirname(target);
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(tempPath, target);
      break;
    } catch (error) {
      if (errorCode(error) === 'ENOENT' && attempt < 5 && (await exists(tempPath))) {
        await mkdirDurable(dir);
        continue;
      }
      await unlink(tempPath).catch(() => undefined);
      throw storageError(error, 'publish', target);
    }
  }
  await fsyncDir(dir);
}

/** Atomically replaces `target` with `data` (temp file in `tmpDir`, fsync, rename, fsync dir). */
export async function writeFileAtomic(
  tmpDir: string,
  target: string,
  data: Uint8Array | string,
): Promise<void> {
  await publish(await writeTemp(tmpDir, data), target);
}

/** Removes a file; `true` when it existed. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw storageError(error, 'remove', path);
  }
}

/**
 * Removes entries of `dir` whose name passes `match` and that were last modified more than
 * `maxAgeMs` ago: the leftovers of writers that were killed. Best effort; never throws.
 */
export async function removeAbandoned(
  dir: string,
  match: (name: string) => boolean,
  maxAgeMs: number = ABANDONED_TEMP_MS,
): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const cutoff = Date.now() - maxAgeMs;
  let removed = 0;
  for (const name of names) {
    if (!match(name)) continue;
    const path = join(dir, name);
    try {
      const s = await lstat(path);
      if (s.mtimeMs < cutoff) {
        if (s.isDirectory()) await removeTree(path);
        else await unlink(path);
        removed++;
      }
    } catch {
      // another process removed it first, or it is not ours to remove
    }
  }
  return removed;
}

/** Lists a directory, or `[]` when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw storageError(error, 'list', dir);
  }
}

/** An existing path that must be a real directory (not a link to one). */
async function assertDirectory(dir: string): Promise<void> {
  let s: Awaited<ReturnType<typeof lstat>>;
  try {
    s = await lstat(dir);
  } catch (error) {
    throw storageError(error, 'inspect', dir);
  }
  if (s.isSymbolicLink()) throw symlinkError(dir);
  if (!s.isDirectory()) {
    throw new StorageError(`[keel] [fs] cannot use ${dir}: ${remedy('ENOTDIR', undefined)}`, {
      details: { path: dir, code: 'ENOTDIR' },
    });
  }
}

// Linux and macOS answer ELOOP to O_NOFOLLOW on a link; FreeBSD answers EMLINK.
function isLinkRefusal(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ELOOP' || code === 'EMLINK';
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

function remedy(code: string | undefined, error: unknown): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; make the store root readable and writable by this process';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full (or over quota); free space and retry';
    case 'EROFS':
      return 'the filesystem is read-only; pass a writable root';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files; raise the limit (ulimit -n) or lower the concurrency';
    case 'ENOTDIR':
    case 'EEXIST':
      return 'a file is in the way of the store layout; point the store at a directory keel owns';
    case 'ENAMETOOLONG':
      return 'the path is too long for this filesystem; use a shorter root';
    case 'EIO':
      return 'the device reported an I/O error; check the disk';
    default:
      return `${error instanceof Error ? error.message : String(error)}; check the store root and retry`;
  }
}

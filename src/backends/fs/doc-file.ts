/**
 * @module
 * The document files of the fs MetadataStore: their format (`{ key, revision, value }`, so a
 * file under a hashed name still says its key), reading, and the fenced commits of ADR 0009
 * (a document is renamed into place out of its lock's private directory; a delete renames it
 * into that directory).
 */
import { rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConflictError, IntegrityError } from '../../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../../core/json.js';
import type { Versioned } from '../../metadata/types.js';
import {
  assertNotSymlink,
  errorCode,
  exists,
  fsyncDir,
  mkdirDurable,
  readOptional,
  removeFile,
  storageError,
} from './io.js';
import type { HeldLock } from './lock.js';

/** File-name suffix of a document. */
export const DOC_SUFFIX = '.json';

/** What a document file holds. */
export interface DocumentFile {
  key: string;
  revision: string;
  value: JsonValue;
}

/** Hook called under the lock right before a document commit (tests only). */
export type BeforeDocumentCommit = (
  kind: 'document' | 'delete',
  path: string,
) => Promise<void> | void;

/**
 * Reads a document file; `undefined` when absent. A file that does not parse, or that
 * records another key, throws `IntegrityError` (unless `lenient`, then it counts as absent).
 */
export async function readDocument(
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

/** Parses a document file's text; `undefined` when it is not one. */
export function parseDocument(text: string): DocumentFile | undefined {
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

/**
 * Commits a document: moves the fsynced temp file into the lock's private directory, then
 * renames it into place from there. Both renames fail (`ConflictError`, nothing written) once
 * the lock is no longer ours, because its private directory is then gone.
 */
export async function commitDocument(
  lock: HeldLock,
  temp: string,
  path: string,
  beforeCommit?: BeforeDocumentCommit,
): Promise<void> {
  const staged = join(lock.dir, 'doc');
  try {
    await rename(temp, staged);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') await lock.assertHeld(`write ${path}`);
    throw storageError(error, 'stage the document', staged);
  }
  await beforeCommit?.('document', path);
  // A rename would replace a link without following it; refuse it all the same, as every
  // read of that path does, so that a planted link is reported instead of silently dropped.
  assertNotSymlink(path);
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(staged, path);
      break;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT' || attempt >= 5) throw storageError(error, 'publish', path);
      // Either the lock was lost (its directory went with the staged file), or a concurrent
      // delete removed the document's directory: recreate it and try again.
      await lock.assertHeld(`write ${path}`);
      if (!(await exists(staged))) throw stagedLost(path);
      await mkdirDurable(dirname(path));
    }
  }
  await fsyncDir(dirname(path));
}

/**
 * Removes a document by renaming it into the lock's private directory (a fenced commit, like
 * {@link commitDocument}); `false` when there was none.
 */
export async function removeDocument(lock: HeldLock, path: string): Promise<boolean> {
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

/** The staged file went with the lock's private directory: the lock was removed under us. */
function stagedLost(path: string): ConflictError {
  return new ConflictError(
    `[keel] [fs] lost the lock of ${path} before its commit (the lock was removed); nothing was written: read again and retry`,
    { details: { path } },
  );
}

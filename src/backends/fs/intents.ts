/**
 * @module
 * Write-ahead intent records of the fs MetadataStore's atomic `batch` (ADR 0010): the format
 * of an intent (every write of a batch, decided in full: revisions, offsets, writer ids) and
 * the directory protocol around it.
 *
 * `intents/` holds, per batch:
 * - `.s-<id>/` while the batch is being decided: its `manifest.json` names the locks the
 *   batch holds, and its `intent.json` is written and fsynced there;
 * - `<id>.json` once the batch is committed: the intent renamed out of its staging directory.
 *   A committed intent is applied, then removed; one found later is replayed (it is complete
 *   by construction), a staging directory found later was never committed and is discarded.
 *
 * A writer that takes a lock revokes every staging directory that names it (its batch lost
 * that lock): the revoked batch can no longer commit, because its intent is no longer where
 * its commit rename expects it. That is the fence of a batch across all of its locks.
 */
import { readdirSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, IntegrityError } from '../../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../../core/json.js';
import {
  ABANDONED_TEMP_MS,
  assertNoSymlinks,
  errorCode,
  fsyncDir,
  mkdirDurable,
  readOptional,
  removeTree,
  storageError,
  writeFileAtomic,
} from './io.js';

/** One write of a committed batch, decided in full. */
export type IntentOp =
  | {
      op: 'put';
      key: string;
      lock: string;
      /** The revision the document had when the batch was decided (`null`: absent). */
      prior: string | null;
      revision: string;
      value: JsonValue;
    }
  | { op: 'delete'; key: string; lock: string; prior: string | null }
  | {
      op: 'append';
      log: string;
      lock: string;
      offset: number;
      /** The writer id of the batch's log line, which tells whether it landed. */
      writer: string;
      entries: JsonValue[];
    };

/** A batch, decided: what replaying it writes. */
export interface Intent {
  v: 1;
  id: string;
  /** Every lock the batch holds, sorted. */
  locks: string[];
  ops: IntentOp[];
}

/** The intents directory of one store. */
export interface IntentDir {
  /**
   * Under the locks `names`: revokes the uncommitted batches that name one of them (their
   * holders lost it), and returns the committed intents that name one of them, but `except`.
   */
  claim(names: ReadonlySet<string>, except?: string): Promise<Intent[]>;
  /** The committed intents whose operations pass `touches` (no lock needed). */
  committed(touches: (op: IntentOp) => boolean): Promise<Intent[]>;
  /** The committed intent `id` as it is on disk now; `undefined` once it was removed. */
  reload(id: string): Promise<Intent | undefined>;
  /**
   * Stages `intent` (manifest first, then the fsynced intent) in a directory that writers of
   * its locks can find and revoke. Returns a function that commits it: `ConflictError`
   * (nothing written) when the staging was revoked.
   */
  stage(intent: Intent): Promise<{ commit(): Promise<void>; discard(): Promise<void> }>;
  /** Removes a committed intent once every write of it is applied (durably: fsynced). */
  remove(id: string): Promise<void>;
  /** Clears what dead batches left (staging older than an hour, revoked staging). */
  sweep(): Promise<void>;
}

/** Opens the intents directory `dir` of the store at `root`. */
export function openIntentDir(root: string, dir: string, tmpDir: string): IntentDir {
  const cache = new Map<string, Intent>();
  const manifests = new Map<string, readonly string[] | undefined>();

  const scan = async (): Promise<{ committed: string[]; staging: string[] }> => {
    assertNoSymlinks(root, dir);
    let names: string[];
    try {
      // Every operation looks here first, and the directory is nearly always empty: a
      // synchronous read costs microseconds, a thread-pool round trip far more.
      names = readdirSync(dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return { committed: [], staging: [] };
      throw storageError(error, 'list the batch intents', dir);
    }
    const committed: string[] = [];
    const staging: string[] = [];
    for (const name of names) {
      if (name.startsWith(STAGING)) staging.push(name.slice(STAGING.length));
      else if (name.endsWith(SUFFIX) && ID.test(name.slice(0, -SUFFIX.length)))
        committed.push(name.slice(0, -SUFFIX.length));
    }
    return { committed: committed.sort(), staging };
  };

  const load = async (id: string): Promise<Intent | undefined> => {
    const cached = cache.get(id);
    if (cached !== undefined) return cached;
    const path = join(dir, `${id}${SUFFIX}`);
    const bytes = await readOptional(path);
    if (bytes === undefined) return undefined;
    const intent = parseIntent(bytes.toString('utf8'), path);
    cache.set(id, intent);
    return intent;
  };

  const manifestOf = async (id: string): Promise<readonly string[] | undefined> => {
    if (manifests.has(id)) return manifests.get(id);
    const bytes = await readOptional(join(dir, `${STAGING}${id}`, 'manifest.json'));
    const locks = bytes === undefined ? undefined : parseManifest(bytes.toString('utf8'));
    if (locks !== undefined) manifests.set(id, locks);
    return locks;
  };

  const revoke = async (id: string): Promise<void> => {
    const aside = join(dir, `${REVOKED}${id}`);
    try {
      await rename(join(dir, `${STAGING}${id}`), aside);
    } catch {
      return; // committed and cleaned up, or revoked by someone else
    }
    await removeTree(aside);
  };

  return {
    async claim(names, except) {
      for (;;) {
        const { committed, staging } = await scan();
        let revoked = false;
        for (const id of staging) {
          const locks = await manifestOf(id);
          // A staging without a readable manifest is revoked too: it cannot prove it is unrelated.
          if (locks === undefined || locks.some((n) => names.has(n))) {
            await revoke(id);
            revoked = true;
          }
        }
        // A batch may have committed just before its staging was revoked: look again.
        if (revoked) continue;
        const found: Intent[] = [];
        for (const id of committed) {
          if (id === except) continue;
          const intent = await load(id);
          if (intent?.locks.some((n) => names.has(n))) found.push(intent);
        }
        return found;
      }
    },

    async committed(touches) {
      const { committed } = await scan();
      const found: Intent[] = [];
      for (const id of committed) {
        const intent = await load(id);
        if (intent?.ops.some(touches)) found.push(intent);
      }
      return found;
    },

    async reload(id) {
      cache.delete(id);
      return load(id);
    },

    async stage(intent) {
      const prep = join(dir, `${PREPARED}${intent.id}`);
      const staging = join(dir, `${STAGING}${intent.id}`);
      assertNoSymlinks(root, dir);
      await mkdirDurable(dir);
      try {
        await mkdir(prep);
        await writeFileAtomic(tmpDir, join(prep, 'manifest.json'), JSON.stringify(intent.locks));
        // The staging directory appears with its manifest, never without.
        await rename(prep, staging);
        await writeFileAtomic(tmpDir, join(staging, 'intent.json'), JSON.stringify(intent));
      } catch (error) {
        await removeTree(prep);
        await removeTree(staging);
        if (errorCode(error) === 'ENOENT') throw revokedError(intent.id);
        throw storageError(error, 'stage the batch intent', staging);
      }
      return {
        commit: async () => {
          const target = join(dir, `${intent.id}${SUFFIX}`);
          try {
            await rename(join(staging, 'intent.json'), target);
          } catch (error) {
            if (errorCode(error) === 'ENOENT') throw revokedError(intent.id);
            throw storageError(error, 'commit the batch intent', target);
          }
          await fsyncDir(dir);
          cache.set(intent.id, intent);
          await unlink(join(staging, 'manifest.json')).catch(() => undefined);
          await rmdir(staging).catch(() => undefined);
        },
        discard: async () => {
          await removeTree(staging);
        },
      };
    },

    async remove(id) {
      const path = join(dir, `${id}${SUFFIX}`);
      try {
        await unlink(path);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT')
          throw storageError(error, 'remove the batch intent', path);
      }
      // Durable before the locks go: a replay of an intent whose writes were since overwritten
      // would undo acknowledged writes.
      await fsyncDir(dir);
      cache.delete(id);
    },

    async sweep() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (!name.startsWith('.')) continue;
        const path = join(dir, name);
        try {
          const age = Date.now() - (await lstat(path)).mtimeMs;
          if (name.startsWith(REVOKED) || age > ABANDONED_TEMP_MS) await removeTree(path);
        } catch {
          // removed meanwhile
        }
      }
    },
  };
}

/** Parses a committed intent; `IntegrityError` naming the file when it is not one. */
export function parseIntent(text: string, path: string): Intent {
  let value: JsonValue | undefined;
  try {
    value = parseJsonSafe(text);
  } catch {
    value = undefined;
  }
  const intent = value as Partial<Intent> | undefined;
  if (
    intent !== undefined &&
    intent !== null &&
    intent.v === 1 &&
    typeof intent.id === 'string' &&
    Array.isArray(intent.locks) &&
    intent.locks.every((l) => typeof l === 'string') &&
    Array.isArray(intent.ops) &&
    intent.ops.every(isIntentOp)
  ) {
    return intent as Intent;
  }
  throw new IntegrityError(
    `[keel] [fs] the batch intent ${path} is unreadable: it was fsynced before it was committed, so the disk or something outside keel damaged it. Restore it from a backup, or move it aside to give up that batch (its writes may then be partly applied)`,
    { details: { path } },
  );
}

const STAGING = '.s-';
const PREPARED = '.p-';
const REVOKED = '.x-';
const SUFFIX = '.json';
const ID = /^[0-9a-z-]{8,64}$/;

function isIntentOp(value: unknown): value is IntentOp {
  const op = value as Partial<Record<string, unknown>> | null;
  if (op === null || typeof op !== 'object' || typeof op.lock !== 'string') return false;
  const prior = op.prior === null || typeof op.prior === 'string';
  switch (op.op) {
    case 'put':
      return (
        typeof op.key === 'string' && prior && typeof op.revision === 'string' && 'value' in op
      );
    case 'delete':
      return typeof op.key === 'string' && prior;
    case 'append':
      return (
        typeof op.log === 'string' &&
        typeof op.offset === 'number' &&
        typeof op.writer === 'string' &&
        Array.isArray(op.entries)
      );
    default:
      return false;
  }
}

function parseManifest(text: string): readonly string[] | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // fall through
  }
  return undefined;
}

function revokedError(id: string): ConflictError {
  return new ConflictError(
    `[keel] [fs] cannot commit the batch ${id}: this process lost one of its locks (taken over or removed while held), so nothing was written; retry the batch`,
    { details: { batch: id, reason: 'lock-lost' } },
  );
}

/**
 * @module
 * Filesystem MetadataStore: one file per document (written to a temp file, fsynced,
 * renamed into place), per-key fenced locks for compare-and-swap across processes (a write
 * commits only while its lock is still held, ADR 0009), append-only logs whose torn last
 * record is ignored and truncated by the next append, and atomic batches decided in a
 * write-ahead intent that is replayed after a crash (ADR 0010).
 */
import { rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { sha256 } from '../../core/digest.js';
import { StorageError } from '../../core/errors.js';
import { createIdGenerator } from '../../core/ids.js';
import { parseWith, readProperty } from '../../core/validate.js';
import {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  checkOffset,
  checkRevision,
  compareKeys,
  copyBatch,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  readFrom,
} from '../../metadata/keys.js';
import type { BatchResult, MetadataCapabilities, MetadataStore } from '../../metadata/types.js';
import { commitDocument, DOC_SUFFIX, readDocument, removeDocument } from './doc-file.js';
import { walkDocuments } from './doc-walk.js';
import { type Intent, type IntentOp, openIntentDir } from './intents.js';
import { assertNoSymlinks, removeFile, writeTemp } from './io.js';
import { keyLocation } from './key-path.js';
import type { HeldLock } from './lock.js';
import { newWriterId } from './log-file.js';
import { listLogNames, recordLogName } from './log-names.js';
import { createLogFiles, LostAfterWrite } from './log-store.js';
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
  /** `{ sharedAcrossProcesses: true, atomicBatch: true, listLogs: true }`. */
  readonly capabilities: MetadataCapabilities;
  /** Atomic: every operation or none, also across a crash (see {@link MetadataStore.batch}). */
  batch: NonNullable<MetadataStore['batch']>;
  /**
   * Forgets in-memory log positions; the store stays usable.
   *
   * Never rejects.
   */
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
 * compare-and-swap and log appends take per-key fenced locks, every write is atomic, and
 * `batch` commits several writes together (or none), also across a crash.
 *
 * @example
 * ```ts
 * const meta = createFsMetadataStore({ root: '.keel/metadata' });
 * const { revision } = await meta.put('models/churn', { owner: 'ml' }, { ifRevision: null });
 * ```
 *
 * @throws {ValidationError} when `root` is missing or empty, an option is unknown, or
 *   `lockStaleMs`/`lockTimeoutMs` is not a positive integer (nothing is created: the directory is
 *   made on first use).
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
   * Called under the lock right before a write commits (the document rename, the log write,
   * the batch intent's rename), after every check: a hook that deletes the lock here plays a
   * holder paused at that point; one that throws plays a crash there (the batch's staged
   * intent is then left behind, as a crash would leave it).
   */
  beforeCommit?(kind: 'document' | 'delete' | 'log' | 'intent', path: string): Promise<void> | void;
  /**
   * Called once a batch's intent is committed (durable), before any of its writes is applied:
   * a hook that throws plays a crash between the intent and the apply.
   */
  afterIntentCommit?(path: string): Promise<void> | void;
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
  const { root, tmpDir, locker, ready } = openStoreRoot(options, ['docs', 'logs', 'intents']);
  const docsDir = join(root, 'docs');
  const logsDir = join(root, 'logs');
  const intentsDir = join(root, 'intents');
  const nextRevision = createIdGenerator();
  const nextBatchId = createIdGenerator();
  const intents = openIntentDir(root, intentsDir, tmpDir);
  const { beforeCommit } = hooks;
  const logs = createLogFiles(
    root,
    beforeCommit === undefined ? undefined : (path) => beforeCommit('log', path),
  );
  let swept: Promise<void> | undefined;
  const init = async (): Promise<void> => {
    await ready();
    swept ??= intents.sweep();
    await swept;
  };

  const docPath = (key: string): string => {
    const { dirs, file } = keyLocation(key, DOC_SUFFIX);
    return join(docsDir, ...dirs, file);
  };
  const logPath = (log: string): string => {
    const { dirs, file } = keyLocation(log, LOG_SUFFIX);
    return join(logsDir, ...dirs, file);
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

  /** Writes a document's fsynced temp file (outside any lock, to keep locks short). */
  const tempDocument = async (key: string, revision: string, value: unknown): Promise<string> => {
    assertNoSymlinks(root, tmpDir);
    return writeTemp(tmpDir, JSON.stringify({ key, revision, value }));
  };

  /**
   * Runs `fn` under the locks `names`, once no committed batch holding one of them is left
   * unapplied (those are completed first), and after revoking the batches still being decided
   * that name one of them (their holders lost those locks).
   */
  const underLocks = async <T>(
    names: readonly string[],
    fn: (locks: ReadonlyMap<string, HeldLock>) => Promise<T>,
  ): Promise<T> => {
    for (let round = 0; ; round++) {
      const outcome = await locker.withLocks(
        names,
        async (locks): Promise<{ done: true; value: T } | { done: false; pending: Intent[] }> => {
          const pending = await intents.claim(new Set(names));
          if (pending.length > 0) return { done: false, pending };
          return { done: true, value: await fn(locks) };
        },
      );
      if (outcome.done) return outcome.value;
      for (const intent of outcome.pending) await replay(intent);
      if (round >= 20) {
        throw new StorageError(
          `[keel] [fs] cannot write to ${root}: committed batches keep appearing on the same keys; retry later`,
          { details: { root } },
        );
      }
    }
  };

  /** Completes a committed batch under all of its locks, then removes its intent. */
  const replay = async (intent: Intent): Promise<void> => {
    await locker.withLocks(intent.locks, async (locks) => {
      const current = await intents.reload(intent.id);
      if (current === undefined) return; // completed meanwhile
      await intents.claim(new Set(current.locks), current.id);
      await applyIntent(current, locks);
      await intents.remove(current.id);
    });
  };

  /** Completes the committed batches that touch what an operation is about to read. */
  const settle = async (touches: (op: IntentOp) => boolean): Promise<void> => {
    for (const intent of await intents.committed(touches)) await replay(intent);
  };

  /**
   * Applies every write of a committed batch, each one only if it is not applied yet: the
   * batch's own process applies them right after committing, a replay after a crash (or after
   * the batch's process lost a lock) finishes what is missing. Nobody else writes these keys
   * meanwhile: every writer completes the committed batches on its keys first.
   */
  const applyIntent = async (
    intent: Intent,
    locks: ReadonlyMap<string, HeldLock>,
    temps?: ReadonlyMap<string, string>,
  ): Promise<void> => {
    for (const op of intent.ops) {
      const lock = locks.get(op.lock);
      if (lock === undefined) throw new Error(`[keel] [fs] batch ${intent.id} lacks ${op.lock}`);
      if (op.op === 'append') {
        try {
          await logs.replay(lock, op.log, logPath(op.log), op.entries, op.writer, op.offset);
        } catch (error) {
          // The line landed or not: the next replay tells by its writer id.
          if (error instanceof LostAfterWrite) await lock.assertHeld('apply the batch');
          throw error;
        }
        continue;
      }
      const path = docPath(op.key);
      assertNoSymlinks(root, dirname(path));
      const current = (await readDocument(path, op.key, true))?.revision ?? null;
      if (op.op === 'delete') {
        if (current !== null && current === op.prior) {
          await removeDocument(lock, path);
          await pruneEmpty(dirname(path));
        }
        continue;
      }
      // Applied already, or (impossible without writers bypassing keel) overwritten since.
      if (current === op.revision || current !== op.prior) continue;
      const given = temps?.get(op.key);
      const temp = given ?? (await tempDocument(op.key, op.revision, op.value));
      try {
        await commitDocument(lock, temp, path, beforeCommit);
      } finally {
        if (given === undefined) await removeFile(temp).catch(() => undefined);
      }
    }
  };

  return {
    root,
    capabilities: { sharedAcrossProcesses: true, atomicBatch: true, listLogs: true },

    async get(key) {
      assertKey(key);
      await init();
      await settle((op) => op.op !== 'append' && op.key === key);
      const path = docPath(key);
      assertNoSymlinks(root, dirname(path));
      const doc = await readDocument(path, key);
      return doc === undefined ? undefined : { value: doc.value, revision: doc.revision };
    },

    async put(key, value, putOpts) {
      assertKey(key);
      assertRevisionOption(readProperty(putOpts, 'ifRevision', 'put options'), true);
      const copy = copyJsonValue(value);
      await init();
      const path = docPath(key);
      const revision = nextRevision();
      const temp = await tempDocument(key, revision, copy);
      try {
        await underLocks([lockName('d', key)], async (locks) => {
          assertNoSymlinks(root, dirname(path));
          if (putOpts?.ifRevision !== undefined) {
            const current = await readDocument(path, key);
            checkRevision('fs', key, current?.revision, putOpts.ifRevision);
          }
          await commitDocument(locks.get(lockName('d', key))!, temp, path, beforeCommit);
        });
      } finally {
        await removeFile(temp).catch(() => undefined);
      }
      return { revision };
    },

    async delete(key, deleteOpts) {
      assertKey(key);
      assertRevisionOption(readProperty(deleteOpts, 'ifRevision', 'delete options'), false);
      await init();
      const path = docPath(key);
      const name = lockName('d', key);
      return underLocks([name], async (locks) => {
        assertNoSymlinks(root, dirname(path));
        const current = await readDocument(path, key, deleteOpts?.ifRevision === undefined);
        checkRevision('fs', key, current?.revision, deleteOpts?.ifRevision);
        await beforeCommit?.('delete', path);
        if (!(await removeDocument(locks.get(name)!, path))) return false;
        await pruneEmpty(dirname(path));
        return true;
      });
    },

    async *list(prefix, listOpts) {
      assertPrefix(prefix);
      const limit = listLimit(listOpts);
      await init();
      await settle((op) => op.op !== 'append' && op.key.startsWith(prefix));
      let count = 0;
      for await (const found of walkDocuments({
        root,
        docsDir,
        prefix,
        after: listOpts?.after,
        limit: Number.isFinite(limit) ? limit : undefined,
      })) {
        const doc = found.doc ?? (await readDocument(found.path, found.key));
        if (doc === undefined) continue; // deleted since the directory was read
        yield { key: found.key, value: doc.value, revision: doc.revision };
        if (++count >= limit) return;
      }
    },

    async append(log, entries) {
      assertKey(log, 'log name');
      const copies = copyLogEntries(entries);
      await init();
      const path = logPath(log);
      const name = lockName('l', log);
      const writer = newWriterId();
      await recordLogName(root, tmpDir, path, log, keyLocation(log, LOG_SUFFIX));
      try {
        const offset = await underLocks([name], (locks) =>
          logs.append(locks.get(name)!, log, path, copies, writer),
        );
        return { offset };
      } catch (error) {
        if (!(error instanceof LostAfterWrite)) throw error;
        // The lock was lost while our line was being written: under the lock again, the line
        // counts if and only if it is the one at the offset it was written for.
        const offset = await locker.withLock(name, () => logs.settle(path, error));
        return { offset };
      }
    },

    async *read(log, readOpts) {
      assertKey(log, 'log name');
      const from = readFrom(readOpts);
      await init();
      await settle((op) => op.op === 'append' && op.log === log);
      yield* logs.read(logPath(log), from);
    },

    async batch(operations) {
      const ops = copyBatch(operations);
      await init();
      const id = nextBatchId();
      const planned = ops.map((op) =>
        op.op === 'append'
          ? { ...op, lock: lockName('l', op.log), path: logPath(op.log) }
          : { ...op, lock: lockName('d', op.key), path: docPath(op.key) },
      );
      for (const op of planned) {
        if (op.op === 'append') {
          await recordLogName(root, tmpDir, op.path, op.log, keyLocation(op.log, LOG_SUFFIX));
        }
      }
      // Document temp files are written (and fsynced) before the locks, to keep them short.
      const revisions = new Map<string, string>();
      const temps = new Map<string, string>();
      try {
        for (const op of planned) {
          if (op.op !== 'put') continue;
          const revision = nextRevision();
          revisions.set(op.key, revision);
          temps.set(op.key, await tempDocument(op.key, revision, op.value));
        }
        return await underLocks(
          planned.map((op) => op.lock),
          async (locks) => {
            // Every condition against the state before the batch; one failing: nothing written.
            const decided: IntentOp[] = [];
            const results: BatchResult[] = [];
            for (const op of planned) {
              if (op.op === 'append') {
                const offset = await logs.length(op.path);
                checkOffset('fs', op.log, offset, op.expectedOffset);
                decided.push({
                  op: 'append',
                  log: op.log,
                  lock: op.lock,
                  offset,
                  writer: newWriterId(),
                  entries: op.entries,
                });
                results.push({ op: 'append', log: op.log, offset });
                continue;
              }
              assertNoSymlinks(root, dirname(op.path));
              const current = await readDocument(op.path, op.key);
              if (op.op === 'put' || op.ifRevision !== undefined) {
                checkRevision('fs', op.key, current?.revision, op.ifRevision);
              }
              const prior = current?.revision ?? null;
              if (op.op === 'put') {
                const revision = revisions.get(op.key)!;
                decided.push({
                  op: 'put',
                  key: op.key,
                  lock: op.lock,
                  prior,
                  revision,
                  value: op.value,
                });
                results.push({ op: 'put', key: op.key, revision });
              } else {
                decided.push({ op: 'delete', key: op.key, lock: op.lock, prior });
                results.push({ op: 'delete', key: op.key, deleted: current !== undefined });
              }
            }
            const intent: Intent = { v: 1, id, locks: [...locks.keys()].sort(), ops: decided };
            const staged = await intents.stage(intent);
            try {
              for (const lock of locks.values()) await lock.assertHeld('commit the batch');
            } catch (error) {
              await staged.discard();
              throw error;
            }
            const intentPath = join(intentsDir, `${id}.json`);
            await beforeCommit?.('intent', intentPath);
            try {
              await staged.commit();
            } catch (error) {
              await staged.discard();
              throw error;
            }
            // Committed: from here on the batch happens, whoever finishes applying it.
            await hooks.afterIntentCommit?.(intentPath);
            try {
              await applyIntent(intent, locks, temps);
              await intents.remove(id);
            } catch {
              // The batch is decided and durable: the next writer or reader of these keys
              // completes it from its intent (after a lost lock, say, or a full disk, and then
              // reports what still fails). Telling the caller it failed would invite a retry.
            }
            return results;
          },
        );
      } finally {
        for (const temp of temps.values()) await removeFile(temp).catch(() => undefined);
      }
    },

    async *listLogs(prefix, listOpts) {
      assertPrefix(prefix);
      const limit = listLimit(listOpts);
      const after = listOpts?.after;
      await init();
      let count = 0;
      for (const name of await listLogNames(root, logsDir, prefix, LOG_SUFFIX)) {
        if (count >= limit) return;
        if (after !== undefined && compareKeys(name, after) <= 0) continue;
        count++;
        yield name;
      }
    },

    async close() {
      logs.forget();
    },
  };
}

const LOG_SUFFIX = '.log';

function lockName(kind: 'd' | 'l', key: string): string {
  return `${kind}-${sha256(`${kind}\u0000${key}`).slice(7, 47)}`;
}

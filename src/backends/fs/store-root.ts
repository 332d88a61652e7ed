/**
 * @module
 * What both filesystem stores share: the resolved root with its `tmp` and `locks`
 * directories, a locker, and a one-time preparation (retried after a failure) that creates
 * the layout and clears what dead writers left behind.
 */
import { join, resolve } from 'node:path';
import { assertNoSymlinks, mkdirDurable, removeAbandoned } from './io.js';
import { createLocker, type Locker } from './lock.js';

/** The options both stores accept for their root and locks. */
export interface StoreRootOptions {
  root: string;
  lockStaleMs?: number | undefined;
  lockTimeoutMs?: number | undefined;
}

/** A prepared store directory. */
export interface StoreRoot {
  /** Absolute path of the store. */
  root: string;
  /** Where temp files are written before their rename. */
  tmpDir: string;
  /** Cross-process locks of this store. */
  locker: Locker;
  /** Creates the layout and cleans up once; every operation awaits it. */
  ready(): Promise<void>;
}

/** Opens a store directory whose data lives in the sub-directories `dataDirs`. */
export function openStoreRoot(opts: StoreRootOptions, dataDirs: readonly string[]): StoreRoot {
  const root = resolve(opts.root);
  const tmpDir = join(root, 'tmp');
  const locksDir = join(root, 'locks');
  const locker = createLocker({
    dir: locksDir,
    root,
    ...(opts.lockStaleMs === undefined ? {} : { staleMs: opts.lockStaleMs }),
    ...(opts.lockTimeoutMs === undefined ? {} : { timeoutMs: opts.lockTimeoutMs }),
  });
  let prepared: Promise<void> | undefined;
  return {
    root,
    tmpDir,
    locker,
    ready() {
      prepared ??= (async () => {
        for (const dir of [...dataDirs.map((d) => join(root, d)), tmpDir, locksDir]) {
          assertNoSymlinks(root, dir);
          await mkdirDurable(dir);
        }
        await removeAbandoned(tmpDir, (name) => name.endsWith('.tmp') || name.endsWith('.blob'));
        await locker.sweep();
      })().catch((error: unknown) => {
        prepared = undefined;
        throw error;
      });
      return prepared;
    },
  };
}

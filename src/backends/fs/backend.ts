/**
 * @module
 * `fsBackend`: the crash-safe filesystem ArtifactStore and MetadataStore under one
 * directory (`<root>/artifacts`, `<root>/metadata`), shareable by processes on one machine.
 */
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { OnArtifactDamage } from '../../artifacts/damage.js';
import type { Clock } from '../../core/clock.js';
import { parseWith } from '../../core/validate.js';
import type { Backend } from '../backend.js';
import { createFsArtifactStore, type FsArtifactStore } from './artifact-store.js';
import { createFsMetadataStore, type FsMetadataStore } from './metadata-store.js';

/** Options of {@link fsBackend}. */
export interface FsBackendOptions {
  /** Directory of the store, e.g. `.keel` (created if missing). */
  root: string;
  /** Source of artifact `createdAt` timestamps. */
  clock?: Clock;
  /** A lock older than this (ms) is taken over even if its holder seems alive. Default 30 000. */
  lockStaleMs?: number;
  /** Longest wait for a lock before `TimeoutError` (ms). Default 60 000. */
  lockTimeoutMs?: number;
  /**
   * How `artifacts.put` checks a blob it already holds before deduplicating: `'size'`
   * (default) compares sizes and hashes the stored file only when its sidecar is missing or
   * disagrees; `'hash'` always hashes it. A blob that does not verify is replaced by the bytes
   * being put, so putting the same bytes again repairs it.
   */
  verifyExisting?: 'size' | 'hash';
  /** Told about each artifact `artifacts.list` skips because its metadata sidecar is damaged. */
  onDamaged?: OnArtifactDamage;
}

/** What {@link fsBackend} returns: a `Backend` whose stores say where they live. */
export interface FsBackend extends Backend {
  /** Blobs under `<root>/artifacts`. */
  artifacts: FsArtifactStore;
  /** Documents and logs under `<root>/metadata`. */
  metadata: FsMetadataStore;
  /**
   * Releases in-memory caches; the files stay.
   *
   * Never rejects.
   */
  close(): Promise<void>;
}

const optionsSchema = z
  .object({
    root: z.string().min(1, 'pass the directory of the store'),
    clock: z.unknown().optional(),
    lockStaleMs: z.number().int().positive().optional(),
    lockTimeoutMs: z.number().int().positive().optional(),
    verifyExisting: z.enum(['size', 'hash']).optional(),
    onDamaged: z
      .custom<OnArtifactDamage>((f) => typeof f === 'function', 'expected a function')
      .optional(),
  })
  .strict();

/**
 * The filesystem backend for `createKeel`: artifacts under `<root>/artifacts`, documents and
 * logs under `<root>/metadata`. Several processes may share `root` (writes take file locks).
 *
 * @throws {ValidationError} when `root` is missing or empty, an option is unknown, or
 *   `lockStaleMs`/`lockTimeoutMs` is not a positive integer.
 *   Nothing is created then.
 *
 * @example
 * ```ts
 * import { createKeel } from 'keel';
 * import { fsBackend } from 'keel/fs';
 * const keel = createKeel({ backend: fsBackend({ root: '.keel' }) });
 * ```
 */
export function fsBackend(opts: FsBackendOptions): FsBackend {
  parseWith(optionsSchema, opts, 'fsBackend options');
  const root = resolve(opts.root);
  const locks = {
    ...(opts.lockStaleMs === undefined ? {} : { lockStaleMs: opts.lockStaleMs }),
    ...(opts.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: opts.lockTimeoutMs }),
  };
  const artifacts = createFsArtifactStore({
    root: join(root, 'artifacts'),
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...locks,
    ...(opts.verifyExisting === undefined ? {} : { verifyExisting: opts.verifyExisting }),
    ...(opts.onDamaged === undefined ? {} : { onDamaged: opts.onDamaged }),
  });
  const metadata = createFsMetadataStore({ root: join(root, 'metadata'), ...locks });
  return {
    artifacts,
    metadata,
    close: () => metadata.close(),
  };
}

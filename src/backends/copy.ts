/**
 * @module
 * `copyBackend`: copies everything one backend holds into another (every artifact,
 * verified; every log entry at the same offset; every document), so a store can move from
 * one engine to another (memory or fs to PostgreSQL + S3, and back). Resumable: running it
 * again with `{ resume: true }` continues an interrupted copy and writes nothing twice.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import { canonicalJson } from '../core/canonical-json.js';
import { AbortedError, ConflictError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import { assertReadableObject } from '../core/validate.js';
import type { LogRecord, MetadataStore } from '../metadata/types.js';
import type { Backend } from './backend.js';

/** What {@link copyBackend} has done so far, reported after each item. */
export interface CopyProgress {
  /** The stage running: artifacts first, then logs, then documents. */
  phase: 'artifacts' | 'logs' | 'documents';
  /** Artifacts copied (or found already there on a resumed copy). */
  artifacts: number;
  /** Bytes of the artifacts copied in this run. */
  bytes: number;
  /** Logs done. */
  logs: number;
  /** Log entries appended in this run. */
  logEntries: number;
  /** Documents copied (or found equal on a resumed copy). */
  documents: number;
  /** The item just done: a digest, a log name or a document key. */
  item: string;
}

/** Options of {@link copyBackend}. */
export interface CopyBackendOptions {
  /** Called after each artifact, log and document; a listener that throws is ignored. */
  onProgress?: (progress: CopyProgress) => void;
  /**
   * Copy into a target that is not empty: continue an interrupted copy from the same source
   * (artifacts present are kept, logs continue from their length, equal documents are left
   * alone), or bring a finished copy up to date. Without it a non-empty target is refused.
   */
  resume?: boolean;
  /** Log entries appended per write. Default 1 000. */
  batchSize?: number;
  /** Stops the copy between two items (`AbortedError`); re-run with `resume` to continue. */
  signal?: AbortSignal;
}

/** What {@link copyBackend} did. */
export interface CopyReport {
  /** Artifact blobs. */
  artifacts: {
    /** Blobs written to the target in this run (streamed and verified). */
    copied: number;
    /** Blobs the target already held (same digest), left alone. */
    present: number;
    /** Bytes of the blobs copied in this run. */
    bytes: number;
  };
  /** Append-only logs (metric logs, the run journal). */
  logs: {
    /** Logs done, whether or not anything was appended to them. */
    logs: number;
    /** Entries appended to the target in this run. */
    appended: number;
    /** Entries the target already held at the same offsets (a resumed copy). */
    present: number;
  };
  /** Metadata documents. */
  documents: {
    /** Documents written to the target in this run. */
    copied: number;
    /** Documents the target already held with an equal value (a resumed copy), left alone. */
    present: number;
  };
}

/**
 * Copies every artifact, log entry and document of `from` into `to`. A backend may be any
 * `{ metadata, artifacts }` pair; the source's MetadataStore must list its logs
 * (`capabilities.listLogs`, as the memory, fs and PostgreSQL stores do). The source should
 * be quiet while it runs (stop the writers); copying again with `resume` picks up what
 * changed meanwhile. Artifacts are streamed and verified against their digest on both
 * sides; their `createdAt` is the time of the copy.
 *
 * @throws {ConflictError} when `to` is not empty and `resume` is not set, or when a target
 * log does not start with the source's entries (another store's data is there).
 * @throws {ValidationError} when a backend is malformed or the source cannot list its logs.
 * @throws {AbortedError} when `signal` aborts; nothing half-written remains.
 *
 * @example
 * ```ts
 * import { copyBackend } from 'keel';
 * import { fsBackend } from 'keel/fs';
 * await copyBackend(fsBackend({ root: '.keel' }), { metadata: pgStore, artifacts: s3Store }, {
 *   onProgress: (p) => console.log(p.phase, p.item),
 * });
 * ```
 */
export async function copyBackend(
  from: Backend,
  to: Backend,
  opts: CopyBackendOptions = {},
): Promise<CopyReport> {
  checkBackend(from, 'from');
  checkBackend(to, 'to');
  const options = checkOptions(opts);
  if (from === to || (from.metadata === to.metadata && from.artifacts === to.artifacts)) {
    throw new ValidationError('[keel] copyBackend: the source and the target are the same backend');
  }
  const listLogs = from.metadata.listLogs?.bind(from.metadata);
  if (listLogs === undefined) {
    throw new ValidationError(
      '[keel] copyBackend: the source MetadataStore cannot list its logs (no listLogs); copy from a store that declares capabilities.listLogs (memory, fs, postgres), or add listLogs to your adapter',
    );
  }
  if (!options.resume) await assertEmpty(to);

  const report: CopyReport = {
    artifacts: { copied: 0, present: 0, bytes: 0 },
    logs: { logs: 0, appended: 0, present: 0 },
    documents: { copied: 0, present: 0 },
  };
  const progress = (phase: CopyProgress['phase'], item: string): void => {
    try {
      options.onProgress?.({
        phase,
        artifacts: report.artifacts.copied + report.artifacts.present,
        bytes: report.artifacts.bytes,
        logs: report.logs.logs,
        logEntries: report.logs.appended,
        documents: report.documents.copied + report.documents.present,
        item,
      });
    } catch {
      // a progress listener that throws never breaks the copy
    }
  };
  const checkAborted = (): void => {
    if (options.signal?.aborted) {
      throw new AbortedError(
        '[keel] copyBackend was aborted; run it again with { resume: true } to continue',
        { cause: options.signal.reason },
      );
    }
  };

  // Artifacts first, then logs, then documents: whatever a document points at (a digest, a
  // log offset) is in the target before the document is.
  for await (const meta of from.artifacts.list()) {
    checkAborted();
    if (await to.artifacts.has(meta.digest)) {
      report.artifacts.present++;
    } else {
      await to.artifacts.put(from.artifacts.stream(meta.digest), {
        mediaType: meta.mediaType,
        annotations: meta.annotations,
        expectedDigest: meta.digest,
      });
      report.artifacts.copied++;
      report.artifacts.bytes += meta.size;
    }
    progress('artifacts', meta.digest);
  }

  for await (const log of listLogs('')) {
    checkAborted();
    const { appended, present } = await copyLog(
      from.metadata,
      to.metadata,
      log,
      options.batchSize,
      checkAborted,
    );
    report.logs.logs++;
    report.logs.appended += appended;
    report.logs.present += present;
    progress('logs', log);
  }

  for await (const doc of from.metadata.list('')) {
    checkAborted();
    const current = options.resume ? await to.metadata.get(doc.key) : undefined;
    if (current !== undefined && canonicalJson(current.value) === canonicalJson(doc.value)) {
      report.documents.present++;
    } else {
      await to.metadata.put(doc.key, doc.value);
      report.documents.copied++;
    }
    progress('documents', doc.key);
  }
  return report;
}

/**
 * Appends the entries of `log` the target lacks, so that each lands at its source offset.
 * The target's entries must be the source's first ones (checked entry by entry).
 */
async function copyLog(
  from: MetadataStore,
  to: MetadataStore,
  log: string,
  batchSize: number,
  checkAborted: () => void,
): Promise<{ appended: number; present: number }> {
  const source = from.read(log)[Symbol.asyncIterator]();
  let present = 0;
  try {
    for await (const record of to.read(log)) {
      const next = await source.next();
      if (next.done || !sameRecord(record, next.value)) {
        throw new ConflictError(
          `[keel] copyBackend: the target log ${log} differs from the source at offset ${record.offset}; it holds other data: copy into an empty store`,
          { details: { log, offset: record.offset } },
        );
      }
      present++;
    }
    let appended = 0;
    let batch: JsonValue[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      checkAborted();
      const expected = present + appended;
      const { offset } = await to.append(log, batch);
      if (offset !== expected) {
        throw new ConflictError(
          `[keel] copyBackend: entries of log ${log} landed at offset ${offset}, not ${expected}: something else writes to the target; stop it and copy again with { resume: true }`,
          { details: { log, expected, actual: offset } },
        );
      }
      appended += batch.length;
      batch = [];
    };
    for (;;) {
      const next = await source.next();
      if (next.done) break;
      batch.push(next.value.entry);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    return { appended, present };
  } finally {
    await source.return?.();
  }
}

function sameRecord(a: LogRecord, b: LogRecord): boolean {
  return a.offset === b.offset && canonicalJson(a.entry) === canonicalJson(b.entry);
}

/** Throws `ConflictError` when the target holds any artifact, document or log. */
async function assertEmpty(to: Backend): Promise<void> {
  const holds: string[] = [];
  if (await first(to.artifacts.list({ limit: 1 }))) holds.push('artifacts');
  if (await first(to.metadata.list('', { limit: 1 }))) holds.push('documents');
  const listLogs = to.metadata.listLogs?.bind(to.metadata);
  if (listLogs !== undefined && (await first(listLogs('', { limit: 1 })))) holds.push('logs');
  if (holds.length > 0) {
    throw new ConflictError(
      `[keel] copyBackend: the target is not empty (it holds ${holds.join(', ')}): copy into an empty store, or pass { resume: true } to continue an interrupted copy into it`,
      { details: { holds } },
    );
  }
}

async function first(items: AsyncIterable<unknown>): Promise<boolean> {
  for await (const _ of items) return true;
  return false;
}

function checkBackend(backend: unknown, which: string): asserts backend is Backend {
  assertReadableObject(backend, `copyBackend ${which} backend`);
  const b = backend as Partial<Backend> | null;
  const artifactMethods: (keyof ArtifactStore)[] = ['put', 'stream', 'has', 'list'];
  const metadataMethods: (keyof MetadataStore)[] = ['get', 'put', 'list', 'append', 'read'];
  const ok =
    typeof b === 'object' &&
    b !== null &&
    artifactMethods.every((m) => typeof b.artifacts?.[m] === 'function') &&
    metadataMethods.every((m) => typeof b.metadata?.[m] === 'function');
  if (!ok) {
    throw new ValidationError(
      `[keel] copyBackend: "${which}" is not a backend: pass { artifacts, metadata } (e.g. memoryBackend(), or fsBackend({ root }) from keel/fs)`,
    );
  }
}

function checkOptions(
  opts: CopyBackendOptions,
): Required<Pick<CopyBackendOptions, 'batchSize'>> & CopyBackendOptions {
  if (typeof opts !== 'object' || opts === null) {
    throw new ValidationError('[keel] copyBackend: options must be an object');
  }
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
    throw new ValidationError('[keel] copyBackend: "onProgress" must be a function');
  }
  if (opts.resume !== undefined && typeof opts.resume !== 'boolean') {
    throw new ValidationError('[keel] copyBackend: "resume" must be true or false');
  }
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new ValidationError(
      '[keel] copyBackend: "batchSize" must be an integer from 1 to 100 000',
    );
  }
  return { ...opts, batchSize };
}

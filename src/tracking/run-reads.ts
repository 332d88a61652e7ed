/**
 * @module
 * Reading run documents for the search cache: one by one or all by a listing, each checked
 * (a corrupt one is reported and skipped, and a listing goes on after it), remembered in the
 * cache, and read at most {@link READ_CONCURRENCY} at once.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore, Versioned } from '../metadata/types.js';
import type { CorruptRecords } from './corrupt-records.js';
import { type RunDocument, runFromJson, trackingKeys } from './records.js';
import type { RunCache } from './run-cache.js';
import type { SearchBase } from './search-snapshot.js';
import type { CorruptRecord } from './types.js';

/** Run documents reads run concurrently, at most this many at once. */
export const READ_CONCURRENCY = 32;

/** What {@link RunReads.readChecked} returns for a document the store finds corrupt. */
export const CORRUPT: unique symbol = Symbol('corrupt');

/** Checked reads of run documents into a {@link RunCache}, reporting the corrupt ones. */
export class RunReads {
  readonly #metadata: MetadataStore;
  readonly #cache: RunCache;
  readonly #corrupt: CorruptRecords;

  /** Reads from `metadata` into `cache`, reporting to `corrupt`. */
  constructor(metadata: MetadataStore, cache: RunCache, corrupt: CorruptRecords) {
    this.#metadata = metadata;
    this.#cache = cache;
    this.#corrupt = corrupt;
  }

  /** Records a document version this process read or wrote (older versions are ignored). */
  remember(doc: RunDocument): void {
    this.#corrupt.forgetKey(trackingKeys.run(doc.run.id));
    this.#cache.remember(doc);
  }

  /**
   * The stored document, or {@link CORRUPT} (reported) when the store finds it corrupt.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails
   *   otherwise.
   */
  async readChecked(key: string): Promise<Versioned | undefined | typeof CORRUPT> {
    try {
      return await this.#metadata.get(key);
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.#corrupt.report({ key, reason: error.message });
      return CORRUPT;
    }
  }

  /** Remembers a stored run document, or reports it when it is not a valid one. */
  rememberChecked(key: string, value: JsonValue): void {
    const doc = this.#parse(key, value);
    if (doc !== undefined) this.remember(doc);
  }

  /**
   * Reads every run document (the damaged ones reported). Returns how many were read.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  listRuns(): Promise<number> {
    // a listing sees every document: the damaged ones it does not meet again are gone
    this.#corrupt.forget((key) => key.startsWith(trackingKeys.runsPrefix));
    return listRunDocuments(
      this.#metadata,
      (key, value) => this.rememberChecked(key, value),
      (record) => this.#corrupt.report(record),
    );
  }

  /**
   * The documents of snapshot rows, by row, when they are still at the snapshot's sequence
   * number; a newer one is remembered instead (and the row left out).
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  async fetchRows(base: SearchBase, rows: readonly number[]): Promise<Map<number, RunDocument>> {
    const docs = new Map<number, RunDocument>();
    await forEachLimited(rows, READ_CONCURRENCY, async (row) => {
      let doc = this.#cache.fetchedRow(base, row);
      if (doc === undefined) {
        const key = trackingKeys.run(base.idAt(row));
        const stored = await this.readChecked(key);
        if (stored === undefined || stored === CORRUPT) return;
        doc = this.#parse(key, stored.value);
        if (doc === undefined) return;
      }
      if (doc.seq !== base.seqs[row]) {
        this.remember(doc);
        return;
      }
      this.#cache.keepFetched(doc);
      docs.set(row, doc);
    });
    return docs;
  }

  /** The run document stored at `key`, or undefined (reported) when it is not a valid one. */
  #parse(key: string, value: JsonValue): RunDocument | undefined {
    try {
      return runFromJson(key, value);
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.#corrupt.report({ key, reason: error.message });
      return undefined;
    }
  }
}

/**
 * Lists every run document into `onDocument`; a document the store cannot read goes to
 * `onCorrupt` and the listing resumes after its key. Returns how many documents were read.
 */
export async function listRunDocuments(
  metadata: MetadataStore,
  onDocument: (key: string, value: JsonValue) => void,
  onCorrupt: (record: CorruptRecord) => void,
): Promise<number> {
  let read = 0;
  let after: string | undefined;
  for (;;) {
    try {
      const opts = after === undefined ? undefined : { after };
      for await (const { key, value } of metadata.list(trackingKeys.runsPrefix, opts)) {
        after = key;
        onDocument(key, value);
        read++;
      }
      return read;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      const key = error.details?.key;
      const resumable =
        typeof key === 'string' &&
        key.startsWith(trackingKeys.runsPrefix) &&
        (after === undefined || key > after);
      onCorrupt({ key: resumable ? key : trackingKeys.runsPrefix, reason: error.message });
      // a store that does not say which document failed cannot be listed past it: the
      // runs the journal names are still read one by one
      if (!resumable) return read;
      after = key;
    }
  }
}

/** Calls `fn` on every item, at most `limit` at once. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

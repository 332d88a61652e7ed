/**
 * @module
 * The `MetadataStore` contract: JSON documents with revisions (compare-and-swap) and
 * append-only logs. Every metadata adapter implements it and passes
 * `describeMetadataStore` from `keel/testing`.
 */
import type { JsonValue } from '../core/json.js';

/** A stored document and its current revision. */
export interface Versioned {
  value: JsonValue;
  /** Opaque; changes on every write. Pass it back as `ifRevision` to compare-and-swap. */
  revision: string;
}

/** Options of {@link MetadataStore.put}. */
export interface PutDocumentOptions {
  /** `null`: the key must not exist. A string: the current revision must equal it. */
  ifRevision?: string | null;
}

/** Options of {@link MetadataStore.list}. */
export interface ListDocumentsOptions {
  /** Start strictly after this key. */
  after?: string;
  /** At most this many entries. */
  limit?: number;
}

/** One entry of an append-only log. */
export interface LogRecord {
  /** Position in the log: 0, 1, 2, ... without gaps. */
  offset: number;
  entry: JsonValue;
}

/** Optional features an adapter declares; domain services use them when present. */
export interface MetadataCapabilities {
  /** The adapter's documents are shared with other processes (caches must revalidate). */
  sharedAcrossProcesses?: boolean;
  /** The adapter implements {@link MetadataStore.batch}: several writes that commit together or not at all. */
  atomicBatch?: boolean;
  /** The adapter implements {@link MetadataStore.watch}: it tells when documents under a prefix change. */
  watch?: boolean;
  /** The adapter implements {@link MetadataStore.listLogs}: it can name every log it holds. */
  listLogs?: boolean;
}

/** One write of an atomic {@link MetadataStore.batch}. */
export type BatchOperation =
  | {
      op: 'put';
      key: string;
      value: JsonValue;
      /** As in {@link PutDocumentOptions.ifRevision}. */
      ifRevision?: string | null;
    }
  | {
      op: 'delete';
      key: string;
      /** As in `delete`'s `ifRevision`; the document must exist when given. */
      ifRevision?: string;
    }
  | {
      op: 'append';
      log: string;
      /** Non-empty, as in {@link MetadataStore.append}. */
      entries: JsonValue[];
      /** The offset the first entry must land at (the log's current length); `ConflictError` otherwise. */
      expectedOffset?: number;
    };

/** What each operation of a batch did, in the order given. */
export type BatchResult =
  | { op: 'put'; key: string; revision: string }
  | { op: 'delete'; key: string; deleted: boolean }
  | { op: 'append'; log: string; offset: number };

/** A change seen by {@link MetadataStore.watch}. */
export interface DocumentChange {
  /**
   * The key that was written or deleted; or the watched prefix itself when changes may have
   * been missed (a store that just started listening, or reconnected): re-read everything
   * under it.
   */
  key: string;
}

/**
 * JSON documents with revisions plus append-only logs.
 *
 * Keys are `/`-separated paths of non-empty segments (no `.` or `..` segments, no
 * control characters, at most 1024 characters); an unsafe key is refused with
 * `ValidationError`. Values must be JSON (`ValidationError` otherwise); they are copied
 * on write and on read.
 */
export interface MetadataStore {
  /** Declared optional features. */
  readonly capabilities?: MetadataCapabilities;
  /** The document at `key`, or `undefined`. */
  get(key: string): Promise<Versioned | undefined>;
  /** Writes a document; `ConflictError` when `ifRevision` does not hold. */
  put(key: string, value: JsonValue, opts?: PutDocumentOptions): Promise<{ revision: string }>;
  /** Deletes a document; `true` when it existed. `ConflictError` when `ifRevision` does not hold. */
  delete(key: string, opts?: { ifRevision?: string }): Promise<boolean>;
  /**
   * Documents whose key starts with `prefix`, in key order: by Unicode code point, which is
   * the byte order of UTF-8 (`compareKeys`), as SQL `COLLATE "C"` and S3 listings sort.
   */
  list(prefix: string, opts?: ListDocumentsOptions): AsyncIterable<{ key: string } & Versioned>;
  /** Appends entries atomically and contiguously; returns the offset of the first. */
  append(log: string, entries: JsonValue[]): Promise<{ offset: number }>;
  /** Reads a log from `from` (default 0) in offset order. */
  read(log: string, opts?: { from?: number }): AsyncIterable<LogRecord>;
  /**
   * Optional (`capabilities.atomicBatch`): applies every operation or none. Each
   * condition (`ifRevision`, `expectedOffset`) is checked against the state before the
   * batch; one failing condition throws `ConflictError` and nothing is written. A key or
   * log may appear at most once in a batch (`ValidationError` otherwise; a document and a
   * log may share a name). The results come back in the order of `operations`.
   *
   * All or nothing holds across a crash too: after a restart the batch is visible entirely
   * or not at all. Batches and single writes touching the same key are serialized: of two
   * batches with the same `ifRevision`, exactly one wins. `describeMetadataStore` checks all
   * of this (the crash cases through its `crashBatch` option); see docs/backends.md.
   */
  batch?(operations: BatchOperation[]): Promise<BatchResult[]>;
  /**
   * Optional (`capabilities.watch`): calls `onChange` after a document whose key starts
   * with `prefix` is written or deleted, by this process or another one sharing the
   * store. Best effort and possibly coalesced: a listener re-reads what it cares about.
   * Returns a function that stops watching.
   */
  watch?(prefix: string, onChange: (change: DocumentChange) => void): () => void;
  /**
   * Optional (`capabilities.listLogs`): the names of the logs that start with `prefix`, in
   * name order (UTF-16 code units, as `list` orders keys), strictly after `after`, at most
   * `limit`. A log exists once an entry was appended to it. `copyBackend` uses it to find
   * every log of a store; without it a store can be copied into but not out of.
   */
  listLogs?(prefix: string, opts?: ListDocumentsOptions): AsyncIterable<string>;
  /** Releases resources (file handles, connections). */
  close?(): Promise<void>;
}

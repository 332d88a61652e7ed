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
  /** Documents whose key starts with `prefix`, in key order (UTF-16 code units). */
  list(prefix: string, opts?: ListDocumentsOptions): AsyncIterable<{ key: string } & Versioned>;
  /** Appends entries atomically and contiguously; returns the offset of the first. */
  append(log: string, entries: JsonValue[]): Promise<{ offset: number }>;
  /** Reads a log from `from` (default 0) in offset order. */
  read(log: string, opts?: { from?: number }): AsyncIterable<LogRecord>;
  /** Releases resources (file handles, connections). */
  close?(): Promise<void>;
}

/**
 * @module
 * The `MetadataStore` contract: JSON documents with revisions (compare-and-swap) and
 * append-only logs. Every metadata adapter implements it and passes
 * `describeMetadataStore` from `keel/testing`; the whole contract is written on the
 * interface below (docs/adapters.md walks through it).
 */
import type {
  ConflictError,
  IntegrityError,
  StorageError,
  ValidationError,
} from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MAX_KEY_LENGTH, MAX_LIST_LIMIT } from './keys.js';
import type { DocumentQuery } from './query.js';

/** A stored document and its current revision. */
export interface Versioned {
  /** The document (a copy: changing it changes nothing stored). */
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
  /** Start strictly after this key, in code point order (it need not exist). */
  after?: string;
  /** At most this many entries: an integer from 1 to 100 000 (`MAX_LIST_LIMIT`). */
  limit?: number;
}

/** One entry of an append-only log. */
export interface LogRecord {
  /** Position in the log: 0, 1, 2, ... without gaps. */
  offset: number;
  /** The entry as appended (a copy). */
  entry: JsonValue;
}

/**
 * Optional features an adapter declares; domain services use them when present and fall
 * back to the plain contract when not. Declare a method's capability only together with
 * the method (`describeMetadataStore` checks that they agree).
 */
export interface MetadataCapabilities {
  /**
   * Other processes may write the same documents (fs, PostgreSQL), so caches must
   * revalidate: the registry's `resolve` cache then trusts an entry for 250 ms (10 s with
   * `watch`) instead of until this process writes, and the tracker stores its search cache
   * whole every 1 024 run writes so that a new process need not read every run. No method
   * goes with it.
   */
  sharedAcrossProcesses?: boolean;
  /** The adapter implements {@link MetadataStore.batch}: several writes that commit together or not at all. */
  atomicBatch?: boolean;
  /** The adapter implements {@link MetadataStore.watch}: it tells when documents under a prefix change. */
  watch?: boolean;
  /** The adapter implements {@link MetadataStore.listLogs}: it can name every log it holds. */
  listLogs?: boolean;
  /**
   * The adapter implements {@link MetadataStore.queryDocuments}: it filters, orders and pages
   * documents by values at JSON paths itself (a database), so searches need not read them all.
   */
  queryDocuments?: boolean;
}

/** One write of an atomic {@link MetadataStore.batch}. */
export type BatchOperation =
  | {
      /** Write a document. */
      op: 'put';
      /** The document's key. */
      key: string;
      /** The document, JSON as for `put`. */
      value: JsonValue;
      /** As in {@link PutDocumentOptions.ifRevision}. */
      ifRevision?: string | null;
    }
  | {
      /** Delete a document. */
      op: 'delete';
      /** The document's key. */
      key: string;
      /** As in `delete`'s `ifRevision`; the document must exist when given. */
      ifRevision?: string;
    }
  | {
      /** Append entries to a log. */
      op: 'append';
      /** The log's name. */
      log: string;
      /** Non-empty, as in {@link MetadataStore.append}. */
      entries: JsonValue[];
      /** The offset the first entry must land at (the log's current length); `ConflictError` otherwise. */
      expectedOffset?: number;
    };

/** What each operation of a batch did, in the order given. */
export type BatchResult =
  | {
      /** A put. */
      op: 'put';
      /** Its key. */
      key: string;
      /** The document's new revision. */
      revision: string;
    }
  | {
      /** A delete. */
      op: 'delete';
      /** Its key. */
      key: string;
      /** Whether the document existed. */
      deleted: boolean;
    }
  | {
      /** An append. */
      op: 'append';
      /** The log's name. */
      log: string;
      /** The offset of the first entry appended. */
      offset: number;
    };

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
 * JSON documents with revisions (compare-and-swap) plus append-only logs: the one contract
 * every metadata adapter implements. The rules below are the whole contract;
 * `describeMetadataStore` from `keel/testing` checks each of them, and `keel/adapter`
 * exports the checks named here so an adapter applies them exactly as keel's own do.
 *
 * **Keys and log names** (`assertKey`): strings of `/`-separated non-empty segments (no
 * leading, trailing or doubled `/`), no segment `.`, `..` or `__proto__`, no backslash, no
 * control character (U+0000–U+001F, U+007F), no lone surrogate (a key must have a UTF-8
 * form), not absolute (`C:…`), at most {@link MAX_KEY_LENGTH} (1 024) UTF-16 code units.
 * Anything else is allowed: spaces, dots inside a segment (`a.b/c..d`), `%`, any Unicode.
 * Keys are case-sensitive (`models/Churn` and `models/churn` are two documents). Documents
 * and logs are separate namespaces: a log may share a document's name.
 *
 * **Values** (`copyJsonValue`): JSON only: strings, finite numbers, booleans, `null`, arrays
 * and plain objects. Refused: `undefined` (at the top or inside an array), `NaN`,
 * `±Infinity`, bigints, functions, symbols, class instances without `toJSON` (`Map`),
 * cycles, and an own key `__proto__`. `toJSON()` is honoured and `undefined` properties are
 * dropped, as in `JSON.stringify`. Values are copied on write and on read: mutating what
 * was put or what was read changes nothing stored. Keys such as `constructor` inside a value
 * are data and never reach a prototype.
 *
 * **Order**: `list` and `listLogs` return names by Unicode code point, which is the byte
 * order of UTF-8 (`compareKeys`; SQL `COLLATE "C"` and S3 listings sort so). It differs from
 * JavaScript's `<` and `Array.prototype.sort` (UTF-16 code units) only where a character
 * above U+FFFF meets one in U+E000–U+FFFF: `'\u{1F600}'` sorts after `'\uFFFD'`.
 *
 * **Revisions**: opaque non-empty strings. Every successful write of a document gives it a
 * new revision (also when the value is unchanged), and a revision is never given twice to
 * one key: a document deleted and created again gets a revision its old one never equals
 * (no ABA). A compare-and-swap decides against the latest committed write: of concurrent
 * writers holding the same revision, exactly one succeeds.
 *
 * **Errors**: bad input throws {@link ValidationError} before anything is written, and
 * every method validates all of its arguments (also `get`, `delete` and `read` validate the
 * key). A failed condition (`ifRevision`, `expectedOffset`) throws {@link ConflictError} and
 * writes nothing. A failing medium (disk, connection) throws {@link StorageError}; stored
 * data that fails a check (a torn log line, a damaged file) throws {@link IntegrityError}.
 * An absent document is not an error: `get` returns `undefined`, `delete` returns `false`.
 *
 * **Optional capabilities**, declared in {@link MetadataStore.capabilities} (declare `true`
 * only with the method: the suites check that a declared capability has its method):
 * `atomicBatch` ({@link MetadataStore.batch}), `watch` ({@link MetadataStore.watch}),
 * `listLogs` ({@link MetadataStore.listLogs}) and `sharedAcrossProcesses`. Without them
 * keel still works: see each member, and docs/adapters.md.
 */
export interface MetadataStore {
  /** Declared optional features ({@link MetadataCapabilities}); absent means none. */
  readonly capabilities?: MetadataCapabilities;
  /**
   * The document at `key` (a copy) with its revision, or `undefined` when there is none.
   *
   * @throws {ValidationError} when `key` is not a valid key.
   */
  get(key: string): Promise<Versioned | undefined>;
  /**
   * Writes a document (creating or replacing it) and returns its new revision. With
   * `ifRevision: null` the key must not exist; with a revision string the document must
   * exist at exactly that revision. A put that throws writes nothing.
   *
   * @throws {ValidationError} when `key` is not a valid key, `value` is not JSON, or
   * `ifRevision` is neither a string, `null` nor `undefined`.
   * @throws {ConflictError} when `ifRevision` does not hold.
   */
  put(
    key: string,
    value: JsonValue,
    opts?: PutDocumentOptions,
  ): Promise<{
    /** The document's new revision. */
    revision: string;
  }>;
  /**
   * Deletes a document; `true` when it existed, `false` when it did not. With `ifRevision`
   * (a string; `null` is refused) the document must exist at exactly that revision.
   *
   * @throws {ValidationError} when `key` is not a valid key or `ifRevision` is not a string.
   * @throws {ConflictError} when `ifRevision` is given and the document is absent or at
   * another revision.
   */
  delete(key: string, opts?: { ifRevision?: string }): Promise<boolean>;
  /**
   * Documents whose key starts with `prefix` (plain text, not a path: `'runs'` matches
   * `'runsx'`; `''` matches all), each with its value and revision, in code point order
   * (see above), strictly after `opts.after` when given (any string: it need not exist nor
   * carry the prefix), at most `opts.limit` of them. Each listed document is whole; one
   * written or deleted while the listing runs may or may not appear.
   *
   * @throws {ValidationError} when `prefix` is not a valid prefix (`assertPrefix`: a string of
   * at most 1 024 characters without control characters or lone surrogates), `after` is not a
   * string (or holds a lone surrogate), or `limit` is not an integer from 1 to
   * {@link MAX_LIST_LIMIT} (100 000). Thrown when iteration starts.
   */
  list(
    prefix: string,
    opts?: ListDocumentsOptions,
  ): AsyncIterable<
    {
      /** The document's key. */
      key: string;
    } & Versioned
  >;
  /**
   * Appends entries to the log named `log` (creating it) atomically and contiguously: the
   * entries get the offsets `offset`, `offset + 1`, … with no entry of another append
   * between them, and concurrent appends never share or skip an offset. Returns the offset
   * of the first entry (the log's length before the append). An append that throws writes
   * nothing.
   *
   * @throws {ValidationError} when `log` is not a valid key, `entries` is not an array, is
   * empty (`[]` is refused, not a no-op), or holds a value that is not JSON (`NaN`, …).
   */
  append(
    log: string,
    entries: JsonValue[],
  ): Promise<{
    /** The offset of the first entry appended. */
    offset: number;
  }>;
  /**
   * The entries of `log` from offset `opts.from` (default 0) in offset order, each a copy
   * with its offset. A log never appended to, or a `from` past the end, reads as empty.
   *
   * @throws {ValidationError} when `log` is not a valid key or `from` is not a non-negative
   * integer. Thrown when iteration starts.
   */
  read(log: string, opts?: { from?: number }): AsyncIterable<LogRecord>;
  /**
   * Optional (`capabilities.atomicBatch`): applies every operation or none. Each
   * condition (`ifRevision`, `expectedOffset`) is checked against the state before the
   * batch; one failing condition throws `ConflictError` and nothing is written. A key or
   * log may appear at most once in a batch (`ValidationError` otherwise; a document and a
   * log may share a name). The results come back in the order of `operations`: a put's new
   * revision, whether a delete found its document, an append's first offset.
   *
   * All or nothing holds across a crash too: after a restart the batch is visible entirely
   * or not at all. Batches and single writes touching the same key are serialized: of two
   * batches with the same `ifRevision`, exactly one wins. `describeMetadataStore` checks all
   * of this (the crash cases through its `crashBatch` option); see docs/backends.md.
   *
   * Without it the registry commits a change and its audit entry in several writes, under a
   * lease on the audit head (docs/governance.md says what that mode guarantees).
   *
   * @throws {ValidationError} when `operations` is not a non-empty array, an operation is
   * invalid as the single write would be (`delete` takes no `ifRevision: null`,
   * `expectedOffset` is a non-negative integer, `entries` is non-empty), its `op` is not
   * `put`, `delete` or `append`, or a key or log appears twice; nothing is written.
   * @throws {ConflictError} when a condition does not hold; nothing is written.
   */
  batch?(operations: BatchOperation[]): Promise<BatchResult[]>;
  /**
   * Optional (`capabilities.watch`): calls `onChange` after a document whose key starts
   * with `prefix` is written or deleted (by `put`, `delete` or `batch`), by this process or
   * another one sharing the store, with the changed key; or with `prefix` itself when changes
   * may have been missed (the store just started listening, or reconnected): the listener then
   * re-reads everything under it. Best effort and possibly coalesced; `onChange` runs after
   * the write has returned, never inside it, and an error it throws never reaches the writer.
   * Returns a function that stops watching. Appends are not reported.
   *
   * Without it, on a store shared across processes, the registry trusts a cached alias
   * resolution for 250 ms instead of 10 s.
   *
   * @throws {ValidationError} when `prefix` is not a valid prefix or `onChange` is not a function.
   */
  watch?(prefix: string, onChange: (change: DocumentChange) => void): () => void;
  /**
   * Optional (`capabilities.listLogs`): the names of the logs that start with `prefix`, in
   * code point order (the order of `list`), strictly after `opts.after`, at most `opts.limit`.
   * A log exists once an entry was appended to it; documents are never listed. `copyBackend`
   * uses it to find every log of a store; without it a store can be copied into but not out of.
   *
   * @throws {ValidationError} for the inputs `list` refuses (prefix, `after`, `limit`).
   */
  listLogs?(prefix: string, opts?: ListDocumentsOptions): AsyncIterable<string>;
  /**
   * Optional (`capabilities.queryDocuments`): one page of the documents under
   * `query.prefix` for which `query.where` holds, in `query.orderBy` order then by key, with
   * the semantics `DocumentQuery` defines (typed values at JSON paths, IEEE-754 numbers,
   * UTF-16 string order). The tracker's `searchRuns` uses it for the first search of a
   * process (docs/backends.md).
   *
   * @throws {ValidationError} when the query is malformed (`checkDocumentQuery`).
   */
  queryDocuments?(query: DocumentQuery): Promise<
    ({
      /** The document's key (under `query.prefix`). */
      key: string;
    } & Versioned)[]
  >;
  /**
   * Optional: releases resources (file handles, connections, watchers). The store is not
   * used afterwards; the conformance suite calls it after every test.
   *
   * @throws {StorageError} when releasing fails (keel's memory and fs stores never do; PostgreSQL
   *   passes on what ending its pool throws).
   */
  close?(): Promise<void>;
}

/**
 * @module
 * The `ArtifactStore` contract: immutable, content-addressed bytes. Every artifact
 * adapter implements it and passes `describeArtifactStore` from `keel/testing`; the whole
 * contract is written on the interface below (docs/adapters.md walks through it).
 */
import type { Body } from '../core/body.js';
import type { Digest } from '../core/digest.js';
import type {
  IntegrityError,
  NotFoundError,
  StorageError,
  ValidationError,
} from '../core/errors.js';

/** What a store knows about one stored blob. */
export interface ArtifactMeta {
  /** The content address, `sha256:<64 hex>`. */
  digest: Digest;
  /** Size in bytes. */
  size: number;
  /** Media type given at first `put` (default `application/octet-stream`). */
  mediaType: string;
  /** When the blob was first stored (ISO-8601). */
  createdAt: string;
  /** Free-form string annotations given at first `put`. */
  annotations: Record<string, string>;
}

/** A reference to a stored artifact, as other records embed it. */
export type ArtifactRef = Pick<ArtifactMeta, 'digest' | 'size' | 'mediaType'>;

/** Options of {@link ArtifactStore.put}. */
export interface PutOptions {
  /**
   * Media type recorded with the blob: `type/subtype` with optional `; parameters`, at most
   * 255 characters. Default `application/octet-stream`.
   */
  mediaType?: string;
  /**
   * String annotations recorded with the blob: at most 64, keys of 1 to 250 characters (not
   * `__proto__`), values of at most 4 096 characters.
   */
  annotations?: Record<string, string>;
  /** When given, the bytes must hash to this digest or nothing is stored (`IntegrityError`). */
  expectedDigest?: Digest;
}

/** Options of {@link ArtifactStore.list}. */
export interface ListArtifactsOptions {
  /** Start strictly after this digest (a well-formed digest; it need not be stored). */
  after?: Digest;
  /** At most this many entries: an integer from 1 to 100 000. */
  limit?: number;
}

/**
 * Immutable, content-addressed bytes: the one contract every artifact adapter implements.
 * The rules below are the whole contract; `describeArtifactStore` from `keel/testing` checks
 * them, and `keel/adapter` exports the checks named here so an adapter applies them exactly
 * as keel's own do.
 *
 * **Digests**: a blob's address is `sha256:` followed by the 64 lowercase hex characters of
 * the SHA-256 of its bytes (`digestOf`). Every method taking a digest refuses a malformed
 * one (uppercase hex, wrong length, `sha256:../..`) with {@link ValidationError}
 * (`assertDigest`), before looking anything up.
 *
 * **Bodies**: `put` accepts a `Uint8Array`, a string (stored as its UTF-8 bytes), an
 * `AsyncIterable<Uint8Array>` or a `ReadableStream<Uint8Array>` (`chunksOf` reads them all),
 * including the empty body. Anything else, or a chunk that is not a `Uint8Array`, is a
 * {@link ValidationError}; a body whose source fails mid-stream rejects `put` with the
 * source's error. In every failing case nothing is stored: a blob becomes visible (to `has`,
 * `stat`, `list`, `get`) only whole and hashed.
 *
 * **Put options** (`checkPutOptions`, validated before the body is read): no unknown option;
 * `mediaType` 1 to 255 characters matching `type/subtype` of letters, digits and `_ . + -`,
 * optionally followed by `;` and parameters (`MEDIA_TYPE_PATTERN`; default
 * `application/octet-stream`); `annotations` a plain object of at most 64 string values
 * (keys 1 to 250 characters and never `__proto__`, values at most 4 096 characters; a number
 * is refused, not converted); `expectedDigest` a well-formed digest.
 *
 * **Deduplication**: putting bytes that are already stored stores nothing new and returns
 * the stored metadata: the first `mediaType`, `annotations` and `createdAt` stand.
 * Concurrent puts of the same bytes store one blob.
 *
 * **Verification**: `get` and `stream` hash what they read and throw {@link IntegrityError}
 * when it does not match the digest (`verifyBytes`, `verifyChunks`): a corrupt blob is never
 * returned as good. Bytes returned are copies: changing them changes nothing stored.
 *
 * **Errors**: {@link ValidationError} for bad input, {@link NotFoundError} from `get` and
 * `stream` for a well-formed digest that is not stored (`stat` returns `undefined`, `has`
 * `false`, `delete` `false`), {@link IntegrityError} for bytes that do not match their
 * digest (stored or expected), {@link StorageError} when the medium fails.
 */
export interface ArtifactStore {
  /**
   * Hashes the body while storing it, deduplicates, publishes the blob atomically, and
   * returns its metadata (the stored one when the bytes were already there).
   *
   * @throws {ValidationError} when an option is invalid (see above) or `body` is not a
   * supported body; nothing is stored.
   * @throws {IntegrityError} when `expectedDigest` is given and the bytes hash to another
   * digest; nothing is stored.
   */
  put(body: Body, opts?: PutOptions): Promise<ArtifactMeta>;
  /**
   * Reads the whole blob, verifies it against its digest, and returns a copy of its bytes.
   *
   * @throws {ValidationError} when `digest` is malformed.
   * @throws {NotFoundError} when no blob has that digest.
   * @throws {IntegrityError} when the stored bytes do not hash to `digest`.
   */
  get(digest: Digest): Promise<Uint8Array>;
  /**
   * Streams the blob in chunks, hashing as it goes.
   *
   * @throws {ValidationError} when `digest` is malformed (when iteration starts).
   * @throws {NotFoundError} when no blob has that digest (when iteration starts).
   * @throws {IntegrityError} by the end of the stream when the bytes do not hash to `digest`.
   */
  stream(digest: Digest): AsyncIterable<Uint8Array>;
  /**
   * Metadata of a blob (equal to what `put` returned), or `undefined` when absent.
   *
   * @throws {ValidationError} when `digest` is malformed.
   */
  stat(digest: Digest): Promise<ArtifactMeta | undefined>;
  /**
   * Whether a blob is stored.
   *
   * @throws {ValidationError} when `digest` is malformed.
   */
  has(digest: Digest): Promise<boolean>;
  /**
   * Every blob's metadata in digest order, strictly after `opts.after`, at most `opts.limit`.
   *
   * @throws {ValidationError} when `after` is not a well-formed digest or `limit` is not an
   * integer from 1 to 100 000 (`checkArtifactListOptions`). Thrown when iteration starts.
   */
  list(opts?: ListArtifactsOptions): AsyncIterable<ArtifactMeta>;
  /**
   * Removes a blob; `true` when it existed, `false` when not. The same bytes may be put again.
   *
   * @throws {ValidationError} when `digest` is malformed.
   */
  delete(digest: Digest): Promise<boolean>;
}

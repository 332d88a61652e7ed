/**
 * @module
 * The `ArtifactStore` contract: immutable, content-addressed bytes. Every artifact
 * adapter implements it and passes `describeArtifactStore` from `keel/testing`.
 */
import type { Body } from '../core/body.js';
import type { Digest } from '../core/digest.js';

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
  /** Media type recorded with the blob. Default `application/octet-stream`. */
  mediaType?: string;
  /** String annotations recorded with the blob (at most 64, keys up to 250 characters). */
  annotations?: Record<string, string>;
  /** When given, the bytes must hash to this digest or nothing is stored (`IntegrityError`). */
  expectedDigest?: Digest;
}

/** Options of {@link ArtifactStore.list}. */
export interface ListArtifactsOptions {
  /** Start strictly after this digest. */
  after?: Digest;
  /** At most this many entries. */
  limit?: number;
}

/**
 * Immutable, content-addressed bytes.
 *
 * - `put` hashes while it writes, deduplicates, and publishes atomically; putting the
 *   same bytes twice returns the same digest and stores them once (the first
 *   `mediaType` and `annotations` stand).
 * - `get` and `stream` verify the bytes against their digest: `IntegrityError` on
 *   mismatch, `NotFoundError` for an unknown digest, `ValidationError` for a malformed one.
 */
export interface ArtifactStore {
  /** Stores bytes; returns their metadata. */
  put(body: Body, opts?: PutOptions): Promise<ArtifactMeta>;
  /** Reads and verifies the whole blob. */
  get(digest: Digest): Promise<Uint8Array>;
  /** Streams the blob; throws `IntegrityError` by the end of the stream if it does not verify. */
  stream(digest: Digest): AsyncIterable<Uint8Array>;
  /** Metadata of a blob, or `undefined` when absent. */
  stat(digest: Digest): Promise<ArtifactMeta | undefined>;
  /** Whether a blob is stored. */
  has(digest: Digest): Promise<boolean>;
  /** Every blob's metadata in digest order. */
  list(opts?: ListArtifactsOptions): AsyncIterable<ArtifactMeta>;
  /** Removes a blob; `true` when it existed. */
  delete(digest: Digest): Promise<boolean>;
}

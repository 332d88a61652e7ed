/**
 * @module
 * The `Backend` shape every storage backend returns: an ArtifactStore and a
 * MetadataStore that live together, and how to release them.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { MetadataStore } from '../metadata/types.js';

/**
 * A pair of stores that `createKeel({ backend })` runs on, e.g. `memoryBackend()` or
 * `fsBackend({ root })` from `keel/fs`.
 */
export interface Backend {
  /** Where content-addressed bytes go. */
  artifacts: ArtifactStore;
  /** Where documents and logs go. */
  metadata: MetadataStore;
  /**
   * Releases file handles, connections and caches.
   *
   * Never rejects for keel's backends (memory, fs); a custom backend documents its own errors.
   */
  close?(): Promise<void>;
}

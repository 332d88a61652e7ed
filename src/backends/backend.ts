/**
 * @module
 * A backend: the pair of storage contracts keel runs on, plus how to release them.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { MetadataStore } from '../metadata/types.js';

/** What `createKeel` runs on: an ArtifactStore and a MetadataStore. */
export interface Backend {
  artifacts: ArtifactStore;
  metadata: MetadataStore;
  /** Releases file handles, connections, timers. */
  close?(): Promise<void>;
}

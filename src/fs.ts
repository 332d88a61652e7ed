/**
 * @module
 * `keel/fs`: the Node-only, crash-safe filesystem backend (`fsBackend`) and its two
 * stores, for one machine and any number of processes sharing a directory; `commandStep`;
 * and the OpenLineage file transport.
 */
export type { Backend } from './backends/backend.js';
export {
  createFsArtifactStore,
  type FsArtifactStore,
  type FsArtifactStoreOptions,
} from './backends/fs/artifact-store.js';
export { type FsBackend, type FsBackendOptions, fsBackend } from './backends/fs/backend.js';
export {
  createFsMetadataStore,
  type FsMetadataStore,
  type FsMetadataStoreOptions,
} from './backends/fs/metadata-store.js';
export {
  type FileTransportOptions,
  fileTransport,
} from './lineage/openlineage/file-transport.js';
export {
  CommandFailedError,
  type CommandStepOptions,
  type CommandStepResult,
  commandStep,
} from './pipeline/command-step.js';

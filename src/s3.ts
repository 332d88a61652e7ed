/**
 * @module
 * `keel/s3`: an ArtifactStore in an S3 bucket (AWS S3 or any S3-compatible server) through
 * your own `S3Client` from `@aws-sdk/client-s3`, an optional peer dependency that only this
 * entry needs. Pair it with any MetadataStore: `{ artifacts, metadata }` is a `Backend`.
 */
export type { ArtifactDamage, OnArtifactDamage } from './artifacts/damage.js';
export {
  createS3ArtifactStore,
  type S3ArtifactStore,
  type S3ArtifactStoreOptions,
} from './backends/s3/artifact-store.js';
export type { S3ClientLike } from './backends/s3/requests.js';

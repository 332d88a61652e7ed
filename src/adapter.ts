/**
 * @module
 * keel/adapter: what a custom storage adapter needs to refuse exactly what keel's own
 * adapters refuse: the key, value, list-option, put-option and digest checks, the key order,
 * body readers and byte verification. keel's memory, fs, PostgreSQL and S3 adapters use these
 * same functions. Runs in any JS runtime. The contracts themselves are `MetadataStore` and
 * `ArtifactStore` (re-exported here as types); docs/adapters.md is the guide, and
 * `describeMetadataStore` / `describeArtifactStore` from `keel/testing` check an adapter.
 */

export {
  artifactNotFound,
  type CheckedPutOptions,
  checkArtifactListOptions,
  checkExpectedDigest,
  checkPutOptions,
  copyArtifactMeta,
  DEFAULT_MEDIA_TYPE,
  MAX_ANNOTATION_KEY_LENGTH,
  MAX_ANNOTATION_VALUE_LENGTH,
  MAX_ANNOTATIONS,
  MAX_MEDIA_TYPE_LENGTH,
  MEDIA_TYPE_PATTERN,
} from './artifacts/checks.js';
export type {
  ArtifactMeta,
  ArtifactRef,
  ArtifactStore,
  ListArtifactsOptions,
  PutOptions,
} from './artifacts/types.js';
export { integrityError, verifyBytes, verifyChunks } from './artifacts/verify.js';
export { type Body, bytesOf, chunksOf, concatBytes } from './core/body.js';
export {
  assertDigest,
  createHasher,
  type Digest,
  digestOf,
  type Hasher,
  isDigest,
  sha256,
} from './core/digest.js';
export type { JsonValue } from './core/json.js';
export {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  assertWatchArguments,
  checkOffset,
  checkRevision,
  compareKeys,
  copyBatch,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  MAX_KEY_LENGTH,
  MAX_LIST_LIMIT,
  readFrom,
} from './metadata/keys.js';
export type {
  BatchOperation,
  BatchResult,
  DocumentChange,
  ListDocumentsOptions,
  LogRecord,
  MetadataCapabilities,
  MetadataStore,
  PutDocumentOptions,
  Versioned,
} from './metadata/types.js';

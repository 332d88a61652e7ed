/**
 * @module
 * Opens the backend a command works on from `--store` / `--artifacts` (or `KEEL_STORE` /
 * `KEEL_ARTIFACTS`): a directory is the fs backend, `postgres://…` the PostgreSQL
 * MetadataStore (needs `pg`), `s3://bucket/prefix` the S3 ArtifactStore (needs
 * `@aws-sdk/client-s3`, configured from the environment as the AWS CLI is).
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ArtifactStore } from '../artifacts/types.js';
import type { Backend } from '../backends/backend.js';
import { createFsArtifactStore } from '../backends/fs/artifact-store.js';
import { fsBackend } from '../backends/fs/backend.js';
import { createFsMetadataStore } from '../backends/fs/metadata-store.js';
import { createPostgresMetadataStore } from '../backends/postgres/store.js';
import { createS3ArtifactStore } from '../backends/s3/artifact-store.js';
import type { S3ClientLike } from '../backends/s3/requests.js';
import { ValidationError } from '../core/errors.js';
import type { MetadataStore } from '../metadata/types.js';

/** Where a command's store is, as given on the command line. */
export interface StoreLocation {
  /** `--store`: a directory or a `postgres://` URL. */
  store?: string | undefined;
  /** `--artifacts`: a directory or an `s3://bucket/prefix` URL. */
  artifacts?: string | undefined;
}

const POSTGRES = /^postgres(ql)?:\/\//i;
const S3 = /^s3:\/\/([^/]+)\/?(.*)$/i;

/** `--store` and `--artifacts`, falling back to `KEEL_STORE` and `KEEL_ARTIFACTS`. */
export function storeLocation(opts: StoreLocation): StoreLocation {
  return {
    store: opts.store ?? (process.env.KEEL_STORE || undefined),
    artifacts: opts.artifacts ?? (process.env.KEEL_ARTIFACTS || undefined),
  };
}

/**
 * The backend at `location`. A directory must exist unless `create` is set (a typo must not
 * make an empty store that then reports "no runs").
 *
 * @throws {ValidationError} when no store is given, a directory is missing, a PostgreSQL store
 *   has no `--artifacts`, or an optional driver is not installed.
 */
export async function openBackend(
  location: StoreLocation,
  opts: { create?: boolean; flag?: string } = {},
): Promise<Backend> {
  const flag = opts.flag ?? '--store';
  const { store, artifacts } = location;
  if (store === undefined || store === '') {
    throw new ValidationError(
      `[keel] no store given: pass ${flag} <dir | postgres://…> or set KEEL_STORE`,
    );
  }
  if (POSTGRES.test(store)) {
    if (artifacts === undefined) {
      throw new ValidationError(
        `[keel] a PostgreSQL store keeps no artifacts: pass ${artifactsFlag(flag)} <dir | s3://bucket/prefix> too`,
      );
    }
    return pair(
      createPostgresMetadataStore(postgresConnection(store)),
      await openArtifacts(artifacts, opts.create === true),
    );
  }
  const root = directory(store, flag, opts.create === true);
  if (artifacts === undefined) return fsBackend({ root });
  return pair(
    createFsMetadataStore({ root: join(root, 'metadata') }),
    await openArtifacts(artifacts, opts.create === true),
  );
}

/** `postgres://…?schema=name`: the schema is keel's option, not the driver's. */
function postgresConnection(url: string): { connectionString: string; schema?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ValidationError(
      '[keel] the PostgreSQL URL is malformed: use postgres://user@host:5432/db',
      {
        cause: error,
      },
    );
  }
  const schema = parsed.searchParams.get('schema');
  if (schema === null) return { connectionString: url };
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

function artifactsFlag(flag: string): string {
  return flag === '--to' ? '--to-artifacts' : '--artifacts';
}

function pair(metadata: MetadataStore, artifacts: ArtifactStore): Backend {
  return {
    metadata,
    artifacts,
    close: async () => {
      await metadata.close?.();
    },
  };
}

async function openArtifacts(location: string, create: boolean): Promise<ArtifactStore> {
  const s3 = S3.exec(location);
  if (s3 === null)
    return createFsArtifactStore({ root: directory(location, '--artifacts', create) });
  const client = await s3Client();
  return createS3ArtifactStore({ client, bucket: s3[1]!, prefix: s3[2] ?? '' });
}

function directory(path: string, flag: string, create: boolean): string {
  const root = resolve(path);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    if (create) return root;
    throw new ValidationError(
      `[keel] no store at ${path} (${flag}): the directory does not exist; check the path`,
    );
  }
  if (!isDirectory) {
    throw new ValidationError(`[keel] ${flag} ${path} is a file, not a store directory`);
  }
  return root;
}

/** An S3 client from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials, profile). */
async function s3Client(): Promise<S3ClientLike> {
  let mod: { S3Client: new (config: Record<string, unknown>) => S3ClientLike };
  try {
    mod = (await import('@aws-sdk/client-s3')) as unknown as typeof mod;
  } catch (error) {
    throw new ValidationError(
      '[keel] s3:// artifacts need the "@aws-sdk/client-s3" package: install it (npm install @aws-sdk/client-s3)',
      { cause: error },
    );
  }
  // A custom endpoint (MinIO, s3rver, LocalStack) usually serves buckets by path, not by host.
  const custom = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
  const forcePathStyle = process.env.AWS_S3_FORCE_PATH_STYLE
    ? process.env.AWS_S3_FORCE_PATH_STYLE === 'true' || process.env.AWS_S3_FORCE_PATH_STYLE === '1'
    : custom;
  return new mod.S3Client({ forcePathStyle });
}

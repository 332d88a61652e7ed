/**
 * @module
 * The S3 requests the artifact store makes, each one call on the user's `S3Client`, with
 * the SDK's failures turned into keel errors: a missing object is `undefined` (or
 * `NotFoundError` for the caller to raise), anything else a `StorageError` naming the
 * object and what to check.
 */
import type * as S3 from '@aws-sdk/client-s3';
import { isKeelError, StorageError, ValidationError } from '../../core/errors.js';

/** What keel needs of your `S3Client` (from `@aws-sdk/client-s3`): its `send`. */
export interface S3ClientLike {
  /** Sends one command (`PutObjectCommand`, `GetObjectCommand`, …) and resolves with its output. */
  send(command: never): Promise<unknown>;
}

/** One bucket of one client: every request the store needs. */
export interface Bucket {
  readonly name: string;
  /** Size of an object, `undefined` when absent. */
  head(key: string): Promise<number | undefined>;
  /** The object's body as chunks and its length, `undefined` when absent. */
  get(key: string): Promise<{ body: unknown; length: number | undefined } | undefined>;
  /** The whole object as text, `undefined` when absent. */
  getText(key: string): Promise<string | undefined>;
  put(key: string, body: Uint8Array | string, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** One page of keys under `prefix` in key order, after `startAfter`. */
  list(
    prefix: string,
    startAfter: string | undefined,
    token: string | undefined,
    maxKeys: number,
  ): Promise<{ keys: string[]; next: string | undefined }>;
  /** Starts a multipart upload; returns its id. */
  createUpload(key: string, contentType: string): Promise<string>;
  /** Uploads one part; returns its ETag. */
  uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string>;
  /** Uploads one part by copying a byte range of another object; returns its ETag. */
  copyPart(
    key: string,
    uploadId: string,
    partNumber: number,
    source: string,
    range: readonly [first: number, last: number],
  ): Promise<string>;
  completeUpload(
    key: string,
    uploadId: string,
    parts: readonly { PartNumber: number; ETag: string }[],
  ): Promise<void>;
  abortUpload(key: string, uploadId: string): Promise<void>;
  /** Server-side copy of a whole object (up to 5 GiB). */
  copy(source: string, key: string): Promise<void>;
}

/** The requests of `client` on bucket `name`. */
export function bucketOf(client: S3ClientLike, name: string): Bucket {
  // Commands come from the SDK the user installed, loaded on first use, so that importing
  // keel/s3 (and its types) never needs it.
  const send = async <T>(make: (sdk: Sdk) => object): Promise<T> =>
    (await client.send(make(await loadSdk()) as never)) as T;
  const where = (key: string): string => `s3://${name}/${key}`;
  const call = async <T>(action: string, key: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw s3Error(error, action, where(key));
    }
  };
  const optional = async <T>(
    action: string,
    key: string,
    fn: () => Promise<T>,
  ): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw s3Error(error, action, where(key));
    }
  };
  const copySource = (key: string): string =>
    `${encodeURIComponent(name)}/${key.split('/').map(encodeURIComponent).join('/')}`;

  return {
    name,
    head: (key) =>
      optional('inspect', key, async () => {
        const out = await send<S3.HeadObjectCommandOutput>(
          (sdk) => new sdk.HeadObjectCommand({ Bucket: name, Key: key }),
        );
        return out.ContentLength ?? 0;
      }),
    get: (key) =>
      optional('read', key, async () => {
        const out = await send<S3.GetObjectCommandOutput>(
          (sdk) => new sdk.GetObjectCommand({ Bucket: name, Key: key }),
        );
        return { body: out.Body, length: out.ContentLength };
      }),
    getText: (key) =>
      optional('read', key, async () => {
        const out = await send<S3.GetObjectCommandOutput>(
          (sdk) => new sdk.GetObjectCommand({ Bucket: name, Key: key }),
        );
        return (await out.Body?.transformToString('utf-8')) ?? '';
      }),
    put: (key, body, contentType) =>
      call('write', key, async () => {
        await send<S3.PutObjectCommandOutput>(
          (sdk) =>
            new sdk.PutObjectCommand({
              Bucket: name,
              Key: key,
              Body: body,
              ContentType: contentType,
            }),
        );
      }),
    delete: (key) =>
      call('delete', key, async () => {
        await send<S3.DeleteObjectCommandOutput>(
          (sdk) => new sdk.DeleteObjectCommand({ Bucket: name, Key: key }),
        );
      }),
    list: (prefix, startAfter, token, maxKeys) =>
      call('list', prefix, async () => {
        const out = await send<S3.ListObjectsV2CommandOutput>(
          (sdk) =>
            new sdk.ListObjectsV2Command({
              Bucket: name,
              Prefix: prefix,
              MaxKeys: maxKeys,
              ...(token === undefined
                ? startAfter === undefined
                  ? {}
                  : { StartAfter: startAfter }
                : { ContinuationToken: token }),
            }),
        );
        const keys = (out.Contents ?? []).flatMap((c) => (c.Key === undefined ? [] : [c.Key]));
        return { keys, next: out.IsTruncated ? out.NextContinuationToken : undefined };
      }),
    createUpload: (key, contentType) =>
      call('start a multipart upload to', key, async () => {
        const out = await send<S3.CreateMultipartUploadCommandOutput>(
          (sdk) =>
            new sdk.CreateMultipartUploadCommand({
              Bucket: name,
              Key: key,
              ContentType: contentType,
            }),
        );
        if (out.UploadId === undefined) throw new Error('the server returned no UploadId');
        return out.UploadId;
      }),
    uploadPart: (key, uploadId, partNumber, body) =>
      call(`upload part ${partNumber} of`, key, async () => {
        const out = await send<S3.UploadPartCommandOutput>(
          (sdk) =>
            new sdk.UploadPartCommand({
              Bucket: name,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              Body: body,
            }),
        );
        if (out.ETag === undefined) throw new Error('the server returned no ETag');
        return out.ETag;
      }),
    copyPart: (key, uploadId, partNumber, source, [first, last]) =>
      call(`copy part ${partNumber} of`, key, async () => {
        const out = await send<S3.UploadPartCopyCommandOutput>(
          (sdk) =>
            new sdk.UploadPartCopyCommand({
              Bucket: name,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              CopySource: copySource(source),
              CopySourceRange: `bytes=${first}-${last}`,
            }),
        );
        const etag = out.CopyPartResult?.ETag;
        if (etag === undefined) throw new Error('the server returned no ETag');
        return etag;
      }),
    completeUpload: (key, uploadId, parts) =>
      call('complete the multipart upload to', key, async () => {
        await send<S3.CompleteMultipartUploadCommandOutput>(
          (sdk) =>
            new sdk.CompleteMultipartUploadCommand({
              Bucket: name,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: [...parts] },
            }),
        );
      }),
    abortUpload: (key, uploadId) =>
      call('abort the multipart upload to', key, async () => {
        await send<S3.AbortMultipartUploadCommandOutput>(
          (sdk) =>
            new sdk.AbortMultipartUploadCommand({ Bucket: name, Key: key, UploadId: uploadId }),
        );
      }),
    copy: (source, key) =>
      call('copy to', key, async () => {
        await send<S3.CopyObjectCommandOutput>(
          (sdk) =>
            new sdk.CopyObjectCommand({ Bucket: name, Key: key, CopySource: copySource(source) }),
        );
      }),
  };
}

type Sdk = typeof S3;
let sdk: Promise<Sdk> | undefined;

/** The SDK's module, imported once; a clear error when it is not installed. */
function loadSdk(): Promise<Sdk> {
  sdk ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    sdk = undefined;
    throw new ValidationError(
      '[keel] [s3] keel/s3 needs the AWS SDK v3 S3 client: npm install @aws-sdk/client-s3',
      { cause: error },
    );
  });
  return sdk;
}

/** Whether an SDK error says the object (not the bucket) does not exist. */
function isMissing(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Wraps an SDK failure as a `StorageError` that names the object; keel errors pass through. */
export function s3Error(error: unknown, action: string, where: string): Error {
  if (isKeelError(error)) return error;
  const e = error as {
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const status = e?.$metadata?.httpStatusCode;
  const said = typeof e?.message === 'string' && e.message !== '' ? e.message : name;
  return new StorageError(
    `[keel] [s3] cannot ${action} ${where}: ${said}${typeof status === 'number' ? ` (HTTP ${status})` : ''}; ${remedy(name)}`,
    { cause: error, details: { where, name, ...(typeof status === 'number' ? { status } : {}) } },
  );
}

function remedy(name: string): string {
  if (name === 'NoSuchBucket') return 'create the bucket or fix its name';
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch')
    return 'check the credentials and the bucket policy of the S3Client';
  return 'check the endpoint, the bucket and the network, then retry';
}

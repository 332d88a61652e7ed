/**
 * @module
 * Where the S3 ArtifactStore puts things in a bucket, DVC-style: objects named by their
 * digest under a two-hex fan-out (`<prefix>sha256/ab/ab12…`), metadata sidecars under
 * `<prefix>meta/`, and in-flight uploads of unknown digest under `<prefix>tmp/`.
 */
import type { Digest } from '../../core/digest.js';

/** The object keys of one store. */
export interface S3Layout {
  /** The normalized prefix: empty, or ending with `/`. */
  prefix: string;
  /** Where every blob key starts (what `list` pages through). */
  blobsPrefix: string;
  /** Key of a blob's bytes. */
  blob(digest: Digest): string;
  /** Key of a blob's metadata sidecar. */
  sidecar(digest: Digest): string;
  /** A fresh key for an upload whose digest is not known yet. */
  temp(id: string): string;
  /** The digest a listed key names, `undefined` for any other key. */
  digestOfKey(key: string): Digest | undefined;
}

/** The layout under `prefix` (`'keel'` and `'keel/'` are the same prefix). */
export function s3Layout(prefix: string): S3Layout {
  const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const blobsPrefix = `${base}sha256/`;
  const hexOf = (digest: Digest): string => digest.slice(DIGEST_PREFIX.length);
  return {
    prefix: base,
    blobsPrefix,
    blob: (digest) => `${blobsPrefix}${hexOf(digest).slice(0, 2)}/${hexOf(digest)}`,
    sidecar: (digest) => `${base}meta/${hexOf(digest).slice(0, 2)}/${hexOf(digest)}.json`,
    temp: (id) => `${base}tmp/${id}`,
    digestOfKey(key) {
      if (!key.startsWith(blobsPrefix)) return undefined;
      const rest = key.slice(blobsPrefix.length);
      const match = BLOB_NAME.exec(rest);
      if (!match || match[1] !== match[2]!.slice(0, 2)) return undefined;
      return `${DIGEST_PREFIX}${match[2]!}`;
    },
  };
}

const DIGEST_PREFIX = 'sha256:';
const BLOB_NAME = /^([0-9a-f]{2})\/([0-9a-f]{64})$/;

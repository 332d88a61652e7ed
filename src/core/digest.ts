/**
 * @module
 * Content digests (`sha256:<64 hex>`): streaming hashers, `digestOf`, and digest validation.
 * Uses `node:crypto` when the runtime has it, the portable implementation otherwise.
 */
import { type Body, chunksOf } from './body.js';
import { canonicalJson } from './canonical-json.js';
import { ValidationError } from './errors.js';
import { Sha256 } from './sha256.js';

/** A content address: `sha256:` followed by 64 lowercase hex characters. */
export type Digest = `sha256:${string}`;

/** An incremental hasher producing a {@link Digest}. */
export interface Hasher {
  /**
   * Feeds the next chunk of bytes.
   *
   * @throws {ValidationError} when `bytes` is not a Uint8Array.
   */
  update(bytes: Uint8Array): void;
  /**
   * The digest of every byte fed so far; call once, at the end.
   *
   * Never throws on the first call; a hasher is not reused after it.
   */
  digest(): Digest;
}

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * True when `value` is a well-formed digest.
 *
 * Never throws.
 */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/**
 * Checks that `value` is a well-formed digest (`sha256:` and 64 lowercase hex characters).
 *
 * @param what - how the message names the value (`'digest'`, `'expectedDigest'`).
 * @throws {ValidationError} when it is not.
 */
export function assertDigest(value: unknown, what = 'digest'): asserts value is Digest {
  if (!isDigest(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    if (typeof what !== 'string') what = 'digest';
    throw new ValidationError(
      `[keel] malformed ${what} ${shown}: expected "sha256:" followed by 64 lowercase hex characters`,
      { issues: [{ path: [], message: 'malformed digest' }] },
    );
  }
}

/** `bytes` when it is a Uint8Array; `ValidationError` otherwise (a hasher hashes bytes only). */
function checkBytes(bytes: unknown): Uint8Array {
  try {
    if (bytes instanceof Uint8Array) return bytes;
  } catch {
    // a proxy whose getPrototypeOf throws is not bytes
  }
  throw new ValidationError(
    `[keel] cannot hash ${typeof bytes === 'object' && bytes !== null ? 'an object' : typeof bytes}: pass a Uint8Array (or a string to sha256)`,
  );
}

/**
 * Starts an incremental SHA-256; `update` throws `ValidationError` for anything but bytes.
 *
 * Never throws itself; see {@link Hasher.update}.
 */
export function createHasher(): Hasher {
  if (nodeCrypto) {
    const hash = nodeCrypto.createHash('sha256');
    return {
      update: (bytes) => void hash.update(checkBytes(bytes)),
      digest: () => `sha256:${hash.digest('hex')}`,
    };
  }
  const hash = new Sha256();
  return {
    update: (bytes) => void hash.update(checkBytes(bytes)),
    digest: () => `sha256:${hash.hex()}`,
  };
}

/**
 * The SHA-256 of bytes or of a string's UTF-8, as a {@link Digest}. Synchronous.
 *
 * @throws {ValidationError} when `data` is neither a string nor a Uint8Array.
 */
export function sha256(data: Uint8Array | string): Digest {
  const bytes = typeof data === 'string' ? encoder.encode(data) : checkBytes(data);
  const hasher = createHasher();
  hasher.update(bytes);
  return hasher.digest();
}

/**
 * The digest of `value`'s canonical JSON: the content address of a JSON document.
 *
 * @throws {ValidationError} when `value` is not JSON (see `canonicalJson`).
 */
export function digestOfJson(value: unknown): Digest {
  return sha256(canonicalJson(value));
}

/**
 * The digest that `ArtifactStore.put` would give `body`, computed by streaming.
 *
 * @throws {ValidationError} when `body` is not a {@link Body} (or a stream yields a chunk
 * that is not a `Uint8Array`); a stream's own error is rethrown.
 *
 * @example
 * ```ts
 * await digestOf('hello') // 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
 * ```
 */
export async function digestOf(body: Body): Promise<Digest> {
  const hasher = createHasher();
  for await (const chunk of chunksOf(body)) hasher.update(chunk);
  return hasher.digest();
}

const encoder = new TextEncoder();

interface NodeHash {
  update(bytes: Uint8Array): unknown;
  digest(encoding: 'hex'): string;
}
const nodeCrypto = loadNodeCrypto();

function loadNodeCrypto(): { createHash(algorithm: 'sha256'): NodeHash } | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.('node:crypto') as
    | { createHash(algorithm: 'sha256'): NodeHash }
    | undefined;
  return typeof crypto?.createHash === 'function' ? crypto : undefined;
}

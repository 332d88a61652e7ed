/**
 * @module
 * The optional audit key: HMAC-SHA256 (Web Crypto, so the root entry stays isomorphic) over
 * each audit entry's hash and over the audit head, so that someone who can rewrite the whole
 * log and its head, but does not hold the key, cannot produce a log that verifies.
 */
import { ValidationError } from '../core/errors.js';

/** The secret of an audit key: at least 16 bytes, or a string of at least 16 characters. */
export type AuditKey = string | Uint8Array;

/** Signs and checks text with one audit key. */
export interface AuditMac {
  /** `hmac-sha256:<64 hex>` of the UTF-8 bytes of `text`. */
  sign(text: string): Promise<string>;
  /** True when `mac` is the signature of `text` under this key. */
  check(text: string, mac: unknown): Promise<boolean>;
}

/**
 * Creates the signer of an audit key.
 *
 * @throws {ValidationError} when the key is not a string or bytes of at least 16.
 */
export function createAuditMac(key: unknown): AuditMac {
  const bytes =
    typeof key === 'string'
      ? new TextEncoder().encode(key)
      : key instanceof Uint8Array
        ? Uint8Array.from(key)
        : undefined;
  if (bytes === undefined || bytes.length < 16) {
    throw new ValidationError(
      '[keel] [registry] invalid auditKey: pass a secret string or Uint8Array of at least 16 bytes (e.g. 32 random bytes kept outside the store)',
    );
  }
  let imported: Promise<CryptoKey> | undefined;
  const cryptoKey = (): Promise<CryptoKey> => {
    imported ??= crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    return imported;
  };
  const sign = async (text: string): Promise<string> => {
    const signature = await crypto.subtle.sign(
      'HMAC',
      await cryptoKey(),
      new TextEncoder().encode(text),
    );
    return `hmac-sha256:${toHex(new Uint8Array(signature))}`;
  };
  return {
    sign,
    async check(text, mac) {
      if (typeof mac !== 'string') return false;
      const expected = await sign(text);
      // Compare without an early exit, so timing says nothing about where they differ.
      let diff = expected.length ^ mac.length;
      for (let i = 0; i < expected.length; i++)
        diff |= expected.charCodeAt(i) ^ (mac.charCodeAt(i) | 0);
      return diff === 0;
    },
  };
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/**
 * @module
 * Base64 (RFC 4648, standard alphabet with padding) for byte arrays, portable to any JS
 * runtime; uses the runtime's native encoder (Node's Buffer) when there is one, for speed.
 */
import { ValidationError } from './errors.js';

/** Encodes bytes as standard base64 with `=` padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const native = nativeBuffer();
  if (native)
    return native.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const x = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = CODES[x >>> 18]!;
    out[o++] = CODES[(x >>> 12) & 63]!;
    out[o++] = CODES[(x >>> 6) & 63]!;
    out[o++] = CODES[x & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const x = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = CODES[x >>> 18]!;
    out[o++] = CODES[(x >>> 12) & 63]!;
    out[o++] = rest === 2 ? CODES[(x >>> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return latin1.decode(out);
}

/** Decodes standard base64 (padding required); `ValidationError` on malformed input. */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64_PATTERN.test(text)) {
    throw new ValidationError(
      '[keel] cannot decode base64: the text is malformed; pass standard padded base64',
    );
  }
  const native = nativeBuffer();
  if (native) {
    const buffer = native.from(text, 'base64');
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const x =
      (VALUES[text.charCodeAt(i)]! << 18) |
      (VALUES[text.charCodeAt(i + 1)]! << 12) |
      (VALUES[text.charCodeAt(i + 2)]! << 6) |
      VALUES[text.charCodeAt(i + 3)]!;
    if (o < out.length) out[o++] = x >>> 16;
    if (o < out.length) out[o++] = (x >>> 8) & 255;
    if (o < out.length) out[o++] = x & 255;
  }
  return out;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 61;
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const VALUES = (() => {
  const values = new Uint8Array(128);
  for (let i = 0; i < ALPHABET.length; i++) values[ALPHABET.charCodeAt(i)] = i;
  return values;
})();
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const latin1 = new TextDecoder('latin1');

interface NativeBuffer {
  from(
    data: ArrayBufferLike,
    offset: number,
    length: number,
  ): { toString(encoding: 'base64'): string };
  from(data: string, encoding: 'base64'): Uint8Array;
}

function nativeBuffer(): NativeBuffer | undefined {
  const candidate = (globalThis as { Buffer?: NativeBuffer }).Buffer;
  return typeof candidate?.from === 'function' ? candidate : undefined;
}

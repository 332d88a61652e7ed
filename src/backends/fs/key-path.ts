/**
 * @module
 * Maps metadata keys to relative file paths that can never escape the store root and
 * never collide, even on case-insensitive filesystems: every character outside
 * `[a-z0-9_-]` becomes `%xx` of its (WTF-8) bytes, too-long names become hashes.
 */
import { sha256 } from '../../core/digest.js';

/** Longest encoded segment kept readable; longer ones are stored under a hashed name. */
export const MAX_ENCODED_SEGMENT = 200;
/** Longest relative path; deeper keys have their tail folded into one hashed file name. */
export const MAX_RELATIVE_PATH = 2048;
/** First character of a hashed name: never produced by {@link encodeSegment}. */
export const HASHED_MARK = '~';

/** Where a key lives: directory names from the root, then the file name. */
export interface KeyLocation {
  dirs: string[];
  file: string;
}

/**
 * Encodes one key segment as a portable file name: `[a-z0-9_-]` stay, everything else is
 * `%xx` per byte (lowercase hex), Windows device names get their first letter escaped.
 * The result is never empty, `.` or `..`, and contains no `/`, `\`, `.` or uppercase.
 */
export function encodeSegment(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; ) {
    const code = segment.codePointAt(i)!;
    i += code > 0xffff ? 2 : 1;
    if (isPlain(code)) out += String.fromCharCode(code);
    else for (const byte of wtf8(code)) out += `%${byte.toString(16).padStart(2, '0')}`;
  }
  if (WINDOWS_DEVICE.test(out)) out = `%${out.charCodeAt(0).toString(16)}${out.slice(1)}`;
  return out;
}

/** Inverse of {@link encodeSegment}; `undefined` for a name it cannot have produced. */
export function decodeSegment(name: string): string | undefined {
  if (name === '' || !ENCODED.test(name)) return undefined;
  const bytes: number[] = [];
  let out = '';
  const flush = (): boolean => {
    if (bytes.length === 0) return true;
    const text = fromWtf8(bytes);
    bytes.length = 0;
    if (text === undefined) return false;
    out += text;
    return true;
  };
  for (let i = 0; i < name.length; ) {
    if (name[i] === '%') {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      if (!flush()) return undefined;
      out += name[i];
      i++;
    }
  }
  if (!flush()) return undefined;
  return encodeSegment(out) === name ? out : undefined;
}

/** The on-disk name of a directory holding the keys under `segment`. */
export function dirName(segment: string): string {
  return nameOf(encodeSegment(segment), '');
}

/**
 * Where `key` is stored: one directory per segment but the last, whose file name gets
 * `suffix`. Names are hashed past {@link MAX_ENCODED_SEGMENT}; a path longer than
 * {@link MAX_RELATIVE_PATH} keeps its leading directories and folds the rest of the key
 * into one hashed file name (the file records its own key, so nothing is lost).
 */
export function keyLocation(key: string, suffix: string): KeyLocation {
  const encoded = key.split('/').map(encodeSegment);
  const last = encoded.length - 1;
  const dirs = encoded.slice(0, last).map((e) => nameOf(e, ''));
  const file = nameOf(encoded[last]!, suffix);
  let length = file.length;
  for (const dir of dirs) length += dir.length + 1;
  if (length <= MAX_RELATIVE_PATH) return { dirs, file };
  const hashedFile = HASHED_MARK.length + 64 + suffix.length;
  let keep = 0;
  let used = hashedFile;
  while (keep < dirs.length && used + dirs[keep]!.length + 1 <= MAX_RELATIVE_PATH) {
    used += dirs[keep]!.length + 1;
    keep++;
  }
  return { dirs: dirs.slice(0, keep), file: hashedName(encoded.slice(keep).join('/'), suffix) };
}

/** The key segment a plain (non-hashed) file or directory name stands for. */
export function segmentOfName(name: string, suffix: string): string | undefined {
  if (name.startsWith(HASHED_MARK)) return undefined;
  if (suffix !== '') {
    if (!name.endsWith(suffix)) return undefined;
    return decodeSegment(name.slice(0, -suffix.length));
  }
  return decodeSegment(name);
}

/** Whether a name is a hashed file or directory name (its key must be read from the file). */
export function isHashedName(name: string, suffix: string): boolean {
  return HASHED_PATTERN.test(
    suffix === '' ? name : name.endsWith(suffix) ? name.slice(0, -suffix.length) : '',
  );
}

// Lowercase letters, digits, '_' and '-' are safe everywhere, in every case folding.
function isPlain(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f ||
    code === 0x2d
  );
}

const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;
const ENCODED = /^(?:[a-z0-9_-]|%[0-9a-f]{2})+$/;
const HASHED_PATTERN = /^~[0-9a-f]{64}$/;

function nameOf(encoded: string, suffix: string): string {
  return encoded.length > MAX_ENCODED_SEGMENT ? hashedName(encoded, suffix) : encoded + suffix;
}

function hashedName(encoded: string, suffix: string): string {
  return `${HASHED_MARK}${sha256(encoded).slice('sha256:'.length)}${suffix}`;
}

// UTF-8 generalized to lone surrogates (WTF-8), so that every JS string round-trips.
function wtf8(code: number): number[] {
  if (code < 0x80) return [code];
  if (code < 0x800) return [0xc0 | (code >> 6), 0x80 | (code & 0x3f)];
  if (code < 0x10000)
    return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)];
  return [
    0xf0 | (code >> 18),
    0x80 | ((code >> 12) & 0x3f),
    0x80 | ((code >> 6) & 0x3f),
    0x80 | (code & 0x3f),
  ];
}

function fromWtf8(bytes: readonly number[]): string | undefined {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b0 = bytes[i]!;
    const length = b0 < 0x80 ? 1 : b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 0;
    if (length === 0 || i + length > bytes.length) return undefined;
    let code = length === 1 ? b0 : b0 & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) return undefined;
      code = (code << 6) | (b & 0x3f);
    }
    if (code > 0x10ffff) return undefined;
    out += String.fromCodePoint(code);
    i += length;
  }
  return out;
}

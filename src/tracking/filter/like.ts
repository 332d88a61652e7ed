/**
 * @module
 * The `like` / `ilike` matcher of the filter language, in time bounded by the text length
 * times the pattern's machine words: no regular expression, so no pattern can make a search
 * backtrack (a regex `^.*a.*a.*ab$` takes minutes on a long tag).
 *
 * A pattern is split at `%` into segments of literal characters and `_` (one character). The
 * first segment must match at the start, the last at the end, and each middle segment is
 * found at its leftmost place after the previous one: taking the leftmost place never loses
 * a match, since it leaves the most room for the rest. Segments are found with the
 * bit-parallel Shift-And scan (one pass over the text, `ceil(length / 32)` words per
 * character), so a whole match costs at most `n * ceil(m / 32) + 2m` steps for a text of
 * `n` and a pattern of `m` characters.
 *
 * Characters are Unicode code points (as `_` matches one), compared exactly for `like` and
 * after Unicode case mapping (upper, then lower case, per code point) for `ilike`.
 */

/** Longest `like` / `ilike` pattern accepted, in UTF-16 code units. */
export const MAX_LIKE_PATTERN_LENGTH = 1000;

/** Counts the work of a match (character comparisons and Shift-And word updates). */
export interface LikeMeter {
  steps: number;
}

/** A compiled pattern: tests whole values. */
export type LikeMatcher = (value: string, meter?: LikeMeter) => boolean;

/**
 * Compiles a `like` pattern (`%` any run of characters, also none; `_` exactly one; every
 * other character literal, there is no escape). Compiled patterns are cached.
 *
 * @example
 * ```ts
 * likeMatcher('resnet%', false)('resnet50') // true
 * likeMatcher('ADAM_', true)('adamw')      // true
 * ```
 */
export function likeMatcher(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const cacheKey = (caseInsensitive ? 'i:' : 's:') + pattern;
  let matcher = cache.get(cacheKey);
  if (matcher === undefined) {
    matcher = compile(pattern, caseInsensitive);
    if (cache.size >= 1000) cache.clear();
    cache.set(cacheKey, matcher);
  }
  return matcher;
}

const cache = new Map<string, LikeMatcher>();

/** Pattern token for `_`: below every code point. */
const ANY_ONE = -1;

interface Segment {
  /** Code points (case-folded for `ilike`), {@link ANY_ONE} for `_`. */
  tokens: Int32Array;
  /** Shift-And masks: bit i of a character's mask is set when token i accepts it. */
  masks: Map<number, Uint32Array>;
  /** The mask of a character that appears in no token (only `_` accepts it). */
  wildcards: Uint32Array;
  words: number;
}

function compile(pattern: string, caseInsensitive: boolean): LikeMatcher {
  const parts = pattern.split('%').map((part) => segment(part, caseInsensitive));
  const head = parts[0]!;
  if (parts.length === 1) {
    return (value, meter) => {
      const text = codePoints(value, caseInsensitive);
      return text.length === head.tokens.length && matchesAt(text, 0, head, meter);
    };
  }
  const tail = parts[parts.length - 1]!;
  // consecutive '%' leave empty segments, which match anywhere
  const middle = parts.slice(1, -1).filter((part) => part.tokens.length > 0);
  let minimum = head.tokens.length + tail.tokens.length;
  for (const part of middle) minimum += part.tokens.length;
  return (value, meter) => {
    const text = codePoints(value, caseInsensitive);
    if (text.length < minimum) return false;
    const end = text.length - tail.tokens.length;
    if (!matchesAt(text, 0, head, meter) || !matchesAt(text, end, tail, meter)) return false;
    let position = head.tokens.length;
    for (const part of middle) {
      const found = find(text, position, end, part, meter);
      if (found < 0) return false;
      position = found + part.tokens.length;
    }
    return true;
  };
}

function segment(text: string, caseInsensitive: boolean): Segment {
  const points = codePoints(text, caseInsensitive);
  const tokens = new Int32Array(points.length);
  for (let i = 0; i < points.length; i++)
    tokens[i] = points[i] === UNDERSCORE ? ANY_ONE : points[i]!;
  const words = Math.max(1, Math.ceil(tokens.length / 32));
  const wildcards = new Uint32Array(words);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === ANY_ONE) setBit(wildcards, i);
  }
  const masks = new Map<number, Uint32Array>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === ANY_ONE) continue;
    let mask = masks.get(token);
    if (mask === undefined) {
      mask = wildcards.slice();
      masks.set(token, mask);
    }
    setBit(mask, i);
  }
  return { tokens, masks, wildcards, words };
}

/** Whether `part` matches `text` at `start` (the caller checked that it fits). */
function matchesAt(
  text: Int32Array,
  start: number,
  part: Segment,
  meter: LikeMeter | undefined,
): boolean {
  const tokens = part.tokens;
  if (meter) meter.steps += tokens.length;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token !== ANY_ONE && token !== text[start + i]) return false;
  }
  return true;
}

/**
 * The leftmost start of `part` in `text` at or after `from`, ending by `end` (exclusive), or
 * -1: a Shift-And scan, one pass over the text.
 */
function find(
  text: Int32Array,
  from: number,
  end: number,
  part: Segment,
  meter: LikeMeter | undefined,
): number {
  const length = part.tokens.length;
  const words = part.words;
  const last = (length - 1) >>> 5;
  const lastBit = 1 << ((length - 1) & 31);
  const state = new Uint32Array(words);
  for (let t = from; t < end; t++) {
    const mask = part.masks.get(text[t]!) ?? part.wildcards;
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const before = state[w]!;
      state[w] = ((before << 1) | carry) & mask[w]!;
      carry = before >>> 31;
    }
    if (meter) meter.steps += words;
    if (state[last]! & lastBit) return t - length + 1;
  }
  return -1;
}

const UNDERSCORE = 0x5f;

function setBit(words: Uint32Array, bit: number): void {
  const word = bit >>> 5;
  words[word] = words[word]! | (1 << (bit & 31));
}

/** The code points of `value` (lone surrogates kept as they are), case-folded on demand. */
function codePoints(value: string, fold: boolean): Int32Array {
  const out = new Int32Array(value.length);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = ((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
        i++;
      }
    }
    out[n++] = fold ? foldCase(c) : c;
  }
  return n === out.length ? out : out.subarray(0, n);
}

/**
 * A code point's case-insensitive identity: its upper case then lower case, where each is
 * one code point ('ſ' and 'S' meet at 's'); characters whose mapping is several code points
 * ('ß' -> 'SS') fold to their lower case, or stay themselves.
 */
function foldCase(c: number): number {
  if (c < 0x80) return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  let folded = foldCache.get(c);
  if (folded === undefined) {
    const char = String.fromCodePoint(c);
    const upper = single(char.toUpperCase());
    folded =
      (upper === undefined ? undefined : single(String.fromCodePoint(upper).toLowerCase())) ??
      single(char.toLowerCase()) ??
      c;
    if (foldCache.size >= 10_000) foldCache.clear();
    foldCache.set(c, folded);
  }
  return folded;
}

const foldCache = new Map<number, number>();

function single(text: string): number | undefined {
  const first = text.codePointAt(0);
  if (first === undefined) return undefined;
  return text.length === (first > 0xffff ? 2 : 1) ? first : undefined;
}

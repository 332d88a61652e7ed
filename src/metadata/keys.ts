/**
 * @module
 * The rules every MetadataStore adapter applies to keys, log names, values and list
 * options, written once so that every backend refuses exactly the same inputs (exported to
 * custom adapters by `keel/adapter`).
 */
import { toJsonValue } from '../core/canonical-json.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import { readProperty } from '../core/validate.js';
import type { BatchOperation } from './types.js';

/** Longest accepted key, log name or list prefix, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 1024;
/** Largest `limit` accepted by `list`, `listLogs` and `ArtifactStore.list`. */
export const MAX_LIST_LIMIT = 100_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// A lone surrogate has no UTF-8 encoding: a database or object store would store another key.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks a document key or log name: a string of `/`-separated non-empty segments (so no
 * leading, trailing or doubled `/`), no segment `.`, `..` or `__proto__`, no control
 * character (U+0000–U+001F, U+007F), no backslash, no lone surrogate, not absolute (`/x`,
 * `C:`), at most {@link MAX_KEY_LENGTH} characters. Case matters; everything else (spaces,
 * dots inside a segment, `%`, any Unicode) is allowed.
 *
 * @param what - how the message names the value (`'key'`, `'log name'`).
 * @throws {ValidationError} when `key` breaks one of these rules; the message names the rule.
 */
export function assertKey(key: unknown, what = 'key'): asserts key is string {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    const shown = typeof key === 'string' ? JSON.stringify(key.slice(0, 80)) : typeof key;
    throw new ValidationError(
      `[keel] unsafe ${what} ${shown}: ${problem}; use '/'-separated names of printable characters`,
      { issues: [{ path: [], message: problem }] },
    );
  }
}

/**
 * Checks a `list`, `listLogs` or `watch` prefix: a string (`''` for everything) of at most
 * {@link MAX_KEY_LENGTH} characters with no control character and no lone surrogate. A prefix
 * is plain text, not a path: `'runs'` also matches `'runsx'`.
 *
 * @throws {ValidationError} when `prefix` is not such a string.
 */
export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (
    typeof prefix !== 'string' ||
    prefix.length > MAX_KEY_LENGTH ||
    CONTROL.test(prefix) ||
    LONE_SURROGATE.test(prefix)
  ) {
    throw new ValidationError(
      '[keel] invalid list prefix: pass a string of printable characters (or ""), whole characters only',
    );
  }
}

/**
 * Validates the arguments of `watch`: a prefix as {@link assertPrefix} checks it, and a
 * listener function.
 *
 * @throws {ValidationError} when `prefix` is not a valid prefix or `onChange` is not a function.
 */
export function assertWatchArguments(prefix: unknown, onChange: unknown): void {
  assertPrefix(prefix);
  if (typeof onChange !== 'function') {
    throw new ValidationError(
      '[keel] watch needs a function to call on changes: watch(prefix, (change) => ...)',
    );
  }
}

/**
 * Validates `list` / `listLogs` options and returns the limit to apply (Infinity when none).
 * `after` may be any well-formed string (it need not exist nor carry the prefix).
 *
 * @throws {ValidationError} when `after` is not a string or holds a lone surrogate, or
 * `limit` is not an integer from 1 to {@link MAX_LIST_LIMIT}.
 */
export function listLimit(opts: { after?: unknown; limit?: unknown } | undefined): number {
  // read once through readProperty: a getter or proxy that throws is a ValidationError
  const after = readProperty(opts, 'after', 'list options');
  if (after !== undefined && (typeof after !== 'string' || LONE_SURROGATE.test(after))) {
    throw new ValidationError(
      '[keel] invalid list option "after": pass the last key (or digest) you saw',
    );
  }
  const limit = readProperty(opts, 'limit', 'list options');
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (
    typeof limit !== 'number' ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > MAX_LIST_LIMIT
  ) {
    throw new ValidationError(
      `[keel] invalid list option "limit": pass an integer from 1 to ${MAX_LIST_LIMIT}`,
    );
  }
  return limit;
}

/**
 * Validates a log read's `from` and returns it (default 0).
 *
 * @throws {ValidationError} when `from` is not a non-negative integer.
 */
export function readFrom(opts: { from?: unknown } | undefined): number {
  const from = readProperty(opts, 'from', 'read options') ?? 0;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
    throw new ValidationError(
      '[keel] invalid log option "from": pass a non-negative integer offset',
    );
  }
  return from;
}

/**
 * Validates `ifRevision`: `undefined` or a string, and also `null` when `allowNull` (for
 * `put`, where `null` means "must not exist"; `delete` takes a string only).
 *
 * @throws {ValidationError} when `value` is anything else (a number, an object, `null` for delete).
 */
export function assertRevisionOption(value: unknown, allowNull: boolean): void {
  if (value === undefined || typeof value === 'string' || (allowNull && value === null)) return;
  throw new ValidationError(
    `[keel] invalid "ifRevision": pass the revision you read${allowNull ? ', or null for "must not exist"' : ''}`,
  );
}

/**
 * Validates a document value and returns a detached plain-JSON copy of it: strings, finite
 * numbers (`-0` becomes `0`), booleans, `null`, arrays and plain objects; `toJSON()` is
 * honoured (a `Date` becomes its ISO string) and object properties that are `undefined` are
 * dropped.
 *
 * @throws {ValidationError} for `undefined`, `NaN`, `±Infinity`, a bigint, function or
 * symbol, an instance of a class without `toJSON` (`Map`, `Set`), a cycle, an array holding
 * `undefined`, or an object key `__proto__`; the message gives the path to the offending value.
 */
export function copyJsonValue(value: unknown): JsonValue {
  if (value === undefined) {
    throw new ValidationError(
      '[keel] cannot store undefined: pass a JSON value (null, if you mean nothing)',
    );
  }
  return toJsonValue(value);
}

/**
 * Validates the entries of an `append` and returns detached copies.
 *
 * @throws {ValidationError} when `entries` is not an array, is empty, or an entry is not
 * JSON as {@link copyJsonValue} defines it.
 */
export function copyLogEntries(entries: unknown): JsonValue[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ValidationError('[keel] append needs a non-empty array of JSON entries');
  }
  return entries.map(copyJsonValue);
}

/**
 * Checks a compare-and-swap condition: `ifRevision` `undefined` always holds, `null` holds
 * when the document is absent, a string holds when it equals the current revision.
 *
 * @param adapter - the adapter's name, shown in the message.
 * @param current - the document's current revision, `undefined` when it is absent.
 * @throws {ConflictError} when the condition does not hold (`details`: key, expected, actual).
 */
export function checkRevision(
  adapter: string,
  key: string,
  current: string | undefined,
  ifRevision: string | null | undefined,
): void {
  if (ifRevision === undefined) return;
  if (ifRevision === null ? current === undefined : current === ifRevision) return;
  throw new ConflictError(
    ifRevision === null
      ? `[keel] [${adapter}] ${key} already exists: read it and retry with its revision`
      : `[keel] [${adapter}] ${key} changed since revision ${ifRevision} (or was deleted): read it again and retry`,
    { details: { key, expected: ifRevision, actual: current ?? null } },
  );
}

/**
 * Orders keys by Unicode code point, the order `list` returns. It is the byte order of
 * their UTF-8 encoding, which SQL databases (PostgreSQL's `COLLATE "C"`) and object stores
 * (S3 listings) use, so every backend can list with an index range scan. It differs from
 * JavaScript's `<` (UTF-16 code units) only where a character above U+FFFF meets one in
 * U+E000–U+FFFF.
 *
 * Never throws for two strings.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === length) return a.length < b.length ? -1 : 1;
  return codePointRank(a.charCodeAt(i)) < codePointRank(b.charCodeAt(i)) ? -1 : 1;
}

// Surrogates (U+D800–U+DFFF) stand for code points above U+FFFF, so they rank after every
// other code unit; U+E000–U+FFFF move down to make room. The order of the first differing
// code unit is then the order of the code points (for well-formed strings, which keys are).
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'it is not a string';
  if (key.length === 0) return 'it is empty';
  if (key.length > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} characters`;
  if (CONTROL.test(key)) return 'it contains control characters';
  if (LONE_SURROGATE.test(key)) return 'it is not well-formed Unicode (a lone surrogate)';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/') || /^[a-zA-Z]:/.test(key)) return 'it is an absolute path';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment';
    if (segment === '.' || segment === '..') return 'it has a "." or ".." segment';
    if (segment === '__proto__') return 'it has a "__proto__" segment';
  }
  return undefined;
}

/**
 * Validates an atomic batch and returns detached copies of its operations: every key,
 * log name, value and condition as the single operations check them, a non-empty list,
 * and each key or log at most once (a document and a log may share a name).
 *
 * @throws {ValidationError} when `operations` is not a non-empty array, an operation is not
 * `put`, `delete` or `append`, a key, log name, value, entry list or condition is invalid
 * (`delete` takes no `ifRevision: null`; `expectedOffset` is a non-negative integer), or a
 * key or log appears twice.
 */
export function copyBatch(operations: unknown): BatchOperation[] {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ValidationError('[keel] batch needs a non-empty array of operations');
  }
  const seen = new Set<string>();
  // Array.from, not map: map skips the holes of a sparse array
  return Array.from(operations, (operation: unknown, index): BatchOperation => {
    const op = readProperty(operation, 'op', `batch operation ${index}`);
    const at = `batch operation ${index}`;
    if (op === 'put' || op === 'delete') {
      const { key, ifRevision } = operation as { key: unknown; ifRevision?: unknown };
      assertKey(key);
      once(seen, `d:${key}`, at);
      assertRevisionOption(ifRevision, op === 'put');
      if (op === 'delete') {
        return ifRevision === undefined
          ? { op, key }
          : { op, key, ifRevision: ifRevision as string };
      }
      const value = copyJsonValue((operation as { value?: unknown }).value);
      return ifRevision === undefined
        ? { op, key, value }
        : { op, key, value, ifRevision: ifRevision as string | null };
    }
    if (op === 'append') {
      const { log, entries, expectedOffset } = operation as {
        log: unknown;
        entries: unknown;
        expectedOffset?: unknown;
      };
      assertKey(log, 'log name');
      once(seen, `l:${log}`, at);
      const copies = copyLogEntries(entries);
      if (expectedOffset === undefined) return { op, log, entries: copies };
      if (
        typeof expectedOffset !== 'number' ||
        !Number.isInteger(expectedOffset) ||
        expectedOffset < 0
      ) {
        throw new ValidationError(
          `[keel] ${at}: "expectedOffset" must be a non-negative integer (the log's current length)`,
        );
      }
      return { op, log, entries: copies, expectedOffset };
    }
    throw new ValidationError(
      `[keel] ${at}: unknown op ${JSON.stringify(op)}; expected 'put', 'delete' or 'append'`,
    );
  });
}

/**
 * Checks an `append` operation's `expectedOffset` against the log's current length
 * (`undefined` always holds).
 *
 * @throws {ConflictError} when `expectedOffset` is given and differs from `length`.
 */
export function checkOffset(
  adapter: string,
  log: string,
  length: number,
  expectedOffset: number | undefined,
): void {
  if (expectedOffset === undefined || expectedOffset === length) return;
  throw new ConflictError(
    `[keel] [${adapter}] log ${log} has ${length} entries, not ${expectedOffset}: read it again and retry`,
    { details: { log, expected: expectedOffset, actual: length } },
  );
}

function once(seen: Set<string>, id: string, at: string): void {
  if (seen.has(id)) {
    throw new ValidationError(
      `[keel] ${at}: the same key or log appears twice in one batch; merge the writes into one`,
    );
  }
  seen.add(id);
}

/**
 * @module
 * The rules every MetadataStore adapter applies to keys, log names, values and list
 * options, written once so that every backend refuses exactly the same inputs.
 */
import { toJsonValue } from '../core/canonical-json.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';

/** Longest accepted key, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 1024;
/** Largest `limit` accepted by `list`. */
export const MAX_LIST_LIMIT = 100_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Throws `ValidationError` unless `key` is a safe document key or log name:
 * `/`-separated non-empty segments, none `.`, `..` or `__proto__`, no control
 * characters, no backslash, at most {@link MAX_KEY_LENGTH} characters.
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

/** Throws `ValidationError` unless `prefix` is a string that could start a key (may be empty). */
export function assertPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || CONTROL.test(prefix)) {
    throw new ValidationError(
      '[keel] invalid list prefix: pass a string of printable characters (or "")',
    );
  }
}

/** Validates `list` options and returns the limit to apply (Infinity when none). */
export function listLimit(opts: { after?: unknown; limit?: unknown } | undefined): number {
  if (opts?.after !== undefined && typeof opts.after !== 'string') {
    throw new ValidationError(
      '[keel] invalid list option "after": pass the last key (or digest) you saw',
    );
  }
  if (opts?.limit === undefined) return Number.POSITIVE_INFINITY;
  const limit = opts.limit;
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

/** Validates a log read's `from` and returns it (default 0). */
export function readFrom(opts: { from?: unknown } | undefined): number {
  const from = opts?.from ?? 0;
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 0) {
    throw new ValidationError(
      '[keel] invalid log option "from": pass a non-negative integer offset',
    );
  }
  return from;
}

/** Validates `ifRevision` for put (string or null) and delete (string). */
export function assertRevisionOption(value: unknown, allowNull: boolean): void {
  if (value === undefined || typeof value === 'string' || (allowNull && value === null)) return;
  throw new ValidationError(
    `[keel] invalid "ifRevision": pass the revision you read${allowNull ? ', or null for "must not exist"' : ''}`,
  );
}

/** Validates a document value and returns a detached plain-JSON copy of it. */
export function copyJsonValue(value: unknown): JsonValue {
  if (value === undefined) {
    throw new ValidationError(
      '[keel] cannot store undefined: pass a JSON value (null, if you mean nothing)',
    );
  }
  return toJsonValue(value);
}

/** Validates log entries and returns detached copies. */
export function copyLogEntries(entries: unknown): JsonValue[] {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ValidationError('[keel] append needs a non-empty array of JSON entries');
  }
  return entries.map(copyJsonValue);
}

/**
 * Throws `ConflictError` unless `ifRevision` holds for a document whose current revision
 * is `current` (`undefined` = absent). `ifRevision` undefined always holds.
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

/** Orders keys by UTF-16 code units, the order `list` returns. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'it is not a string';
  if (key.length === 0) return 'it is empty';
  if (key.length > MAX_KEY_LENGTH) return `it is longer than ${MAX_KEY_LENGTH} characters`;
  if (CONTROL.test(key)) return 'it contains control characters';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/') || /^[a-zA-Z]:/.test(key)) return 'it is an absolute path';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment';
    if (segment === '.' || segment === '..') return 'it has a "." or ".." segment';
    if (segment === '__proto__') return 'it has a "__proto__" segment';
  }
  return undefined;
}

/**
 * @module
 * Opaque pagination cursors: the sort values of the last run of a page (which end with its
 * id), so the next page starts strictly after it even when runs were inserted meanwhile,
 * bound to the query they came from.
 */
import { decodeBase64, encodeBase64 } from '../core/base64.js';
import { ValidationError } from '../core/errors.js';
import { parseJsonSafe } from '../core/json.js';
import type { FieldValue } from './filter/evaluate.js';

/** Encodes a page position for the query with fingerprint `query`. */
export function encodeCursor(query: string, values: readonly FieldValue[]): string {
  const json = JSON.stringify({ q: query, v: values.map(encodeValue) });
  return encodeBase64(encoder.encode(json))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** Decodes a cursor made by {@link encodeCursor} for the same query; `ValidationError` otherwise. */
export function decodeCursor(cursor: unknown, query: string, length: number): FieldValue[] {
  if (typeof cursor !== 'string' || cursor.length > 100_000 || !/^[A-Za-z0-9_-]*$/.test(cursor))
    throw invalid();
  let parsed: unknown;
  try {
    const base64 = cursor.replaceAll('-', '+').replaceAll('_', '/');
    parsed = parseJsonSafe(
      decoder.decode(decodeBase64(base64 + '='.repeat((4 - (base64.length % 4)) % 4))),
    );
  } catch {
    throw invalid();
  }
  const { q, v } = (parsed ?? {}) as { q?: unknown; v?: unknown };
  if (q !== query) {
    throw new ValidationError(
      '[keel] invalid cursor: it belongs to another query (experiment, filter or orderBy differ); pass the same query with the cursor, or drop the cursor',
    );
  }
  if (!Array.isArray(v) || v.length !== length) throw invalid();
  return v.map(decodeValue);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

type EncodedValue = ['u'] | ['n', number | string] | ['s', string] | ['b', boolean];

function encodeValue(value: FieldValue): EncodedValue {
  if (value === undefined) return ['u'];
  if (typeof value === 'number') return ['n', Number.isFinite(value) ? value : String(value)];
  if (typeof value === 'string') return ['s', value];
  return ['b', value];
}

function decodeValue(encoded: unknown): FieldValue {
  if (!Array.isArray(encoded)) throw invalid();
  const [type, value] = encoded as [unknown, unknown];
  if (type === 'u' && encoded.length === 1) return undefined;
  if (type === 'n' && typeof value === 'number') return value;
  if (type === 'n' && (value === 'NaN' || value === 'Infinity' || value === '-Infinity'))
    return Number(value);
  if (type === 's' && typeof value === 'string') return value;
  if (type === 'b' && typeof value === 'boolean') return value;
  throw invalid();
}

function invalid(): ValidationError {
  return new ValidationError(
    '[keel] invalid cursor: it is not a cursor searchRuns returned; pass nextCursor unchanged',
  );
}

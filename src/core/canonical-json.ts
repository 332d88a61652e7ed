/**
 * @module
 * Canonical JSON: one byte sequence per value (sorted keys, ECMAScript number
 * formatting as in RFC 8785), used for every content hash in keel; and the validated
 * deep copy every store takes of the values written to it.
 */
import { ValidationError } from './errors.js';
import type { JsonValue } from './json.js';

/**
 * Serializes `value` canonically: object keys sorted by UTF-16 code units, no whitespace,
 * numbers in their shortest round-trip form (`-0` becomes `0`), `toJSON` honoured.
 * Properties whose value is `undefined` are omitted, as `JSON.stringify` does.
 *
 * Refuses, with `ValidationError`, what JSON cannot carry exactly: NaN and infinities,
 * bigint, functions, symbols, `undefined` array items, cycles, `__proto__` keys and
 * class instances without `toJSON`.
 *
 * @throws {ValidationError} for such a value; the message gives its path (`value at a.b.2`).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const walk: Walk = { sortKeys: true, indexLikeKeys: false };
  const data = guarded(() => copy(value, [], new Set(), walk));
  // With keys inserted in sorted order, the engine's JSON.stringify writes the canonical form,
  // except that objects list integer-like keys ("2", "10") first: those take the slow path.
  return walk.indexLikeKeys ? serialize(data) : JSON.stringify(data);
}

/**
 * Returns `value` as plain JSON data (a detached deep copy), validated exactly as
 * {@link canonicalJson} validates it. One pass, no serialization.
 *
 * @throws {ValidationError} as {@link canonicalJson} does.
 */
export function toJsonValue(value: unknown): JsonValue {
  return guarded(() => copy(value, [], new Set(), { sortKeys: false, indexLikeKeys: false }));
}

/** Runs a walk; what a caller's getter, proxy trap or toJSON throws becomes a `ValidationError`. */
function guarded<T>(walk: () => T): T {
  try {
    return walk();
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'a non-error value';
    throw new ValidationError(
      `[keel] invalid JSON value: reading it threw (${reason.slice(0, 200)}); pass plain data (no getters, toJSON or proxies that throw)`,
      { issues: [{ path: [], message: 'reading the value threw' }] },
    );
  }
}

interface Walk {
  sortKeys: boolean;
  /** Set when an object key is an array index, which engines order before other keys. */
  indexLikeKeys: boolean;
}

// The walk validates and copies in one pass. `path` is one stack shared by the whole walk
// (pushed and popped, copied only on failure): nothing is allocated per value on the happy path.
function copy(value: unknown, path: PropertyKey[], seen: Set<object>, walk: Walk): JsonValue {
  const object = scalarOrObject(value, path);
  if (object === undefined) return value === 0 ? 0 : (value as JsonValue);
  const withToJson = object as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') {
    return copy((withToJson.toJSON as () => unknown).call(object), path, seen, walk);
  }
  if (seen.has(object)) fail(path, 'the value contains a cycle');
  seen.add(object);
  let out: JsonValue;
  if (Array.isArray(object)) {
    const items = new Array<JsonValue>(object.length);
    for (let i = 0; i < object.length; i++) {
      path.push(i);
      const item: unknown = object[i];
      if (item === undefined) fail(path, 'arrays cannot hold undefined');
      items[i] = copy(item, path, seen, walk);
      path.pop();
    }
    out = items;
  } else {
    const record = plainRecord(object, path);
    const fields: { [key: string]: JsonValue } = {};
    const keys = Object.keys(record);
    // The default sort compares UTF-16 code units: RFC 8785's key order.
    if (walk.sortKeys) keys.sort();
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      if (key === '__proto__') fail([...path, key], 'the key "__proto__" is not allowed');
      if (walk.sortKeys && !walk.indexLikeKeys && isIndexLike(key)) walk.indexLikeKeys = true;
      path.push(key);
      fields[key] = copy(item, path, seen, walk);
      path.pop();
    }
    out = fields;
  }
  seen.delete(object);
  return out;
}

/** Canonical text of validated JSON data, sorting keys itself (the slow path). */
function serialize(data: JsonValue): string {
  if (data === null || typeof data !== 'object') return JSON.stringify(data);
  if (Array.isArray(data)) return `[${data.map(serialize).join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(data).sort())
    parts.push(`${JSON.stringify(key)}:${serialize(data[key]!)}`);
  return `{${parts.join(',')}}`;
}

function isIndexLike(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 48 && first <= 57 && /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4294967295;
}

/** `undefined` for a valid scalar (string, finite number, boolean, null); the object otherwise. */
function scalarOrObject(value: unknown, path: PropertyKey[]): object | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${value} is not a JSON number`);
      return undefined;
    case 'object':
      return value === null ? undefined : value;
    default:
      return fail(path, `a ${typeof value} cannot be stored as JSON`);
  }
}

function plainRecord(object: object, path: PropertyKey[]): Record<string, unknown> {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    fail(
      path,
      `an instance of ${proto?.constructor?.name ?? 'a class'} has no JSON form (give it toJSON())`,
    );
  }
  return object as Record<string, unknown>;
}

function fail(stack: readonly PropertyKey[], problem: string): never {
  const path = [...stack];
  const where = path.length === 0 ? 'the value' : `value at ${path.map(String).join('.')}`;
  throw new ValidationError(
    `[keel] cannot serialize ${where} as JSON: ${problem}; pass plain JSON data`,
    {
      issues: [{ path, message: problem }],
    },
  );
}

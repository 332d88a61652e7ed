/**
 * @module
 * Canonical JSON: one byte sequence per value (sorted keys, ECMAScript number
 * formatting as in RFC 8785), used for every content hash in keel.
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
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, [], new Set());
}

/** Returns `value` as plain JSON data (a deep copy), validated as {@link canonicalJson} does. */
export function toJsonValue(value: unknown): JsonValue {
  return JSON.parse(canonicalJson(value)) as JsonValue;
}

// `path` is one stack shared by the whole walk (pushed and popped, copied only on failure):
// canonical JSON is on every content hash's path, so it must not allocate per value.
function write(value: unknown, path: PropertyKey[], seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      fail(path, `a ${typeof value} cannot be stored as JSON`);
  }
  const object = value as object;
  const withToJson = object as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') {
    return write((withToJson.toJSON as () => unknown).call(object), path, seen);
  }
  if (seen.has(object)) fail(path, 'the value contains a cycle');
  seen.add(object);
  let out: string;
  if (Array.isArray(object)) {
    const items: string[] = [];
    for (let i = 0; i < object.length; i++) {
      const item: unknown = object[i];
      path.push(i);
      if (item === undefined) fail(path, 'arrays cannot hold undefined');
      items.push(write(item, path, seen));
      path.pop();
    }
    out = `[${items.join(',')}]`;
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      fail(
        path,
        `an instance of ${proto?.constructor?.name ?? 'a class'} has no JSON form (give it toJSON())`,
      );
    }
    const record = object as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort(compareCodeUnits)) {
      if (key === '__proto__') fail([...path, key], 'the key "__proto__" is not allowed');
      const item = record[key];
      if (item === undefined) continue;
      path.push(key);
      parts.push(`${JSON.stringify(key)}:${write(item, path, seen)}`);
      path.pop();
    }
    out = `{${parts.join(',')}}`;
  }
  seen.delete(object);
  return out;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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

/**
 * @module
 * JSON values: the type, a guard, and a parser that can never pollute prototypes.
 */

/** A value that JSON can carry exactly. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Parses JSON text into plain data. Keys named `__proto__` are dropped, so a value read
 * back from any store can never change an object's prototype when it is merged later.
 */
export function parseJsonSafe(text: string): JsonValue {
  return JSON.parse(text, dropProtoKey) as JsonValue;
}

function dropProtoKey(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

// Reading the fields of an MLflow request as proto3 JSON allows them: strings, int64 as numbers or digit strings, doubles with "NaN"/"Infinity", repeated fields.
import { invalidParameter } from './errors.js';
import type { MlflowFields } from './route.js';

/** The field's value when the request has it as its own property (never from a prototype). */
export function field(fields: MlflowFields, name: string): unknown {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function missing(name: string): Error {
  return invalidParameter(
    `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
  );
}

function invalid(name: string, value: unknown, expected: string): Error {
  const shown = JSON.stringify(value) ?? String(value);
  return invalidParameter(
    `Invalid value ${shown.length > 100 ? `${shown.slice(0, 100)}…` : shown} for parameter '${name}' supplied: expected ${expected}.`,
  );
}

/** An optional string field (`undefined` when absent or null). */
export function optionalString(fields: MlflowFields, name: string): string | undefined {
  const value = field(fields, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(name, value, 'a string');
  return value;
}

/** A required, non-empty string field. */
export function requiredString(fields: MlflowFields, name: string): string {
  const value = optionalString(fields, name);
  if (value === undefined || value === '') throw missing(name);
  return value;
}

/** The run id of a run request: `run_id`, or the deprecated `run_uuid`. */
export function runIdField(fields: MlflowFields): string {
  const id = optionalString(fields, 'run_id') || optionalString(fields, 'run_uuid');
  if (id === undefined || id === '') throw missing('run_id');
  return id;
}

/**
 * An optional int64 field: proto3 JSON sends it as a number or a string of digits.
 * `min` bounds it from below (timestamps and steps are not negative here).
 */
export function optionalInt64(fields: MlflowFields, name: string, min = 0): number | undefined {
  const value = field(fields, name);
  if (value === undefined || value === null) return undefined;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?\d{1,16}$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n)) throw invalid(name, value, 'an integer (int64)');
  if (n < min) throw invalid(name, value, `an integer >= ${min}`);
  return n;
}

/** A required int64 field. */
export function requiredInt64(fields: MlflowFields, name: string, min = 0): number {
  const n = optionalInt64(fields, name, min);
  if (n === undefined) throw missing(name);
  return n;
}

/** A required double: a JSON number, or proto3 JSON's `"NaN"`, `"Infinity"` and `"-Infinity"`. */
export function requiredDouble(fields: MlflowFields, name: string): number {
  const value = field(fields, name);
  if (value === undefined || value === null) throw missing(name);
  if (typeof value === 'number') return value;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
  throw invalid(name, value, 'a number (or "NaN", "Infinity", "-Infinity")');
}

/** A repeated string field: an array of strings, or one string (a GET's query names it once). */
export function stringList(fields: MlflowFields, name: string): string[] {
  const value = field(fields, name);
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const item of list) if (typeof item !== 'string') throw invalid(name, item, 'strings');
  return list as string[];
}

/** A repeated message field: an array of JSON objects. */
export function objectList(fields: MlflowFields, name: string): MlflowFields[] {
  const value = field(fields, name);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(name, value, 'an array');
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw invalid(name, item, 'an array of objects');
  }
  return value as MlflowFields[];
}

/**
 * `{ key, value }` pairs (tags, params) as a record; a repeated key keeps the last value. Built
 * with own properties only: a `__proto__` key stays a key, which keel's validation refuses.
 */
export function keyValues(fields: MlflowFields, name: string): Record<string, string> {
  const pairs = new Map<string, string>();
  for (const item of objectList(fields, name)) {
    pairs.set(requiredString(item, 'key'), optionalString(item, 'value') ?? '');
  }
  return Object.fromEntries(pairs);
}

/** A proto enum field sent by name or by number; `undefined` when absent. */
export function optionalEnum<T extends string>(
  fields: MlflowFields,
  name: string,
  values: readonly T[],
  numbers: Readonly<Record<number, T>> = {},
): T | undefined {
  const value = field(fields, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Object.hasOwn(numbers, value)) return numbers[value];
  if (typeof value === 'string' && /^\d+$/.test(value) && Object.hasOwn(numbers, Number(value)))
    return numbers[Number(value)];
  if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
  throw invalid(name, value, `one of ${values.join(', ')}`);
}

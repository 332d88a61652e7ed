/**
 * @module
 * Minimal assertions for the conformance suites, so they run under any test runner. Their
 * failure messages name the input in words and the rule it broke.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';

/** Fails with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`conformance: ${message}`);
}

/** Fails unless `actual` and `expected` are deeply equal (plain data, typed arrays). */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) {
    throw new Error(
      `conformance: ${what}: expected ${describeInput(expected)}, got ${describeInput(actual)}`,
    );
  }
}

/**
 * Fails unless `fn` rejects (or throws) with a keel error of `code`. `what` names the call
 * and its input (`put("a\\b", 1)`), `rule` the rule that refuses it: the message reads
 * `put("a\\b", 1) should be refused with ValidationError: keys may not contain a backslash,
 * but it succeeded`.
 */
export async function checkRejects(
  fn: () => unknown,
  code: string,
  what: string,
  rule?: string,
): Promise<void> {
  const expected = `${what} should be refused with ${CLASS_OF_CODE[code] ?? code}${rule === undefined ? '' : `: ${rule}`}`;
  try {
    await fn();
  } catch (error) {
    if (isKeelError(error, code)) return;
    throw new Error(`conformance: ${expected}, but it threw ${describeInput(error)}`);
  }
  throw new Error(`conformance: ${expected}, but it succeeded`);
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const CLASS_OF_CODE: Record<string, string> = {
  [ErrorCodes.validation]: 'ValidationError',
  [ErrorCodes.notFound]: 'NotFoundError',
  [ErrorCodes.conflict]: 'ConflictError',
  [ErrorCodes.integrity]: 'IntegrityError',
  [ErrorCodes.storage]: 'StorageError',
};

const MAX_SHOWN = 200;

/**
 * A value as a reader of a failure message wants to see it: `NaN`, `undefined`, `10n`,
 * `a function`, `a Map`, `"a\\b"`, `"xxxx…" (2000 characters)`, objects and arrays with
 * their members shown the same way, `<cycle>` where an object contains itself.
 */
export function describeInput(value: unknown): string {
  const text = render(value, new Set());
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

function render(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return value.length > 40
        ? `${JSON.stringify(value.slice(0, 20))}... (${value.length} characters)`
        : JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
    case 'boolean':
    case 'symbol':
      return String(value);
    case 'function':
      return 'a function';
  }
  if (value === null) return 'null';
  const object = value as object;
  if (object instanceof Error) return `${object.name}: ${object.message}`;
  if (ArrayBuffer.isView(object)) {
    const bytes = new Uint8Array(object.buffer, object.byteOffset, object.byteLength);
    const hex = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0'));
    return `${object.constructor.name}(${bytes.length} bytes: ${hex.join(' ')}${bytes.length > 16 ? ' ...' : ''})`;
  }
  if (seen.has(object)) return '<cycle>';
  const proto = Object.getPrototypeOf(object);
  if (!Array.isArray(object) && proto !== Object.prototype && proto !== null) {
    return `a ${proto?.constructor?.name ?? 'class instance'}`;
  }
  seen.add(object);
  const inner = Array.isArray(object)
    ? `[${Array.from(object, (item) => render(item, seen)).join(', ')}]`
    : `{${Object.keys(object)
        .map((k) => `${JSON.stringify(k)}: ${render((object as Record<string, unknown>)[k], seen)}`)
        .join(', ')}}`;
  seen.delete(object);
  return inner;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (k) =>
      Object.hasOwn(b, k) &&
      deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

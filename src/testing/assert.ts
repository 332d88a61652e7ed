/**
 * @module
 * Minimal assertions for the conformance suites, so they run under any test runner.
 */
import { isKeelError } from '../core/errors.js';

/** Fails with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`conformance: ${message}`);
}

/** Fails unless `actual` and `expected` are deeply equal (plain data, typed arrays). */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) {
    throw new Error(`conformance: ${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** Fails unless `fn` rejects (or throws) with a keel error of `code`. */
export async function checkRejects(fn: () => unknown, code: string, what: string): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (isKeelError(error, code)) return;
    throw new Error(`conformance: ${what}: expected ${code}, got ${show(error)}`);
  }
  throw new Error(`conformance: ${what}: expected ${code}, but it succeeded`);
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
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

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value);
    return text === undefined
      ? String(value)
      : text.length > 200
        ? `${text.slice(0, 200)}...`
        : text;
  } catch {
    return String(value);
  }
}

/**
 * @module
 * Turns schema failures (zod or any Standard Schema) into `ValidationError`s whose
 * message says what was wrong and where.
 */
import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

/**
 * Parses `value` with a zod schema; throws `ValidationError` naming `what` and each problem.
 *
 * @example
 * ```ts
 * const name = parseWith(nameSchema, input, 'experiment name');
 * ```
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const protoPath = findProtoKey(value, [], 0);
  if (protoPath) {
    const message = 'the key "__proto__" is not allowed';
    throw new ValidationError(
      `[keel] invalid ${what}: at ${protoPath.join('.')}: ${message}; rename the key`,
      {
        issues: [{ path: protoPath, message }],
      },
    );
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.map((issue) => ({
    path: issue.path,
    message: issue.message,
  }));
  throw new ValidationError(`[keel] invalid ${what}: ${describeIssues(issues)}`, { issues });
}

/** One line describing validation issues, e.g. `at params.lr: expected number`. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .slice(0, 5)
    .map(
      (issue) =>
        (issue.path.length ? `at ${issue.path.map(String).join('.')}: ` : '') + issue.message,
    )
    .join('; ');
}

/**
 * Finds an own `__proto__` key (JSON.parse creates them) anywhere in plain data. zod's
 * records silently drop such keys; keel refuses them instead, so nothing is lost quietly.
 */
function findProtoKey(
  value: unknown,
  path: PropertyKey[],
  depth: number,
): PropertyKey[] | undefined {
  if (typeof value !== 'object' || value === null || depth > 64 || ArrayBuffer.isView(value))
    return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) {
        const found = findProtoKey(item, [...path, i], depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  if (Object.hasOwn(value, '__proto__')) return [...path, '__proto__'];
  for (const [key, item] of Object.entries(value)) {
    const found = findProtoKey(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

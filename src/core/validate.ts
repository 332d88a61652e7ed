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
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
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
    .map((issue) => (issue.path.length ? `at ${issue.path.map(String).join('.')}: ` : '') + issue.message)
    .join('; ');
}

/**
 * @module
 * The zod schema of a filter expression tree, so that `printFilter` and `matchesFilter` check
 * a tree a caller built by hand before walking it.
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { COMPARISON_OPERATORS, FIELD_KINDS, type FilterExpr } from './ast.js';

const field = z.strictObject({ kind: z.enum(FIELD_KINDS), key: z.string() });
const value = z.union([z.string(), z.number()]);

const exprSchema: z.ZodType<FilterExpr> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('and'), clauses: z.array(exprSchema) }),
    z.strictObject({ type: z.literal('or'), clauses: z.array(exprSchema) }),
    z.strictObject({
      type: z.literal('comparison'),
      field,
      op: z.enum(COMPARISON_OPERATORS),
      value,
    }),
    z.strictObject({
      type: z.literal('like'),
      field,
      caseInsensitive: z.boolean(),
      pattern: z.string(),
    }),
    z.strictObject({ type: z.literal('in'), field, negated: z.boolean(), values: z.array(value) }),
  ]),
) as z.ZodType<FilterExpr>;

/**
 * Checks a filter expression tree (as `parseFilter` returns).
 *
 * @throws {ValidationError} when it is not one.
 */
export function checkFilterExpr(expr: unknown): FilterExpr {
  return parseWith(exprSchema, expr, 'filter expression');
}

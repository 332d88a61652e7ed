/**
 * @module
 * Prints a filter AST back to filter text that parses to the same AST (the parser's
 * round-trip property), e.g. to show users the normalized form of their filter.
 */
import type { FieldRef, FilterExpr, FilterValue } from './ast.js';
import { checkFilterExpr } from './schema.js';
import { BARE_KEY } from './tokenizer.js';

/**
 * Writes `expr` as filter text.
 *
 * @example
 * ```ts
 * printFilter(parseFilter('metrics.acc>0.9 AND tags.team=\'ml\'')!) // "metrics.acc > 0.9 and tags.team = 'ml'"
 * ```
 *
 * @throws {ValidationError} when `expr` is not a filter expression.
 */
export function printFilter(expr: FilterExpr): string {
  return printExpr(checkFilterExpr(expr));
}

/** {@link printFilter} on an expression already checked. */
export function printExpr(expr: FilterExpr): string {
  switch (expr.type) {
    case 'and':
      // a nested and/or is always parenthesized, so the parser rebuilds the same tree
      return expr.clauses
        .map((c) => (c.type === 'and' || c.type === 'or' ? `(${printExpr(c)})` : printExpr(c)))
        .join(' and ');
    case 'or':
      return expr.clauses
        .map((c) => (c.type === 'or' || c.type === 'and' ? `(${printExpr(c)})` : printExpr(c)))
        .join(' or ');
    case 'comparison':
      return `${printField(expr.field)} ${expr.op} ${printValue(expr.value)}`;
    case 'like':
      return `${printField(expr.field)} ${expr.caseInsensitive ? 'ilike' : 'like'} ${printValue(expr.pattern)}`;
    case 'in':
      return `${printField(expr.field)} ${expr.negated ? 'not in' : 'in'} (${expr.values.map(printValue).join(', ')})`;
  }
}

/** Writes a field, backticking keys that are not bare (letters, digits, `_ - / :`). */
export function printField(field: FieldRef): string {
  const key = BARE_KEY.test(field.key) ? field.key : `\`${field.key.replaceAll('`', '``')}\``;
  return `${field.kind}.${key}`;
}

/** Writes a literal: numbers in their shortest form, strings single-quoted (`''` escapes a quote). */
export function printValue(value: FilterValue): string {
  return typeof value === 'number' ? String(value) : `'${value.replaceAll("'", "''")}'`;
}

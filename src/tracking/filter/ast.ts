/**
 * @module
 * The typed AST of the run filter language: what the parser produces, the evaluator
 * runs, the printer writes back, and a SQL backend can translate.
 */

/** The namespaces a filter can address. */
export const FIELD_KINDS = ['metrics', 'params', 'tags', 'attributes'] as const;
/** A field namespace: `metrics`, `params`, `tags` or `attributes`. */
export type FieldKind = (typeof FIELD_KINDS)[number];

/**
 * The run attributes a filter (or an order) can address, as `attributes.<name>` or by the
 * bare name (`parent_run_id = '...'`).
 */
export const ATTRIBUTE_KEYS = [
  'status',
  'name',
  'start_time',
  'end_time',
  'run_id',
  'parent_run_id',
] as const;
/** One of {@link ATTRIBUTE_KEYS}. */
export type AttributeKey = (typeof ATTRIBUTE_KEYS)[number];

/**
 * A field: `metrics.<key>`, `params.<key>`, `tags.<key>` or `attributes.<attribute>` (an
 * attribute written by its bare name parses to the same field).
 */
export interface FieldRef {
  kind: FieldKind;
  key: string;
}

/** A literal: a finite number or a string. */
export type FilterValue = string | number;

/** The comparison operators. */
export const COMPARISON_OPERATORS = ['=', '!=', '<', '<=', '>', '>='] as const;
/** One of {@link COMPARISON_OPERATORS}. */
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** `field <op> value`. */
export interface ComparisonExpr {
  type: 'comparison';
  field: FieldRef;
  op: ComparisonOperator;
  value: FilterValue;
}

/** `field like 'pattern'` (`caseInsensitive` for `ilike`); `%` any run, `_` one character. */
export interface LikeExpr {
  type: 'like';
  field: FieldRef;
  caseInsensitive: boolean;
  pattern: string;
}

/** `field in (v, ...)`, or `field not in (...)` when `negated`. */
export interface InExpr {
  type: 'in';
  field: FieldRef;
  negated: boolean;
  values: FilterValue[];
}

/** Every clause holds (two or more clauses). */
export interface AndExpr {
  type: 'and';
  clauses: FilterExpr[];
}

/** At least one clause holds (two or more clauses). */
export interface OrExpr {
  type: 'or';
  clauses: FilterExpr[];
}

/** A parsed filter. */
export type FilterExpr = AndExpr | OrExpr | ComparisonExpr | LikeExpr | InExpr;

/** The fields whose values are strings only (`like` applies, numbers do not). */
export function isStringAttribute(key: string): boolean {
  return key === 'status' || key === 'name' || key === 'run_id' || key === 'parent_run_id';
}

/** The attributes holding times (milliseconds since the epoch, or ISO-8601 strings in filters). */
export function isTimeAttribute(key: string): boolean {
  return key === 'start_time' || key === 'end_time';
}

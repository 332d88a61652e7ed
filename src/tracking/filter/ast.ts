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
  /** Which part of a run the field reads: metrics, params, tags or attributes. */
  kind: FieldKind;
  /** The name within that part, e.g. `auc` for `metrics.auc`. */
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
  /** Selects this node. */
  type: 'comparison';
  /** The field compared. */
  field: FieldRef;
  /** The comparison operator. */
  op: ComparisonOperator;
  /** The literal it is compared with. */
  value: FilterValue;
}

/** `field like 'pattern'` (`caseInsensitive` for `ilike`); `%` any run, `_` one character. */
export interface LikeExpr {
  /** Selects this node. */
  type: 'like';
  /** The field matched. */
  field: FieldRef;
  /** `true` for `ilike`. */
  caseInsensitive: boolean;
  /** The pattern, with `%` (any run of characters) and `_` (one character). */
  pattern: string;
}

/** `field in (v, ...)`, or `field not in (...)` when `negated`. */
export interface InExpr {
  /** Selects this node. */
  type: 'in';
  /** The field tested. */
  field: FieldRef;
  /** `true` for `not in`. */
  negated: boolean;
  /** The literals of the list. */
  values: FilterValue[];
}

/** Every clause holds (two or more clauses). */
export interface AndExpr {
  /** Selects this node. */
  type: 'and';
  /** Every clause must hold. */
  clauses: FilterExpr[];
}

/** At least one clause holds (two or more clauses). */
export interface OrExpr {
  /** Selects this node. */
  type: 'or';
  /** At least one clause must hold. */
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

/**
 * @module
 * The pure evaluator of filter ASTs against runs. It defines the semantics a SQL backend
 * must reproduce: a clause on a missing value is false (also `!=` and `not in`), NaN
 * compares like IEEE-754 (only `!=` holds), strings compare by UTF-16 code units.
 */

import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import type { Run } from '../types.js';
import type { ComparisonOperator, FieldRef, FilterExpr, FilterValue } from './ast.js';
import { likeMatcher } from './like.js';
import { checkFilterExpr } from './schema.js';

/** A value a field can hold for one run: a number, a string, a boolean, or absent. */
export type FieldValue = number | string | boolean | undefined;

/**
 * True when `run` satisfies `expr`; an `undefined` filter matches every run.
 *
 * @example
 * ```ts
 * matchesFilter(parseFilter('metrics.acc >= 0.9'), run)
 * ```
 *
 * @throws {ValidationError} when `expr` is not a filter expression or `run` is not a run.
 */
export function matchesFilter(expr: FilterExpr | undefined, run: Run): boolean {
  const checked = expr === undefined ? undefined : checkFilterExpr(expr);
  parseWith(runShape, run, 'run');
  return filterPredicate(checked, runField)(run);
}

const runShape = z.looseObject({
  id: z.string(),
  status: z.string(),
  metrics: z.record(z.string(), z.looseObject({ value: z.unknown() })),
  params: z.record(z.string(), z.unknown()),
  tags: z.record(z.string(), z.string()),
});

/**
 * Compiles `expr` into a test of rows of any kind (a run, a row of a search snapshot's
 * columns), with the semantics of {@link matchesFilter}: `read(field)` gives the function
 * that reads `field` of a row. A scan compiles once and tests every row with it.
 */
export function filterPredicate<R>(
  expr: FilterExpr | undefined,
  read: (field: FieldRef) => (row: R) => FieldValue,
): (row: R) => boolean {
  if (expr === undefined) return () => true;
  switch (expr.type) {
    case 'and': {
      const clauses = expr.clauses.map((clause) => filterPredicate(clause, read));
      return (row) => {
        for (const clause of clauses) if (!clause(row)) return false;
        return true;
      };
    }
    case 'or': {
      const clauses = expr.clauses.map((clause) => filterPredicate(clause, read));
      return (row) => {
        for (const clause of clauses) if (clause(row)) return true;
        return false;
      };
    }
    case 'comparison': {
      const { field, op, value } = expr;
      const get = read(field);
      return (row) => {
        const actual = get(row);
        return actual !== undefined && compare(field, actual, op, value);
      };
    }
    case 'in': {
      const { field, values, negated } = expr;
      const get = read(field);
      return (row) => {
        const actual = get(row);
        if (actual === undefined) return false;
        let found = false;
        for (const value of values) {
          if (compare(field, actual, '=', value)) {
            found = true;
            break;
          }
        }
        return negated ? !found : found;
      };
    }
    case 'like': {
      const get = read(expr.field);
      const matches = likeMatcher(expr.pattern, expr.caseInsensitive);
      return (row) => {
        const actual = get(row);
        return actual !== undefined && matches(String(actual));
      };
    }
  }
}

/** Reads `field` of a run (for {@link filterPredicate} over runs). */
export function runField(field: FieldRef): (run: Run) => FieldValue {
  return (run) => fieldValue(run, field);
}

/**
 * The value of `field` for `run`: the latest metric value, the param, the tag, or the
 * attribute (times as milliseconds since the epoch).
 */
export function fieldValue(run: Run, field: FieldRef): FieldValue {
  switch (field.kind) {
    case 'metrics':
      return Object.hasOwn(run.metrics, field.key) ? run.metrics[field.key]!.value : undefined;
    case 'params':
      return Object.hasOwn(run.params, field.key) ? run.params[field.key] : undefined;
    case 'tags':
      return Object.hasOwn(run.tags, field.key) ? run.tags[field.key] : undefined;
    case 'attributes':
      switch (field.key) {
        case 'status':
          return run.status;
        case 'name':
          return run.name;
        case 'run_id':
          return run.id;
        case 'parent_run_id':
          return run.parentRunId;
        case 'start_time':
          return startTime(run);
        case 'end_time':
          return run.endTime === undefined ? undefined : Date.parse(run.endTime);
      }
      return undefined;
  }
}

/**
 * Parsed start times by run object: `Date.parse` was most of the cost of a search ordered by
 * start time (the default) over many runs. A run's start time never changes, and an updated run
 * is a new object in the index.
 */
const startTimes = new WeakMap<Run, number>();

function startTime(run: Run): number {
  let time = startTimes.get(run);
  if (time === undefined) {
    time = Date.parse(run.startTime);
    startTimes.set(run, time);
  }
  return time;
}

function compare(
  field: FieldRef,
  actual: number | string | boolean,
  op: ComparisonOperator,
  literal: FilterValue,
): boolean {
  if (field.kind === 'attributes' && (field.key === 'start_time' || field.key === 'end_time')) {
    return compareValues(
      actual as number,
      op,
      typeof literal === 'number' ? literal : Date.parse(literal),
    );
  }
  if (typeof literal === 'number') {
    if (typeof actual === 'number') return compareValues(actual, op, literal);
    // a param logged as a numeric string still compares as a number
    if (typeof actual === 'string' && actual.trim() !== '') {
      const parsed = Number(actual);
      if (Number.isFinite(parsed)) return compareValues(parsed, op, literal);
    }
    return false;
  }
  // a string literal compares with a param's string form, as MLflow params are strings
  return compareValues(typeof actual === 'string' ? actual : String(actual), op, literal);
}

/** Numbers compare numerically, strings by UTF-16 code units: the same operators for both. */
function compareValues<T extends number | string>(a: T, op: ComparisonOperator, b: T): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/**
 * @module
 * The scan behind `searchRuns`: the runs matching a query, best first, keeping only the first
 * `keep` in order as it goes. Runs held whole and rows of a search snapshot (read through the
 * columns the query needs) go through the same filter and order semantics.
 */
import type { FieldRef, FilterExpr } from './filter/ast.js';
import { type FieldValue, filterPredicate, runField } from './filter/evaluate.js';
import { compareSortValues, type OrderKey, sortValues } from './order.js';
import { type Column, columnName, EXPERIMENT_COLUMN } from './search-columns.js';
import type { SearchBase } from './search-snapshot.js';
import type { Run } from './types.js';

/** What a scan looks for. */
export interface ScanQuery {
  /** Only runs of this experiment. */
  experiment?: string;
  /** Only runs matching this filter. */
  filter?: FilterExpr;
  /** The order (with the run id as last key). */
  keys: readonly OrderKey[];
  /** Only runs ordered strictly after these sort values (a cursor). */
  after?: readonly FieldValue[];
  /** How many of the first matches to keep. */
  keep: number;
}

/** A match: a run held whole, or a snapshot row (whose run is read afterwards). */
export type ScanHit = { run: Run } | { row: number };

/** The first `keep` matches in order, kept while scanning. */
export class TopRows {
  /** The matches kept so far, in order. */
  readonly rows: { hit: ScanHit; values: FieldValue[] }[] = [];

  constructor(private readonly query: ScanQuery) {}

  /** Offers a match with its sort values; it is kept when it is among the first `keep`. */
  offer(hit: ScanHit, values: FieldValue[]): void {
    const { keys, after, keep } = this.query;
    const rows = this.rows;
    if (after !== undefined && compareSortValues(values, after, keys) <= 0) return;
    if (rows.length === keep && compareSortValues(values, rows[keep - 1]!.values, keys) >= 0)
      return;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSortValues(rows[mid]!.values, values, keys) <= 0) lo = mid + 1;
      else hi = mid;
    }
    rows.splice(lo, 0, { hit, values });
    if (rows.length > keep) rows.pop();
  }
}

/** Offers every run of `runs` that matches the query. */
export function scanRuns(runs: readonly Run[], query: ScanQuery, top: TopRows): void {
  const matches = filterPredicate(query.filter, runField);
  // newest first (runs are held in the order they were met): the default order fills the
  // page at once and rejects every older run in one compare
  for (let i = runs.length - 1; i >= 0; i--) {
    const run = runs[i]!;
    if (query.experiment !== undefined && run.experiment !== query.experiment) continue;
    if (!matches(run)) continue;
    top.offer({ run }, sortValues(run, query.keys));
  }
}

/**
 * Offers every row of `base` not superseded that matches the query, reading only the
 * columns the query needs (loaded first).
 * @throws {SnapshotGone} when a column's document was removed (as {@link SearchBase.column}).
 * @throws {IntegrityError} when a column is damaged.
 */
export async function scanBase(base: SearchBase, query: ScanQuery, top: TopRows): Promise<void> {
  const fields = new Map<FieldRef, Column>();
  const idColumn: Column = { at: (row) => base.idAt(row) };
  const need = async (field: FieldRef): Promise<void> => {
    if (fields.has(field)) return;
    fields.set(
      field,
      field.kind === 'attributes' && field.key === 'run_id'
        ? idColumn
        : await base.column(columnName(field)),
    );
  };
  for (const field of filterFields(query.filter)) await need(field);
  for (const key of query.keys) await need(key.field);
  let experimentCode = -1;
  let experiments: Column | undefined;
  if (query.experiment !== undefined) {
    experiments = await base.column(EXPERIMENT_COLUMN);
    experimentCode = experiments.codeOf?.(query.experiment) ?? 0;
    if (experimentCode === 0) return;
  }
  const matches = filterPredicate(query.filter, (field) => {
    const column = fields.get(field)!;
    return (row: number) => column.at(row);
  });
  const sortColumns = query.keys.map((key) => fields.get(key.field)!);
  const superseded = base.superseded;
  for (let row = base.count - 1; row >= 0; row--) {
    if (superseded[row] !== 0) continue;
    if (experiments !== undefined && experiments.codeAt?.(row) !== experimentCode) continue;
    if (!matches(row)) continue;
    top.offer(
      { row },
      sortColumns.map((column) => column.at(row)),
    );
  }
}

/** Every field object a filter reads. */
function filterFields(expr: FilterExpr | undefined): FieldRef[] {
  if (expr === undefined) return [];
  if (expr.type === 'and' || expr.type === 'or') return expr.clauses.flatMap(filterFields);
  return [expr.field];
}

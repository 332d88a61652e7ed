/**
 * @module
 * `orderBy` of searchRuns: parsing entries like `metrics.acc desc`, and the total order
 * of runs (NaN, then missing values, last in either direction; the run id as the final
 * tie-breaker).
 */
import { ValidationError } from '../core/errors.js';
import type { FieldRef } from './filter/ast.js';
import { filterError } from './filter/errors.js';
import { type FieldValue, fieldValue } from './filter/evaluate.js';
import { describe, parseFieldToken } from './filter/parser.js';
import { tokenize } from './filter/tokenizer.js';
import type { Run } from './types.js';

/** One sort key. */
export interface OrderKey {
  field: FieldRef;
  descending: boolean;
}

/** Most `orderBy` entries accepted. */
export const MAX_ORDER_KEYS = 16;

const RUN_ID: FieldRef = { kind: 'attributes', key: 'run_id' };

/**
 * Parses `orderBy` entries (`<field> [asc|desc]`, ascending by default) and completes
 * them with the run id as the final tie-breaker. No entries: start time descending,
 * then run id descending (newest first).
 */
export function parseOrderBy(entries: readonly string[] | undefined): OrderKey[] {
  if (entries === undefined || entries.length === 0) {
    return [
      { field: { kind: 'attributes', key: 'start_time' }, descending: true },
      { field: RUN_ID, descending: true },
    ];
  }
  if (!Array.isArray(entries) || entries.length > MAX_ORDER_KEYS) {
    throw new ValidationError(
      `[keel] invalid orderBy: pass an array of at most ${MAX_ORDER_KEYS} entries like 'metrics.acc desc'`,
    );
  }
  const keys = entries.map((entry, index) => parseOrderEntry(entry, index));
  if (!keys.some((key) => key.field.kind === 'attributes' && key.field.key === 'run_id')) {
    keys.push({ field: RUN_ID, descending: false });
  }
  return keys;
}

/** The values of `keys` for `run`, in order (what a cursor records). */
export function sortValues(run: Run, keys: readonly OrderKey[]): FieldValue[] {
  return keys.map((key) => fieldValue(run, key.field));
}

/** Compares two runs' sort values under `keys`: negative when `a` comes first. */
export function compareSortValues(
  a: readonly FieldValue[],
  b: readonly FieldValue[],
  keys: readonly OrderKey[],
): number {
  for (let i = 0; i < keys.length; i++) {
    const x = a[i];
    const y = b[i];
    // NaN after every other value, missing after NaN: in both directions, as MLflow orders
    const tierX = tier(x);
    const tierY = tier(y);
    if (tierX !== tierY) return tierX - tierY;
    if (tierX !== 0) continue;
    const order = compareDefined(x!, y!);
    if (order !== 0) return keys[i]!.descending ? -order : order;
  }
  return 0;
}

/** 0 for a value that orders by direction, 1 for NaN, 2 for missing. */
function tier(value: FieldValue): number {
  if (value === undefined) return 2;
  return typeof value === 'number' && Number.isNaN(value) ? 1 : 0;
}

/** Orders values other than NaN: numbers, then strings, then booleans. */
function compareDefined(a: number | string | boolean, b: number | string | boolean): number {
  const rankA = RANK[typeof a as 'number'];
  const rankB = RANK[typeof b as 'number'];
  if (rankA !== rankB) return rankA - rankB;
  return a < b ? -1 : a > b ? 1 : 0;
}

const RANK = { number: 0, string: 1, boolean: 2 } as const;

function parseOrderEntry(entry: unknown, index: number): OrderKey {
  const what = `orderBy[${index}]`;
  if (typeof entry !== 'string' || entry.length > 2000) {
    throw new ValidationError(`[keel] invalid ${what}: pass a string like 'metrics.acc desc'`);
  }
  const tokens = tokenize(entry);
  const field = parseFieldToken(tokens[0]!, what);
  let next = tokens[1]!;
  let descending = false;
  if (next.type === 'word' && (next.value === 'asc' || next.value === 'desc')) {
    descending = next.value === 'desc';
    next = tokens[2]!;
  }
  if (next.type !== 'end')
    throw filterError(next.column, "'asc', 'desc' or the end of the entry", describe(next), what);
  return { field, descending };
}

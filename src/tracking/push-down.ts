/**
 * @module
 * The tracker's search as a store query (ADR 0020): its filter AST and sort keys translated
 * into a {@link DocumentQuery} over the run documents, for stores that run queries
 * themselves (`capabilities.queryDocuments`, e.g. PostgreSQL), and the search that reads its
 * pages while the search cache is not loaded (the first search of a process). The filter becomes a
 * **superset** of what it matches (whatever the query language cannot say exactly, such as
 * `ilike` or a number compared with a string, widens to "maybe"), and the tracker re-checks
 * every returned run with its own evaluator, so the filter's semantics stay in one place
 * (`filter/evaluate.ts`). The order is translated exactly: the query language orders typed
 * values with the tracker's rules (NaN, then missing, last in either direction; numbers,
 * then strings, then booleans; strings by UTF-16 code units).
 *
 * Times are compared as the ISO-8601 strings the tracker stores (`toISOString`, years 0000 to
 * 9999), whose string order is their time order; a literal becomes the bound string.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import {
  type DocumentPredicate,
  type DocumentQuery,
  MAX_QUERY_LIMIT,
  type QueryComparison,
  type QueryOrderKey,
  type QueryTerm,
} from '../metadata/query.js';
import type { FieldRef, FilterExpr, FilterValue } from './filter/ast.js';
import { matchesFilter } from './filter/evaluate.js';
import { compareSortValues, type OrderKey, sortValues } from './order.js';
import { runFromJson, trackingKeys } from './records.js';
import type { SearchHit } from './run-index.js';
import type { TrackerContext } from './run-store.js';
import { type ScanQuery, TopRows } from './search-scan.js';
import type { Run } from './types.js';

const TRUE: DocumentPredicate = { all: [] };
const FALSE: DocumentPredicate = { any: [] };

/** The earliest and latest instants written as `YYYY-MM-DDTHH:mm:ss.sssZ`. */
const FIRST_TIME = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * The first `query.keep` matches of a search, in order, from store queries, when the store
 * runs queries and the search cache is not loaded yet; `undefined` otherwise, and when the
 * store fails the query (a value the database cannot convert, a timeout): the cache answers
 * then. The query returns a superset of the matches in the search's exact order, so pages are
 * read until `keep` matches after the cursor are in hand; each run is re-checked by the
 * tracker's evaluator.
 */
export async function searchInStore(
  ctx: TrackerContext,
  query: ScanQuery,
): Promise<SearchHit[] | undefined> {
  const { metadata, index } = ctx;
  if (metadata.capabilities?.queryDocuments !== true || metadata.queryDocuments === undefined)
    return undefined;
  if (index.loaded) return undefined;
  const { experiment, filter, keys, after, keep } = query;
  const base = searchQuery(experiment, filter, keys);
  const top = new TopRows(query);
  const seen = new Set<string>();
  let matched = 0;
  let offset = 0;
  let limit = Math.min(MAX_QUERY_LIMIT, keep + 16);
  try {
    for (;;) {
      const docs = await metadata.queryDocuments({ ...base, offset, limit });
      for (const { key, value } of docs) {
        let run: Run;
        try {
          run = runFromJson(key, value).run;
        } catch (error) {
          if (!isKeelError(error, ErrorCodes.integrity)) throw error;
          index.reportCorrupt({ key, reason: error.message });
          continue;
        }
        // a run that moved between two pages' statements is met twice
        if (seen.has(run.id)) continue;
        seen.add(run.id);
        if (experiment !== undefined && run.experiment !== experiment) continue;
        if (!matchesFilter(filter, run)) continue;
        const values = sortValues(run, keys);
        top.offer({ run }, values);
        if (after !== undefined && compareSortValues(values, after, keys) <= 0) continue;
        // every later match orders after the `keep` in hand
        if (++matched === keep) return hits(top);
      }
      if (docs.length < limit) return hits(top);
      offset += docs.length;
      limit = Math.min(MAX_QUERY_LIMIT, limit * 4);
    }
  } catch (error) {
    if (isKeelError(error)) return undefined;
    throw error;
  }
}

function hits(top: TopRows): SearchHit[] {
  return top.rows.map(({ hit, values }) => ({ run: (hit as { run: Run }).run, values }));
}

/**
 * The store query of a search, without `limit` and `offset`: the run documents of
 * `experiment` (all when undefined) that may match `filter`, ordered by `keys`.
 */
export function searchQuery(
  experiment: string | undefined,
  filter: FilterExpr | undefined,
  keys: readonly OrderKey[],
): Omit<DocumentQuery, 'limit'> {
  const clauses: DocumentPredicate[] = [];
  if (experiment !== undefined && wholeCharacters(experiment)) {
    clauses.push({ term: { path: ['experiment'], type: 'string' }, op: '=', value: experiment });
  }
  if (filter !== undefined) clauses.push(translate(filter).predicate);
  const orderBy: QueryOrderKey[] = keys.map((key) => ({
    terms: termsOf(key.field),
    descending: key.descending,
  }));
  return { prefix: trackingKeys.runsPrefix, where: { all: clauses }, orderBy };
}

/** The document terms a field reads, in the tracker's rank order. */
function termsOf(field: FieldRef): QueryTerm[] {
  switch (field.kind) {
    case 'metrics':
      // stored as [value, step, timestamp], non-finite values as strings
      return [{ path: ['metrics', field.key, '0'], type: 'float' }];
    case 'params':
    case 'tags': {
      const path = [field.kind, field.key];
      return [
        { path, type: 'number' },
        { path, type: 'string' },
        { path, type: 'boolean' },
      ];
    }
    case 'attributes':
      return [{ path: [ATTRIBUTE_PATHS[field.key] ?? field.key], type: 'string' }];
  }
}

/** Where each attribute lives in a run document. */
const ATTRIBUTE_PATHS: Record<string, string> = {
  status: 'status',
  name: 'name',
  run_id: 'id',
  parent_run_id: 'parentRunId',
  start_time: 'startTime',
  end_time: 'endTime',
};

/** A translated clause; `exact` when it holds exactly when the tracker's clause does. */
interface Translated {
  predicate: DocumentPredicate;
  exact: boolean;
}

const MAYBE: Translated = { predicate: TRUE, exact: false };

function translate(expr: FilterExpr): Translated {
  switch (expr.type) {
    case 'and': {
      const parts = expr.clauses.map(translate);
      return {
        predicate: { all: parts.map((p) => p.predicate) },
        exact: parts.every((p) => p.exact),
      };
    }
    case 'or': {
      const parts = expr.clauses.map(translate);
      return {
        predicate: { any: parts.map((p) => p.predicate) },
        exact: parts.every((p) => p.exact),
      };
    }
    case 'comparison':
      return comparison(expr.field, expr.op, expr.value);
    case 'in': {
      const equals = expr.values.map((value) => comparison(expr.field, '=', value));
      const anyEqual: DocumentPredicate = { any: equals.map((e) => e.predicate) };
      const exact = equals.every((e) => e.exact);
      if (!expr.negated) return { predicate: anyEqual, exact };
      // `not in` holds for a present value equal to none; negating a superset is not one
      if (!exact) return MAYBE;
      return { predicate: { all: [present(expr.field), { not: anyEqual }] }, exact: true };
    }
    case 'like': {
      // `ilike` folds case per code point as JavaScript does, which SQL cannot: maybe
      if (expr.caseInsensitive || !wholeCharacters(expr.pattern)) return MAYBE;
      // a metric or a time matches by the string form of its number: maybe
      if (expr.field.kind === 'metrics' || isTime(expr.field)) return MAYBE;
      if (expr.field.kind === 'attributes') {
        return { predicate: { term: termsOf(expr.field)[0]!, like: expr.pattern }, exact: true };
      }
      const [number, string, boolean] = termsOf(expr.field);
      // a number or boolean param matches by its string form: maybe
      return {
        predicate: {
          any: [
            { term: string!, like: expr.pattern },
            { term: number!, exists: true },
            { term: boolean!, exists: true },
          ],
        },
        exact: false,
      };
    }
  }
}

/** The tracker's `field op literal` (see `compare` in filter/evaluate.ts). */
function comparison(field: FieldRef, op: QueryComparison, literal: FilterValue): Translated {
  if (isTime(field)) {
    const ms = typeof literal === 'number' ? literal : Date.parse(literal);
    return { predicate: timeComparison(termsOf(field)[0]!, op, ms), exact: true };
  }
  if (typeof literal === 'string' && !wholeCharacters(literal)) return MAYBE;
  if (field.kind === 'metrics') {
    if (typeof literal === 'string') return MAYBE; // compared with String(value)
    return { predicate: { term: termsOf(field)[0]!, op, value: literal }, exact: true };
  }
  if (field.kind === 'attributes') {
    const [string] = termsOf(field);
    if (typeof literal === 'number')
      return { predicate: { term: string!, exists: true }, exact: false };
    return { predicate: { term: string!, op, value: literal }, exact: true };
  }
  const [number, string, boolean] = termsOf(field);
  if (typeof literal === 'number') {
    // a numeric string compares as the number it spells: maybe
    return {
      predicate: {
        any: [
          { term: number!, op, value: literal },
          { term: string!, exists: true },
        ],
      },
      exact: false,
    };
  }
  // a number or boolean compares by its string form: maybe
  return {
    predicate: {
      any: [
        { term: string!, op, value: literal },
        { term: number!, exists: true },
        { term: boolean!, exists: true },
      ],
    },
    exact: false,
  };
}

/**
 * `time op ms` on a stored ISO-8601 string: the whole milliseconds it can hold turn the
 * literal into a bound, written the way the tracker writes times.
 */
function timeComparison(term: QueryTerm, op: QueryComparison, ms: number): DocumentPredicate {
  const exists: DocumentPredicate = { term, exists: true };
  if (Number.isNaN(ms)) return op === '!=' ? exists : FALSE;
  const bound = (at: number, cmp: '>=' | '<='): DocumentPredicate => {
    if (cmp === '>=' ? at <= FIRST_TIME : at >= LAST_TIME) return exists;
    if (cmp === '>=' ? at > LAST_TIME : at < FIRST_TIME) return FALSE;
    return { term, op: cmp, value: new Date(at).toISOString() };
  };
  const whole = Number.isInteger(ms) && ms >= FIRST_TIME && ms <= LAST_TIME;
  switch (op) {
    case '>':
      return bound(Math.floor(ms) + 1, '>=');
    case '>=':
      return bound(Math.ceil(ms), '>=');
    case '<':
      return bound(Math.ceil(ms) - 1, '<=');
    case '<=':
      return bound(Math.floor(ms), '<=');
    case '=':
      return whole ? { term, op: '=', value: new Date(ms).toISOString() } : FALSE;
    case '!=':
      return whole ? { term, op: '!=', value: new Date(ms).toISOString() } : exists;
  }
}

function present(field: FieldRef): DocumentPredicate {
  return { any: termsOf(field).map((term) => ({ term, exists: true })) };
}

function isTime(field: FieldRef): boolean {
  return field.kind === 'attributes' && (field.key === 'start_time' || field.key === 'end_time');
}

/** Strings the query language accepts (no lone surrogates, not too long). */
function wholeCharacters(value: string): boolean {
  return value.length <= 1024 && !/\p{Cs}/u.test(value);
}

// experiments/search: MLflow's experiment filter (name, creation_time, last_update_time, tags), order_by and page tokens, over the experiments in memory.

import { invalidParameter } from './errors.js';
import type { MlflowExperiment } from './experiments.js';
import { optionalEnum, optionalInt64, optionalString, stringList } from './fields.js';
import {
  likeMatch,
  type MlflowClause,
  type MlflowOrderKey,
  parseMlflowFilter,
  parseMlflowOrderBy,
} from './filter.js';
import type { MlflowFields } from './route.js';

/** MLflow's default and largest page of experiments. */
const DEFAULT_MAX_RESULTS = 1000;
const MAX_RESULTS = 50_000;

const NUMERIC = new Set(['creation_time', 'last_update_time']);
const STRING_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE']);
const NUMERIC_COMPARATORS = new Set(['=', '!=', '<', '<=', '>', '>=']);

/** A page of experiments and the token of the next one. */
export interface ExperimentPage {
  /** The experiments of the page, in order. */
  experiments: MlflowExperiment[];
  /** Present when more match: the `page_token` of the next page. */
  nextPageToken?: string;
}

/**
 * One page of `experiments` as `experiments/search` asks: `filter`, `order_by` (default
 * `creation_time DESC`, ties by `experiment_id`), `max_results`, `page_token`, `view_type`
 * (no experiment is ever deleted here: `DELETED_ONLY` finds none).
 *
 * @throws {MlflowApiError} (INVALID_PARAMETER_VALUE) for a malformed filter, order or token.
 */
export function searchExperiments(
  experiments: readonly MlflowExperiment[],
  fields: MlflowFields,
): ExperimentPage {
  const maxResults = optionalInt64(fields, 'max_results', 1) ?? DEFAULT_MAX_RESULTS;
  if (maxResults > MAX_RESULTS)
    throw invalidParameter(
      `Invalid value for max_results. It must be at most ${MAX_RESULTS}, but got ${maxResults}`,
    );
  const view = optionalEnum(fields, 'view_type', ['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'], {
    1: 'ACTIVE_ONLY',
    2: 'DELETED_ONLY',
    3: 'ALL',
  });
  const clauses = parseMlflowFilter(optionalString(fields, 'filter') ?? '').map(checkClause);
  const order = stringList(fields, 'order_by').map((entry) =>
    checkOrder(parseMlflowOrderBy(entry)),
  );
  const offset = decodePageToken(optionalString(fields, 'page_token'));
  const matching =
    view === 'DELETED_ONLY' ? [] : experiments.filter((e) => clauses.every((c) => matches(e, c)));
  const keys: MlflowOrderKey[] =
    order.length > 0 ? order : [{ entity: 'attribute', key: 'creation_time', descending: true }];
  matching.sort((a, b) => {
    for (const key of keys) {
      const x = sortValue(a, key.key);
      const y = sortValue(b, key.key);
      if (x !== y) return (x < y ? -1 : 1) * (key.descending ? -1 : 1);
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  const page = matching.slice(offset, offset + maxResults);
  const next = offset + maxResults;
  return next < matching.length
    ? { experiments: page, nextPageToken: encodePageToken(next) }
    : { experiments: page };
}

function checkClause(c: MlflowClause): MlflowClause {
  if (c.entity === 'tag') {
    if (!STRING_COMPARATORS.has(c.comparator) || typeof c.value !== 'string')
      throw invalidParameter(
        `Invalid clause on tags.${c.key}: tags compare with =, !=, LIKE or ILIKE and a quoted string`,
      );
    return c;
  }
  if (c.entity !== 'attribute' || !['name', ...NUMERIC].includes(c.key))
    throw invalidParameter(
      `Invalid attribute key '${c.key}' specified. Valid keys are '{'name', 'creation_time', 'last_update_time'}' and tags`,
    );
  const numeric = NUMERIC.has(c.key);
  const ok = numeric
    ? NUMERIC_COMPARATORS.has(c.comparator) && typeof c.value === 'number'
    : STRING_COMPARATORS.has(c.comparator) && typeof c.value === 'string';
  if (!ok)
    throw invalidParameter(
      numeric
        ? `Invalid clause on ${c.key}: compare it with =, !=, <, <=, > or >= and a number (milliseconds)`
        : `Invalid clause on ${c.key}: compare it with =, !=, LIKE or ILIKE and a quoted string`,
    );
  return c;
}

function checkOrder(key: MlflowOrderKey): MlflowOrderKey {
  if (
    key.entity !== 'attribute' ||
    !['name', 'experiment_id', 'creation_time', 'last_update_time'].includes(key.key)
  )
    throw invalidParameter(
      `Invalid order_by key '${key.key}': order experiments by name, experiment_id, creation_time or last_update_time`,
    );
  return key;
}

function matches(e: MlflowExperiment, c: MlflowClause): boolean {
  const lhs =
    c.entity === 'tag'
      ? Object.hasOwn(e.tags, c.key)
        ? e.tags[c.key]
        : undefined
      : c.key === 'name'
        ? e.name
        : c.key === 'creation_time'
          ? e.creationTime
          : e.lastUpdateTime;
  if (lhs === undefined) return false;
  return compare(lhs, c.comparator, c.value as string | number);
}

/** MLflow's comparison of a present value with a clause's value. */
export function compare(lhs: string | number, comparator: string, rhs: string | number): boolean {
  switch (comparator) {
    case '=':
      return lhs === rhs;
    case '!=':
      return lhs !== rhs;
    case '<':
      return lhs < rhs;
    case '<=':
      return lhs <= rhs;
    case '>':
      return lhs > rhs;
    case '>=':
      return lhs >= rhs;
    case 'LIKE':
      return likeMatch(String(lhs), String(rhs), false);
    case 'ILIKE':
      return likeMatch(String(lhs), String(rhs), true);
    default:
      return false;
  }
}

function sortValue(e: MlflowExperiment, key: string): string | number {
  return key === 'name'
    ? e.name
    : key === 'experiment_id'
      ? e.id
      : key === 'creation_time'
        ? e.creationTime
        : e.lastUpdateTime;
}

/** MLflow's page token: base64 of `{"offset": n}`. */
function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64');
}

function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  let offset: unknown;
  try {
    offset = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown })
      ?.offset;
  } catch {
    offset = undefined;
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
    throw invalidParameter(
      `Invalid page token '${token.slice(0, 100)}': pass next_page_token as returned`,
    );
  return offset;
}

// MLflow's run filter and order_by, translated into keel's search language (docs/search.md) with MLflow's meaning kept.
import { invalidParameter } from './errors.js';
import { compare } from './experiment-search.js';
import {
  type MlflowClause,
  type MlflowOrderKey,
  parseMlflowFilter,
  parseMlflowOrderBy,
} from './filter.js';
import { keelStatus, MLFLOW_RUN_STATUSES } from './mapping.js';

const NUMERIC_COMPARATORS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const STRING_COMPARATORS = new Set(['=', '!=', 'LIKE', 'ILIKE']);
const LIST_COMPARATORS = new Set(['IN', 'NOT IN']);

/** MLflow's aliases of run attributes, and the attribute each stands for. */
const ATTRIBUTE_ALIASES: Readonly<Record<string, string>> = {
  created: 'start_time',
  Created: 'start_time',
  'run name': 'run_name',
  'Run name': 'run_name',
  'Run Name': 'run_name',
};

/** keel's text for a key: always in backticks (a backtick inside doubled). */
function keelKey(prefix: 'metrics' | 'params' | 'tags', key: string): string {
  return `${prefix}.\`${key.replaceAll('`', '``')}\``;
}

/** keel's string literal. */
function keelString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function keelNumber(value: number): string {
  // String() of a finite number is within keel's number grammar (1e+21, 5e-7, -0.5)
  return String(value);
}

/** A clause no run matches: run ids are never empty. */
const NOTHING = "attributes.run_id = ''";

function comparatorError(c: MlflowClause, allowed: string): Error {
  return invalidParameter(
    `Invalid comparator '${c.comparator}' for ${c.entity} '${c.key}': use ${allowed}`,
  );
}

function stringClause(field: string, c: MlflowClause): string {
  if (LIST_COMPARATORS.has(c.comparator)) {
    const items = c.value as readonly string[];
    return `${field} ${c.comparator.toLowerCase()} (${items.map(keelString).join(', ')})`;
  }
  if (!STRING_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, LIKE or ILIKE');
  if (typeof c.value !== 'string')
    throw invalidParameter(
      `Expected a quoted string value for ${c.entity} '${c.key}' (e.g. 'my-value'). Got value ${String(c.value)}`,
    );
  return `${field} ${c.comparator.toLowerCase()} ${keelString(c.value)}`;
}

/** The statuses a status clause holds for, written as keel's `in` (MLflow compares the names). */
function statusClause(c: MlflowClause): string {
  if (!STRING_COMPARATORS.has(c.comparator) && !LIST_COMPARATORS.has(c.comparator))
    throw comparatorError(c, '=, !=, LIKE, ILIKE, IN or NOT IN');
  const holds = (name: string): boolean => {
    if (c.comparator === 'IN') return (c.value as readonly string[]).includes(name);
    if (c.comparator === 'NOT IN') return !(c.value as readonly string[]).includes(name);
    if (typeof c.value !== 'string')
      throw invalidParameter(`Expected a quoted string value for status. Got value ${c.value}`);
    return compare(name, c.comparator, c.value);
  };
  const keel = MLFLOW_RUN_STATUSES.filter((s) => s !== 'SCHEDULED' && holds(s)).map(keelStatus);
  return keel.length === 0
    ? NOTHING
    : `attributes.status in (${keel.map((s) => keelString(s)).join(', ')})`;
}

/** One MLflow clause in keel's language. */
function translateClause(c: MlflowClause): string {
  switch (c.entity) {
    case 'metric':
      if (!NUMERIC_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, <, <=, > or >=');
      if (typeof c.value !== 'number')
        throw invalidParameter(`Expected numeric value type for metric. Found ${String(c.value)}`);
      return `${keelKey('metrics', c.key)} ${c.comparator} ${keelNumber(c.value)}`;
    case 'parameter':
      if (LIST_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, LIKE or ILIKE');
      return stringClause(keelKey('params', c.key), c);
    case 'tag':
      if (LIST_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, LIKE or ILIKE');
      return stringClause(keelKey('tags', c.key), c);
    case 'dataset':
      throw invalidParameter(
        `keel does not search runs by dataset (dataset.${c.key}): filter on params, metrics, tags or attributes`,
      );
    case 'attribute':
      return translateAttribute(c, ATTRIBUTE_ALIASES[c.key] ?? c.key);
  }
}

function translateAttribute(c: MlflowClause, key: string): string {
  switch (key) {
    case 'start_time':
    case 'end_time':
      if (!NUMERIC_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, <, <=, > or >=');
      if (typeof c.value !== 'number')
        throw invalidParameter(
          `Expected numeric value type for numeric attribute: ${c.key}. Found ${String(c.value)}`,
        );
      return `attributes.${key} ${c.comparator} ${keelNumber(c.value)}`;
    case 'status':
      return statusClause(c);
    case 'run_id':
      return stringClause('attributes.run_id', c);
    case 'run_name':
      if (LIST_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, LIKE or ILIKE');
      return stringClause('attributes.name', c);
    case 'user_id':
      if (LIST_COMPARATORS.has(c.comparator)) throw comparatorError(c, '=, !=, LIKE or ILIKE');
      return stringClause(keelKey('tags', 'mlflow.user'), c);
    default:
      throw invalidParameter(
        `Invalid attribute key '${c.key}' specified. Valid keys are 'run_id', 'run_name', 'status', 'start_time', 'end_time', 'user_id'`,
      );
  }
}

/**
 * An MLflow run filter as a keel filter (clauses joined by `and`).
 *
 * @throws {MlflowApiError} (INVALID_PARAMETER_VALUE) when the filter does not parse, or compares
 *   an entity in a way MLflow refuses or keel cannot search (datasets, `artifact_uri`).
 */
export function translateRunFilter(filter: string): string {
  return parseMlflowFilter(filter).map(translateClause).join(' and ');
}

/** One MLflow `order_by` entry as keel's, or `undefined` when it orders nothing here. */
function translateOrderKey(key: MlflowOrderKey): string | undefined {
  const dir = key.descending ? ' desc' : ' asc';
  switch (key.entity) {
    case 'metric':
      return keelKey('metrics', key.key) + dir;
    case 'parameter':
      return keelKey('params', key.key) + dir;
    case 'tag':
      return keelKey('tags', key.key) + dir;
    case 'dataset':
      throw invalidParameter(`keel does not order runs by dataset (dataset.${key.key})`);
    case 'attribute':
      break;
  }
  switch (ATTRIBUTE_ALIASES[key.key] ?? key.key) {
    case 'start_time':
      return `attributes.start_time${dir}`;
    case 'end_time':
      return `attributes.end_time${dir}`;
    case 'status':
      return `attributes.status${dir}`;
    case 'run_name':
      return `attributes.name${dir}`;
    // artifact URIs differ by run id only, within the one experiment searched
    case 'run_id':
    case 'artifact_uri':
      return `attributes.run_id${dir}`;
    case 'user_id':
      return keelKey('tags', 'mlflow.user') + dir;
    // one experiment is searched at a time: its id orders nothing
    case 'experiment_id':
      return undefined;
    default:
      throw invalidParameter(
        `Invalid attribute key '${key.key}' specified. Valid keys are 'start_time', 'end_time', 'status', 'run_name', 'run_id', 'user_id', 'artifact_uri', 'experiment_id'`,
      );
  }
}

/**
 * MLflow `order_by` entries as keel's `orderBy`. Without entries, MLflow's order: newest
 * start first, ties by run id ascending (keel appends `attributes.run_id asc` itself).
 *
 * @throws {MlflowApiError} (INVALID_PARAMETER_VALUE) for an entry that does not parse or names
 *   something runs cannot be ordered by.
 */
export function translateRunOrder(orderBy: readonly string[]): string[] {
  const keys = orderBy
    .map((entry) => translateOrderKey(parseMlflowOrderBy(entry)))
    .filter((k) => k !== undefined);
  if (keys.length > 16) throw invalidParameter('order_by takes at most 16 entries');
  return keys.length > 0 ? keys : ['attributes.start_time desc'];
}

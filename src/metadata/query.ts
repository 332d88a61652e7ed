/**
 * @module
 * The optional `queryDocuments` capability of a MetadataStore: filter, order and page the
 * documents under a prefix by typed values read at JSON paths, so that a database answers a
 * search without shipping every document. The language knows nothing of runs or metrics; its
 * semantics (below) are what every adapter implements and {@link checkDocumentQuery} enforces
 * the shape of. The tracker translates its filter language into it (ADR 0020).
 */
import { ValidationError } from '../core/errors.js';
import { assertReadableObject } from '../core/validate.js';
import { assertPrefix, MAX_KEY_LENGTH } from './keys.js';

/**
 * A value read from a document: the JSON value at `path` when it has `type`, else absent.
 * Each step of `path` names an object member, or an array element by its decimal index.
 *
 * - `number`: a JSON number.
 * - `float`: a JSON number, or one of the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (how
 *   keel stores the numbers JSON cannot hold), as that IEEE-754 double.
 * - `string`: a JSON string; compared and ordered by UTF-16 code units, as JavaScript does.
 * - `boolean`: `true` or `false` (`false` orders first).
 */
export interface QueryTerm {
  /** Object member names and array indexes from the document's root; at least one. */
  path: readonly string[];
  /** The JSON type the value must have to be present. */
  type: QueryTermType;
}

/** The types a {@link QueryTerm} reads. */
export type QueryTermType = 'number' | 'float' | 'string' | 'boolean';

/** The comparison operators of a {@link DocumentPredicate}. */
export type QueryComparison = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * A condition on a document. A leaf on an absent term is false (also `!=`); numbers compare
 * as IEEE-754 doubles (a NaN is only `!=` to anything); strings by UTF-16 code units;
 * booleans only with `=` and `!=`. The literal's type must match the term's (a number for
 * `number` and `float`). `like` matches a `string` term whole: `%` any run of code points (also
 * none), `_` exactly one, every other character literally (no escape character).
 * `{ all: [] }` is true, `{ any: [] }` false.
 */
export type DocumentPredicate =
  | {
      /** Every predicate holds. */
      all: readonly DocumentPredicate[];
    }
  | {
      /** At least one predicate holds. */
      any: readonly DocumentPredicate[];
    }
  | {
      /** The predicate does not hold. */
      not: DocumentPredicate;
    }
  | {
      /** The value read. */
      term: QueryTerm;
      /** Holds when the term is present. */
      exists: true;
    }
  | {
      /** The value read. */
      term: QueryTerm;
      /** How it is compared with `value`. */
      op: QueryComparison;
      /** The literal, of the term's type. */
      value: number | string | boolean;
    }
  | {
      /** The value read (a `string` term). */
      term: QueryTerm;
      /** The pattern. */
      like: string;
    };

/**
 * One sort key. Its value for a document is its first present term; values of an earlier
 * term order before those of a later one, then by value, and `descending` reverses both. A
 * NaN orders after every other value and an absent key after NaN, in both directions.
 */
export interface QueryOrderKey {
  /** Candidate terms, in rank order; at least one. */
  terms: readonly QueryTerm[];
  /** Largest first. Default ascending. */
  descending?: boolean;
}

/**
 * A query: the documents under `prefix` for which `where` holds, in `orderBy` order and then
 * by key, skipping `offset` and returning at most `limit`.
 */
export interface DocumentQuery {
  /** Only documents whose key starts with this (`''` for every document). */
  prefix: string;
  /** The condition; every document under the prefix when absent. */
  where?: DocumentPredicate;
  /** Sort keys, most significant first; the key is always the last tie-breaker. */
  orderBy?: readonly QueryOrderKey[];
  /** Documents to skip (default 0). */
  offset?: number;
  /** Most documents returned, 1 to {@link MAX_QUERY_LIMIT}. */
  limit: number;
}

/** Largest `limit` of a {@link DocumentQuery}. */
export const MAX_QUERY_LIMIT = 10_000;

/** Most predicate nodes and order keys a query may hold. */
export const MAX_QUERY_NODES = 2_000;

const TERM_TYPES = new Set<string>(['number', 'float', 'string', 'boolean']);
const COMPARISONS = new Set<string>(['=', '!=', '<', '<=', '>', '>=']);
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks that `query` is a {@link DocumentQuery} an adapter can run as is: known operators and
 * types, literals of the term's type, strings without lone surrogates, bounded size and depth.
 * Adapters call it before translating a query.
 *
 * @throws {ValidationError} naming the first part of the query that is not valid.
 */
export function checkDocumentQuery(query: unknown): asserts query is DocumentQuery {
  const q = query as Partial<DocumentQuery> | null;
  if (q === null || typeof q !== 'object') invalid('pass an object');
  assertReadableObject(q, 'document query');
  assertPrefix(q.prefix);
  const limit = q.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT)
    invalid(`"limit" must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
  const offset = q.offset ?? 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
    invalid('"offset" must be a non-negative integer');
  const budget = { nodes: 0 };
  if (q.where !== undefined) checkPredicate(q.where, budget, 0);
  if (q.orderBy !== undefined) {
    if (!Array.isArray(q.orderBy)) invalid('"orderBy" must be an array');
    for (const key of q.orderBy as unknown[]) {
      const k = key as Partial<QueryOrderKey> | null;
      if (k === null || typeof k !== 'object' || !Array.isArray(k.terms) || k.terms.length === 0)
        invalid('each "orderBy" entry needs a non-empty "terms" array');
      if (k.descending !== undefined && typeof k.descending !== 'boolean')
        invalid('"descending" must be a boolean');
      for (const term of k.terms) checkTerm(term, budget);
    }
  }
}

function checkPredicate(p: unknown, budget: { nodes: number }, depth: number): void {
  if (++budget.nodes > MAX_QUERY_NODES) invalid(`more than ${MAX_QUERY_NODES} nodes`);
  if (depth > 64) invalid('predicates nested more than 64 deep');
  const node = p as Record<string, unknown> | null;
  if (node === null || typeof node !== 'object') invalid('a predicate must be an object');
  if ('all' in node || 'any' in node) {
    const list = node.all ?? node.any;
    if (!Array.isArray(list)) invalid('"all" and "any" take arrays of predicates');
    for (const child of list) checkPredicate(child, budget, depth + 1);
    return;
  }
  if ('not' in node) {
    checkPredicate(node.not, budget, depth + 1);
    return;
  }
  const term = checkTerm(node.term, budget);
  if ('exists' in node) {
    if (node.exists !== true) invalid('"exists" must be true');
    return;
  }
  if ('like' in node) {
    if (term.type !== 'string') invalid('"like" needs a string term');
    checkString(node.like, 'a like pattern');
    return;
  }
  if (typeof node.op !== 'string' || !COMPARISONS.has(node.op))
    invalid(`unknown operator ${JSON.stringify(node.op)}: use =, !=, <, <=, > or >=`);
  const value = node.value;
  const expected = term.type === 'float' ? 'number' : term.type;
  if (typeof value !== expected) invalid(`a ${term.type} term compares with a ${expected}`);
  if (term.type === 'boolean' && node.op !== '=' && node.op !== '!=')
    invalid('booleans compare only with = and !=');
  if (typeof value === 'string') checkString(value, 'a literal');
}

function checkTerm(term: unknown, budget: { nodes: number }): QueryTerm {
  if (++budget.nodes > MAX_QUERY_NODES) invalid(`more than ${MAX_QUERY_NODES} nodes`);
  const t = term as Partial<QueryTerm> | null;
  if (t === null || typeof t !== 'object' || typeof t.type !== 'string' || !TERM_TYPES.has(t.type))
    invalid('a term needs a "type" of number, float, string or boolean');
  if (!Array.isArray(t.path) || t.path.length === 0 || t.path.length > 32)
    invalid('a term needs a "path" of 1 to 32 steps');
  for (const step of t.path) checkString(step, 'a path step');
  return t as QueryTerm;
}

function checkString(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.length > MAX_KEY_LENGTH || LONE_SURROGATE.test(value))
    invalid(`${what} must be a string of whole characters, at most ${MAX_KEY_LENGTH} long`);
}

function invalid(problem: string): never {
  throw new ValidationError(`[keel] invalid document query: ${problem}`);
}

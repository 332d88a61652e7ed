/**
 * @module
 * `queryDocuments` on PostgreSQL: a checked {@link DocumentQuery} compiled into one
 * parameterised SELECT over the prefix's key range. Every path, literal and pattern travels as
 * a parameter; the only text spliced in is the schema name (checked by the store) and fixed
 * fragments chosen from the query's operators and types.
 *
 * How the semantics of the query language map onto SQL:
 * - Each distinct path is read once per row (`value #> path`) and each distinct term typed once
 *   (its value when `json_typeof` matches, else NULL), in LATERAL subqueries; every leaf is
 *   `COALESCE(…, false)`, so absent is false and `NOT` never meets NULL.
 * - Floats: PostgreSQL orders NaN above every number and calls NaN equal to NaN; IEEE-754 calls
 *   NaN unordered. So `<`, `<=`, `>`, `>=` exclude NaN, `=` and `!=` with a NaN literal are
 *   decided before SQL, and NaN gets its own tier when ordering.
 * - Strings compare by UTF-16 code units, as JavaScript does, while `COLLATE "C"` orders by
 *   code point; the two differ only between U+E000–U+FFFF and the characters beyond U+FFFF.
 *   The order key of a string that holds such characters prefixes each U+E000–U+FFFF
 *   character with U+E001 and each character beyond U+FFFF with U+E000, which restores the
 *   UTF-16 order under `COLLATE "C"`.
 * - `like` is `LIKE … ESCAPE ''` under `COLLATE "C"` (a UTF-8 database: `_` is one code point).
 */
import type {
  DocumentPredicate,
  DocumentQuery,
  QueryOrderKey,
  QueryTerm,
} from '../../metadata/query.js';
import { prefixUpperBound } from './sql.js';

/** A compiled statement: its text and parameters. */
export interface CompiledQuery {
  text: string;
  values: unknown[];
}

/** Characters whose code point order differs from their UTF-16 order (see the module comment). */
const OUTSIDE_UTF16_ORDER = String.raw`[\uE000-\U0010FFFF]`;

/**
 * Compiles `query` (already checked with `checkDocumentQuery`) against the documents table of
 * `schema` (a name the store checked). Selects `key`, `revision` and `value` as text.
 */
export function compileDocumentQuery(schema: string, query: DocumentQuery): CompiledQuery {
  const values: unknown[] = [];
  const param = (value: unknown, cast = ''): string => {
    values.push(value);
    return `$${values.length}${cast}`;
  };
  // each distinct path is read once per row (r.pN), each distinct term typed once (x.tN)
  const paths = new Map<string, string>();
  const terms = new Map<string, { name: string; sql: string }>();
  const column = (path: readonly string[]): string => {
    const id = JSON.stringify(path);
    let name = paths.get(id);
    if (name === undefined) {
      name = `p${paths.size}`;
      paths.set(id, name);
    }
    return `r.${name}`;
  };
  const typed = (t: QueryTerm): string => {
    const j = column(t.path);
    switch (t.type) {
      case 'number':
        return `(CASE WHEN json_typeof(${j}) = 'number' THEN (${j} #>> '{}')::float8 END)`;
      case 'float':
        return `(CASE json_typeof(${j}) WHEN 'number' THEN (${j} #>> '{}')::float8 WHEN 'string' THEN (CASE ${j}::text WHEN '"NaN"' THEN 'NaN'::float8 WHEN '"Infinity"' THEN 'Infinity'::float8 WHEN '"-Infinity"' THEN '-Infinity'::float8 END) END)`;
      case 'string':
        return `(CASE WHEN json_typeof(${j}) = 'string' THEN (${j} #>> '{}') COLLATE "C" END)`;
      case 'boolean':
        return `(CASE WHEN json_typeof(${j}) = 'boolean' THEN ${j}::text = 'true' END)`;
    }
  };
  const term = (t: QueryTerm): string => {
    const id = JSON.stringify([t.type, t.path]);
    let known = terms.get(id);
    if (known === undefined) {
      known = { name: `t${terms.size}`, sql: typed(t) };
      terms.set(id, known);
    }
    return `x.${known.name}`;
  };

  const utf16 = (text: string): string =>
    `(CASE WHEN ${text} ~ '${OUTSIDE_UTF16_ORDER}' THEN regexp_replace(regexp_replace(${text}, '([\\uE000-\\uFFFF])', '\uE001\\1', 'g'), '([\\U00010000-\\U0010FFFF])', '\uE000\\1', 'g') ELSE ${text} END) COLLATE "C"`;

  const predicate = (p: DocumentPredicate): string => {
    if ('all' in p) return p.all.length === 0 ? 'TRUE' : `(${p.all.map(predicate).join(' AND ')})`;
    if ('any' in p) return p.any.length === 0 ? 'FALSE' : `(${p.any.map(predicate).join(' OR ')})`;
    if ('not' in p) return `(NOT ${predicate(p.not)})`;
    const t = term(p.term);
    if ('exists' in p) return `(${t} IS NOT NULL)`;
    if ('like' in p) return `COALESCE(${t} LIKE ${param(p.like, '::text')} ESCAPE '', false)`;
    const { op, value } = p;
    const sqlOp = op === '!=' ? '<>' : op;
    if (typeof value === 'number') {
      // IEEE-754: a NaN literal is unordered and unequal to everything
      if (Number.isNaN(value)) return op === '!=' ? `(${t} IS NOT NULL)` : 'FALSE';
      const literal = param(floatText(value), '::float8');
      const notNaN = p.term.type === 'float' && op !== '=' && op !== '!=';
      return `COALESCE(${t} ${sqlOp} ${literal}${notNaN ? ` AND ${t} <> 'NaN'::float8` : ''}, false)`;
    }
    if (typeof value === 'boolean')
      return `COALESCE(${t} ${sqlOp} ${param(value, '::boolean')}, false)`;
    const literal = param(value, '::text');
    if (op === '=' || op === '!=') return `COALESCE(${t} ${sqlOp} ${literal} COLLATE "C", false)`;
    return `COALESCE(${utf16(t)} ${sqlOp} ${utf16(literal)}, false)`;
  };

  const orderKey = (key: QueryOrderKey): string[] => {
    const direction = key.descending ? 'DESC' : 'ASC';
    const terms = key.terms.map((t) => ({ sql: term(t), type: t.type }));
    // the key's value is its first present term: tier 0 a value, 1 NaN, 2 absent
    const tier = `(CASE ${terms
      .map(({ sql, type }) =>
        type === 'float'
          ? `WHEN ${sql} IS NOT NULL THEN (CASE WHEN ${sql} = 'NaN'::float8 THEN 1 ELSE 0 END)`
          : `WHEN ${sql} IS NOT NULL THEN 0`,
      )
      .join(' ')} ELSE 2 END) ASC`;
    const parts = [tier];
    if (terms.length > 1) {
      parts.push(
        `(CASE ${terms.map(({ sql }, i) => `WHEN ${sql} IS NOT NULL THEN ${i}`).join(' ')} END) ${direction}`,
      );
    }
    terms.forEach(({ sql, type }, i) => {
      const earlier = terms.slice(0, i).map((e) => `${e.sql} IS NULL`);
      const value = type === 'string' ? utf16(sql) : sql;
      parts.push(
        earlier.length === 0
          ? `${value} ${direction}`
          : `(CASE WHEN ${earlier.join(' AND ')} THEN ${value} END) ${direction}`,
      );
    });
    return parts;
  };

  const where = query.where === undefined ? 'TRUE' : predicate(query.where);
  const order = (query.orderBy ?? []).flatMap(orderKey);
  const lower = param(query.prefix, '::text');
  const upperBound = prefixUpperBound(query.prefix);
  const upper = upperBound === undefined ? '' : ` AND d.key < ${param(upperBound, '::text')}`;
  const limit = param(query.limit, '::bigint');
  const offset = param(query.offset ?? 0, '::bigint');
  const reads = [...paths].map(
    ([id, name]) => `d.value #> ${param(JSON.parse(id), '::text[]')} AS ${name}`,
  );
  // OFFSET 0 keeps each subquery from being inlined into the expressions that use it
  const lateral =
    reads.length === 0
      ? ''
      : `, LATERAL (SELECT ${[...terms.values()].map((t) => `${t.sql} AS ${t.name}`).join(', ')}
FROM (SELECT ${reads.join(', ')} OFFSET 0) AS r OFFSET 0) AS x`;
  const text = `SELECT d.key, d.revision::text AS revision, d.value::text AS value
FROM "${schema}".documents AS d${lateral}
WHERE d.key >= ${lower}${upper} AND ${where}
ORDER BY ${[...order, 'd.key'].join(', ')}
LIMIT ${limit} OFFSET ${offset}`;
  return { text, values };
}

/** A double as PostgreSQL's `float8` input reads it back exactly. */
function floatText(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return String(value);
}

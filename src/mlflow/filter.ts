// A parser for MLflow's search filter (`metrics.acc > 0.9 and tags."mlflow.user" = 'ana'`) and `order_by` entries, into typed clauses.
import { invalidParameter } from './errors.js';

/** What a clause compares: MLflow's entity types (their aliases resolved). */
export type MlflowEntity = 'metric' | 'parameter' | 'tag' | 'attribute' | 'dataset';

/** A comparator of MLflow's filter language (keywords upper-cased). */
export type MlflowComparator =
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'LIKE'
  | 'ILIKE'
  | 'IN'
  | 'NOT IN';

/** One `identifier comparator value` clause; a filter is clauses joined by AND. */
export interface MlflowClause {
  /** The entity type. */
  entity: MlflowEntity;
  /** The metric, param or tag key, or the attribute name (unquoted, as written). */
  key: string;
  /** The comparator. */
  comparator: MlflowComparator;
  /** A number (metrics, numeric attributes), a string, or a list of strings (`IN`). */
  value: number | string | readonly string[];
}

/** One `order_by` entry. */
export interface MlflowOrderKey {
  /** The entity type. */
  entity: MlflowEntity;
  /** The key or attribute name. */
  key: string;
  /** `DESC` was written. */
  descending: boolean;
}

const ENTITY_ALIASES: Readonly<Record<string, MlflowEntity>> = {
  metric: 'metric',
  metrics: 'metric',
  parameter: 'parameter',
  parameters: 'parameter',
  param: 'parameter',
  params: 'parameter',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

/** The longest filter accepted (characters). */
export const MAX_FILTER_LENGTH = 20_000;

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'quoted'; text: string; quote: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'op'; text: string; at: number }
  | { kind: 'punct'; text: '(' | ')' | ',' | '.'; at: number };

const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*/;

function fail(what: string, text: string, at: number): Error {
  const found = at >= text.length ? 'the end of the filter' : `'${text.slice(at, at + 20)}'`;
  return invalidParameter(
    `Invalid filter '${text.length > 200 ? `${text.slice(0, 200)}…` : text}': at character ${at + 1} expected ${what}, found ${found}`,
  );
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i, i + 400);
    if (c === "'" || c === '"' || c === '`') {
      // a quote inside is written twice, as in SQL
      let value = '';
      let j = i + 1;
      for (;;) {
        const k = text.indexOf(c, j);
        if (k < 0) throw fail(`a closing ${c}`, text, text.length);
        value += text.slice(j, k);
        if (text[k + 1] === c) {
          value += c;
          j = k + 2;
          continue;
        }
        j = k + 1;
        break;
      }
      tokens.push({ kind: 'quoted', text: value, quote: c, at: i });
      i = j;
      continue;
    }
    // after a dot, digits are part of a key (`metrics.2019`); elsewhere a number is a value
    const prev = tokens.at(-1);
    const afterDot = prev?.kind === 'punct' && prev.text === '.';
    const number = afterDot ? /^\d+/.exec(rest) : NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', text: number[0], at: i });
      i += number[0].length;
      continue;
    }
    const op = /^(?:!=|<>|<=|>=|=|<|>)/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', text: op[0], at: i });
      i += op[0].length;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '.') {
      tokens.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw fail('a name, a value or a comparator', text, i);
  }
  return tokens;
}

class Cursor {
  i = 0;
  constructor(
    readonly tokens: Token[],
    readonly text: string,
  ) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  at(): number {
    return this.peek()?.at ?? this.text.length;
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }
}

/** Reads `entity.key` or a bare attribute name. Unquoted keys may hold dots (`tags.mlflow.runName`). */
function identifier(c: Cursor): { entity: MlflowEntity; key: string } {
  const first = c.next();
  if (first === undefined || (first.kind !== 'word' && first.kind !== 'quoted'))
    throw fail(
      'a name such as metrics.acc, params.lr, tags.team or status',
      c.text,
      first?.at ?? c.text.length,
    );
  const dot = c.peek();
  const adjacent = (t: Token | undefined, after: Token, length: number): boolean =>
    t !== undefined && t.at === after.at + length;
  const firstLength = first.kind === 'word' ? first.text.length : rawLength(c.text, first);
  if (dot?.kind !== 'punct' || dot.text !== '.' || !adjacent(dot, first, firstLength)) {
    // a bare name is an attribute
    return { entity: 'attribute', key: first.text };
  }
  c.next();
  const entity = ENTITY_ALIASES[first.text];
  if (first.kind !== 'word' || entity === undefined) {
    throw invalidParameter(
      `Invalid entity type '${first.text}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`,
    );
  }
  const keyStart = c.peek();
  if (keyStart?.kind === 'quoted' && keyStart.at === dot.at + 1) {
    c.next();
    return { entity, key: keyStart.text };
  }
  // an unquoted key: words, numbers and dots written without spaces between them
  let key = '';
  let end = dot.at + 1;
  for (let t = c.peek(); t !== undefined && t.at === end; t = c.peek()) {
    if (t.kind === 'word' || t.kind === 'number' || (t.kind === 'punct' && t.text === '.')) {
      key += t.text;
      end += t.text.length;
      c.next();
    } else break;
  }
  if (key === '') throw fail(`a key after '${first.text}.'`, c.text, end);
  return { entity, key };
}

/** The length a quoted token took in the text (its quotes and doubled quotes included). */
function rawLength(text: string, token: Extract<Token, { kind: 'quoted' }>): number {
  let j = token.at + 1;
  for (;;) {
    const k = text.indexOf(token.quote, j);
    if (text[k + 1] === token.quote) {
      j = k + 2;
      continue;
    }
    return k + 1 - token.at;
  }
}

function comparator(c: Cursor): MlflowComparator {
  const t = c.peek();
  if (t?.kind === 'op') {
    c.next();
    if (t.text === '<>') throw fail("a comparator (use '!=' for not equal)", c.text, t.at);
    return t.text as MlflowComparator;
  }
  for (const word of ['LIKE', 'ILIKE', 'IN'] as const) {
    if (c.isWord(word)) {
      c.next();
      return word;
    }
  }
  if (c.isWord('NOT')) {
    c.next();
    if (c.isWord('IN')) {
      c.next();
      return 'NOT IN';
    }
    throw fail('IN after NOT', c.text, c.at());
  }
  throw fail('a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)', c.text, c.at());
}

function value(c: Cursor, list: boolean): MlflowClause['value'] {
  if (list) {
    const open = c.next();
    if (open?.kind !== 'punct' || open.text !== '(')
      throw fail("a list of quoted strings such as ('a', 'b')", c.text, open?.at ?? c.text.length);
    const items: string[] = [];
    for (;;) {
      const item = c.next();
      if (item?.kind !== 'quoted' || item.quote === '`')
        throw fail('a quoted string', c.text, item?.at ?? c.text.length);
      items.push(item.text);
      const sep = c.next();
      if (sep?.kind === 'punct' && sep.text === ')') return items;
      if (sep?.kind !== 'punct' || sep.text !== ',')
        throw fail("',' or ')'", c.text, sep?.at ?? c.text.length);
    }
  }
  const t = c.next();
  if (t?.kind === 'number') {
    const n = Number(t.text);
    if (!Number.isFinite(n)) throw fail('a finite number', c.text, t.at);
    return n;
  }
  if (t?.kind === 'quoted' && t.quote !== '`') return t.text;
  throw fail("a value: a number or a 'quoted string'", c.text, t?.at ?? c.text.length);
}

/**
 * Parses an MLflow search filter: clauses joined by `AND` (MLflow has no `OR`). An empty or
 * blank filter has no clauses. Which comparators and values suit which entity is checked by
 * the caller, which knows its attributes.
 *
 * @throws {MlflowApiError} (INVALID_PARAMETER_VALUE) naming where the filter is malformed.
 */
export function parseMlflowFilter(text: string): MlflowClause[] {
  if (text.length > MAX_FILTER_LENGTH)
    throw invalidParameter(`the filter is longer than ${MAX_FILTER_LENGTH} characters`);
  const c = new Cursor(tokenize(text), text);
  const clauses: MlflowClause[] = [];
  if (c.peek() === undefined) return clauses;
  for (;;) {
    const { entity, key } = identifier(c);
    const op = comparator(c);
    clauses.push({ entity, key, comparator: op, value: value(c, op === 'IN' || op === 'NOT IN') });
    if (c.peek() === undefined) return clauses;
    if (c.isWord('OR'))
      throw invalidParameter(
        `Invalid filter '${text}': MLflow filters join clauses with AND only (no OR)`,
      );
    if (!c.isWord('AND')) throw fail('AND or the end of the filter', text, c.at());
    c.next();
  }
}

/**
 * Parses one `order_by` entry: an identifier, then `ASC` or `DESC` (default ascending).
 *
 * @throws {MlflowApiError} (INVALID_PARAMETER_VALUE) when it is malformed.
 */
export function parseMlflowOrderBy(text: string): MlflowOrderKey {
  if (text.length > 1000) throw invalidParameter('an order_by entry is at most 1000 characters');
  const c = new Cursor(tokenize(text), text);
  const { entity, key } = identifier(c);
  let descending = false;
  if (c.isWord('DESC') || c.isWord('ASC')) descending = c.next()!.text.toUpperCase() === 'DESC';
  if (c.peek() !== undefined)
    throw invalidParameter(`Invalid order_by clause '${text}'. Could not be parsed.`);
  return { entity, key, descending };
}

/**
 * SQL `LIKE` as MLflow reads it: `%` any run of characters, `_` one character, the rest
 * literal; `ignoreCase` for `ILIKE`. Linear-time: the pattern is split at `%` and each piece
 * taken at its leftmost place, so no pattern makes it backtrack.
 */
export function likeMatch(value: string, pattern: string, ignoreCase: boolean): boolean {
  const v = Array.from(ignoreCase ? value.toLowerCase() : value);
  const pieces = (ignoreCase ? pattern.toLowerCase() : pattern)
    .split('%')
    .map((p) => Array.from(p));
  const fits = (piece: string[], at: number): boolean =>
    at + piece.length <= v.length && piece.every((ch, k) => ch === '_' || ch === v[at + k]);
  const first = pieces[0]!;
  if (pieces.length === 1) return first.length === v.length && fits(first, 0);
  if (!fits(first, 0)) return false;
  let at = first.length;
  const last = pieces[pieces.length - 1]!;
  for (const piece of pieces.slice(1, -1)) {
    let found = -1;
    for (let start = at; start + piece.length <= v.length; start++) {
      if (fits(piece, start)) {
        found = start;
        break;
      }
    }
    if (found < 0) return false;
    at = found + piece.length;
  }
  return v.length - last.length >= at && fits(last, v.length - last.length);
}

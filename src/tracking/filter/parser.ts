/**
 * @module
 * The recursive-descent parser of the run filter language. `and` binds tighter than `or`;
 * parentheses group. Fields are type-checked here (a metric compares with numbers, a tag
 * with strings), so the evaluator never meets a clause it cannot answer.
 */
import { ValidationError } from '../../core/errors.js';
import {
  ATTRIBUTE_KEYS,
  COMPARISON_OPERATORS,
  type ComparisonOperator,
  type FieldKind,
  type FieldRef,
  type FilterExpr,
  type FilterValue,
  isStringAttribute,
  isTimeAttribute,
} from './ast.js';
import { filterError } from './errors.js';
import { MAX_LIKE_PATTERN_LENGTH } from './like.js';
import { type Token, tokenize } from './tokenizer.js';

/** Longest filter accepted, in characters. */
export const MAX_FILTER_LENGTH = 20_000;
/** Deepest parenthesis nesting accepted. */
export const MAX_FILTER_DEPTH = 64;

/** The run statuses, which `attributes.status` is compared against. */
export const RUN_STATUSES = ['running', 'completed', 'failed', 'killed'] as const;

/**
 * Parses a filter into its AST; an empty (or all-blank) filter gives `undefined`, which
 * matches every run. A malformed filter throws `ValidationError` naming the column.
 *
 * @throws {ValidationError} when `source` is not a string, is longer than 20 000 characters,
 *   nests parentheses deeper than 64, or does not parse (the message shows the column and what
 *   was expected).
 *
 * @example
 * ```ts
 * parseFilter("metrics.acc > 0.9 and params.optimizer in ('adam', 'sgd')")
 * ```
 */
export function parseFilter(source: string): FilterExpr | undefined {
  if (typeof source !== 'string') {
    throw new ValidationError(
      '[keel] invalid filter: expected a string; see node_modules/keel/docs/search.md for the syntax',
    );
  }
  if (source.length > MAX_FILTER_LENGTH) {
    throw filterError(
      MAX_FILTER_LENGTH + 1,
      `at most ${MAX_FILTER_LENGTH} characters`,
      'a longer filter',
    );
  }
  const tokens = tokenize(source);
  if (tokens.length === 1) return undefined;
  const parser = new Parser(tokens);
  const expr = parser.parseOr(0);
  parser.expectEnd();
  return expr;
}

/**
 * Parses a field reference such as `metrics.acc` or ``params.`a b` `` (used by `orderBy`
 * too). Returns the field and the index of the next token.
 */
export function parseFieldToken(token: Token, what = 'filter'): FieldRef {
  if (isBareAttribute(token)) return { kind: 'attributes', key: token.text };
  if (token.type !== 'field') {
    throw filterError(
      token.column,
      'a field (metrics.<key>, params.<key>, tags.<key> or attributes.<name>)',
      describe(token),
      what,
    );
  }
  const kind = token.prefix as FieldKind;
  if (kind !== 'metrics' && kind !== 'params' && kind !== 'tags' && kind !== 'attributes') {
    throw filterError(
      token.column,
      'a field prefix metrics., params., tags. or attributes.',
      `'${token.prefix}.'`,
      what,
    );
  }
  const key = token.value!;
  if (kind === 'attributes' && !(ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
    throw filterError(
      token.column,
      `an attribute (${ATTRIBUTE_KEYS.join(', ')})`,
      `'${key}'`,
      what,
    );
  }
  return { kind, key };
}

/** A token as an error message shows it. */
export function describe(token: Token): string {
  return token.type === 'end' ? 'the end of the input' : `'${token.text}'`;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  parseOr(depth: number): FilterExpr {
    const clauses = [this.parseAnd(depth)];
    while (this.isWord('or')) {
      this.index++;
      clauses.push(this.parseAnd(depth));
    }
    return clauses.length === 1 ? clauses[0]! : { type: 'or', clauses };
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.type !== 'end')
      throw filterError(token.column, "'and', 'or' or the end of the filter", describe(token));
  }

  private parseAnd(depth: number): FilterExpr {
    const clauses = [this.parsePrimary(depth)];
    while (this.isWord('and')) {
      this.index++;
      clauses.push(this.parsePrimary(depth));
    }
    return clauses.length === 1 ? clauses[0]! : { type: 'and', clauses };
  }

  private parsePrimary(depth: number): FilterExpr {
    const token = this.peek();
    if (token.type === 'lparen') {
      if (depth >= MAX_FILTER_DEPTH) {
        throw filterError(token.column, `at most ${MAX_FILTER_DEPTH} nested parentheses`, "'('");
      }
      this.index++;
      const inner = this.parseOr(depth + 1);
      const close = this.peek();
      if (close.type !== 'rparen')
        throw filterError(close.column, "')' (or 'and', 'or')", describe(close));
      this.index++;
      return inner;
    }
    return this.parseClause();
  }

  private parseClause(): FilterExpr {
    const fieldToken = this.next();
    if (fieldToken.type !== 'field' && !isBareAttribute(fieldToken)) {
      throw filterError(
        fieldToken.column,
        "a field (metrics.<key>, params.<key>, tags.<key>, attributes.<name>) or '('",
        describe(fieldToken),
      );
    }
    const field = parseFieldToken(fieldToken);
    const token = this.next();
    if (token.type === 'operator') {
      const op = token.text as ComparisonOperator;
      if (!(COMPARISON_OPERATORS as readonly string[]).includes(op)) {
        throw filterError(token.column, 'a comparison operator', describe(token));
      }
      return { type: 'comparison', field, op, value: this.parseValue(field, fieldToken) };
    }
    if (token.type === 'word') {
      if (token.value === 'like' || token.value === 'ilike') {
        if (
          field.kind === 'metrics' ||
          (field.kind === 'attributes' && !isStringAttribute(field.key))
        ) {
          throw filterError(
            token.column,
            `a numeric operator (=, !=, <, <=, >, >=, in) for ${fieldToken.text}`,
            describe(token),
          );
        }
        const pattern = this.next();
        if (pattern.type !== 'string')
          throw filterError(pattern.column, "a quoted pattern such as 'abc%'", describe(pattern));
        if (pattern.value!.length > MAX_LIKE_PATTERN_LENGTH) {
          throw filterError(
            pattern.column,
            `a pattern of at most ${MAX_LIKE_PATTERN_LENGTH} characters`,
            `a pattern of ${pattern.value!.length} characters`,
          );
        }
        return {
          type: 'like',
          field,
          caseInsensitive: token.value === 'ilike',
          pattern: pattern.value!,
        };
      }
      if (token.value === 'in')
        return { type: 'in', field, negated: false, values: this.parseList(field, fieldToken) };
      if (token.value === 'not') {
        const inWord = this.next();
        if (inWord.type !== 'word' || inWord.value !== 'in')
          throw filterError(inWord.column, "'in' after 'not'", describe(inWord));
        return { type: 'in', field, negated: true, values: this.parseList(field, fieldToken) };
      }
    }
    throw filterError(
      token.column,
      `an operator (=, !=, <, <=, >, >=, like, ilike, in, not in) after ${fieldToken.text}`,
      describe(token),
    );
  }

  private parseList(field: FieldRef, fieldToken: Token): FilterValue[] {
    const open = this.next();
    if (open.type !== 'lparen')
      throw filterError(open.column, "'(' to start the list", describe(open));
    const values = [this.parseValue(field, fieldToken)];
    for (;;) {
      const token = this.next();
      if (token.type === 'rparen') return values;
      if (token.type !== 'comma')
        throw filterError(token.column, "',' or ')' in the list", describe(token));
      values.push(this.parseValue(field, fieldToken));
    }
  }

  private parseValue(field: FieldRef, fieldToken: Token): FilterValue {
    const token = this.next();
    if (token.type === 'number') {
      if (field.kind === 'tags' || (field.kind === 'attributes' && isStringAttribute(field.key))) {
        throw filterError(token.column, `a quoted string for ${fieldToken.text}`, describe(token));
      }
      return token.number!;
    }
    if (token.type === 'string') {
      const value = token.value!;
      if (field.kind === 'metrics')
        throw filterError(token.column, `a number for ${fieldToken.text}`, describe(token));
      if (
        field.kind === 'attributes' &&
        isTimeAttribute(field.key) &&
        Number.isNaN(Date.parse(value))
      ) {
        throw filterError(
          token.column,
          `an ISO-8601 time or milliseconds for ${fieldToken.text}`,
          describe(token),
        );
      }
      if (
        field.kind === 'attributes' &&
        field.key === 'status' &&
        !(RUN_STATUSES as readonly string[]).includes(value)
      ) {
        throw filterError(token.column, `a status (${RUN_STATUSES.join(', ')})`, describe(token));
      }
      return value;
    }
    throw filterError(
      token.column,
      `a value (a number or a 'quoted string') for ${fieldToken.text}`,
      describe(token),
    );
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.type !== 'end') this.index++;
    return token;
  }

  private isWord(word: string): boolean {
    const token = this.peek();
    return token.type === 'word' && token.value === word;
  }
}

/** An attribute written without `attributes.` (`parent_run_id = '...'`); names are case-sensitive. */
function isBareAttribute(token: Token): boolean {
  return token.type === 'word' && (ATTRIBUTE_KEYS as readonly string[]).includes(token.text);
}

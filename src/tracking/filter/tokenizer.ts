/**
 * @module
 * The hand-written tokenizer of the run filter language: fields (`metrics.acc`,
 * ``params.`a.b` ``), keywords, operators, numbers, single-quoted strings, with 1-based
 * columns for error messages.
 */
import { filterError } from './errors.js';

/** The kinds of tokens. */
export type TokenType =
  | 'field'
  | 'word'
  | 'number'
  | 'string'
  | 'operator'
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'end';

/** One token, with the 1-based column where it starts. */
export interface Token {
  type: TokenType;
  /** The source text of the token. */
  text: string;
  column: number;
  /** `field`: the namespace as written (lower-cased). */
  prefix?: string;
  /** `field`: the key; `string`: the unquoted value; `word`: the lower-cased word. */
  value?: string;
  /** `number`: the value. */
  number?: number;
}

/** Characters a field key may use without backticks. */
export const BARE_KEY: RegExp = /^[A-Za-z0-9_\-/:]+$/;

/**
 * Splits `source` into tokens, ending with an `end` token. Throws `ValidationError`
 * naming the column of the first character it cannot read.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const column = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', text: c, column });
      i++;
      continue;
    }
    if (c === '=' || c === '<' || c === '>' || c === '!') {
      const two = source.slice(i, i + 2);
      if (two === '!=' || two === '<=' || two === '>=') {
        tokens.push({ type: 'operator', text: two, column });
        i += 2;
        continue;
      }
      if (c === '!') throw filterError(column, "'!='", quote(two));
      tokens.push({ type: 'operator', text: c, column });
      i++;
      continue;
    }
    if (c === "'") {
      const { value, end } = readQuoted(source, i, "'", "a closing quote (') for the string");
      tokens.push({ type: 'string', text: source.slice(i, end), value, column });
      i = end;
      continue;
    }
    if (isDigit(c) || ((c === '-' || c === '.') && startsNumber(source, i))) {
      const match = NUMBER.exec(source.slice(i));
      const text = match?.[0] ?? c;
      const value = Number(text);
      if (!match || !Number.isFinite(value))
        throw filterError(column, 'a finite number', quote(text));
      if (isWordChar(source[i + text.length])) {
        throw filterError(
          column + text.length,
          'a space or an operator after the number',
          quote(source[i + text.length]!),
        );
      }
      tokens.push({ type: 'number', text, number: value === 0 ? 0 : value, column });
      i += text.length;
      continue;
    }
    if (isWordStart(c)) {
      let end = i + 1;
      while (end < source.length && isWordChar(source[end])) end++;
      const word = source.slice(i, end);
      if (source[end] === '.') {
        const key = readKey(source, end + 1);
        tokens.push({
          type: 'field',
          text: source.slice(i, key.end),
          prefix: word.toLowerCase(),
          value: key.value,
          column,
        });
        i = key.end;
        continue;
      }
      tokens.push({ type: 'word', text: word, value: word.toLowerCase(), column });
      i = end;
      continue;
    }
    if (c === '`')
      throw filterError(
        column,
        'a field prefix (metrics., params., tags., attributes.) before the key',
        '`',
      );
    throw filterError(column, 'a field, a value, an operator or a parenthesis', quote(c));
  }
  tokens.push({ type: 'end', text: '', column: source.length + 1 });
  return tokens;
}

const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;

function readKey(source: string, start: number): { value: string; end: number } {
  if (source[start] === '`')
    return readQuoted(source, start, '`', 'a closing backtick (`) for the key');
  let end = start;
  while (end < source.length && isBareKeyChar(source[end]!)) end++;
  if (end === start) {
    const found = start < source.length ? quote(source[start]!) : 'the end of the filter';
    throw filterError(
      start + 1,
      'a key after the dot (use backticks for keys with spaces or dots)',
      found,
    );
  }
  return { value: source.slice(start, end), end };
}

function readQuoted(
  source: string,
  start: number,
  mark: string,
  expected: string,
): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  for (;;) {
    const next = source.indexOf(mark, i);
    if (next < 0) throw filterError(source.length + 1, expected, 'the end of the filter');
    value += source.slice(i, next);
    if (source[next + 1] === mark) {
      value += mark;
      i = next + 2;
      continue;
    }
    if (mark === '`' && value === '')
      throw filterError(start + 1, 'a non-empty key between the backticks', '``');
    return { value, end: next + 1 };
  }
}

function startsNumber(source: string, i: number): boolean {
  const next = source[i + 1];
  if (source[i] === '-') return isDigit(next) || (next === '.' && isDigit(source[i + 2]));
  return isDigit(next);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && (isWordStart(c) || isDigit(c));
}

function isBareKeyChar(c: string): boolean {
  return isWordChar(c) || c === '-' || c === '/' || c === ':';
}

function quote(text: string): string {
  return `'${text}'`;
}

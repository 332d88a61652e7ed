/**
 * @module
 * Turns schema failures (zod or any Standard Schema) into `ValidationError`s in keel's
 * words: where (`params.cfg`, `rules[0].kind`), what was expected and what was given
 * (`expected a string, a number or a boolean, got an object`). zod's own wording ("Invalid
 * input") never reaches a user: every zod issue a schema does not word itself is worded
 * here, once, by {@link zodIssueMessage}.
 */
import type { z } from 'zod';
import { ValidationError, type ValidationIssue } from './errors.js';

/**
 * Parses `value` with a zod schema; throws `ValidationError` naming `what` and each problem.
 *
 * @example
 * ```ts
 * const name = parseWith(nameSchema, input, 'experiment name');
 * ```
 * @throws {ValidationError} when `value` does not fit the schema (or holds a `__proto__` key);
 *   `issues` carries each problem with its path.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  let protoPath: PropertyKey[] | undefined;
  let result: z.ZodSafeParseResult<z.output<S>> | undefined;
  try {
    protoPath = findProtoKey(value, [], 0);
    if (!protoPath) result = schema.safeParse(value, KEEL_PARSE_OPTIONS);
  } catch (error) {
    // a getter, a proxy trap or a toString that throws while the value is read
    throw unreadable(what, error);
  }
  if (protoPath) {
    const message = 'the key "__proto__" is not allowed';
    throw new ValidationError(
      `[keel] invalid ${what}: ${formatPath(protoPath)}: ${message}; rename the key`,
      {
        issues: [{ path: protoPath, message }],
      },
    );
  }
  if (result!.success) return result!.data;
  throw zodValidationError(result!.error.issues, what);
}

/**
 * The `ValidationError` for a value that threw while it was read (a getter, a proxy trap, a
 * `toString` that throws): keel takes plain data only.
 */
export function unreadable(what: string, error: unknown): ValidationError {
  let reason: string;
  try {
    reason = error instanceof Error ? `${error.name}: ${error.message}` : 'a non-error value';
  } catch {
    reason = 'an error that cannot be read';
  }
  return new ValidationError(
    `[keel] invalid ${what}: reading it threw (${reason.slice(0, 200)}); pass plain data (no getters or proxies that throw)`,
    { issues: [{ path: [], message: 'reading the value threw' }] },
  );
}

/** A schema of zod 4, from keel's copy of zod or the caller's own. */
export interface Zod4Schema {
  readonly _zod: object;
  safeParseAsync(
    value: unknown,
    params: { error: (issue: z.core.$ZodRawIssue) => string; reportInput: true },
  ): Promise<{ success: true; data: unknown } | { success: false; error: { issues: unknown[] } }>;
}

/** True for a zod 4 schema (any copy of zod 4), which {@link parseWithAsync} can word. */
export function isZod4Schema(value: unknown): value is Zod4Schema {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { _zod?: unknown })._zod === 'object' &&
    typeof (value as { safeParseAsync?: unknown }).safeParseAsync === 'function'
  );
}

/**
 * {@link parseWith} for zod 4 schemas from any copy of zod (a user's pipeline input schema),
 * async refinements included; the messages are keel's as with `parseWith`.
 *
 * @throws {ValidationError} when `value` does not fit the schema.
 */
export async function parseWithAsync(
  schema: Zod4Schema,
  value: unknown,
  what: string,
): Promise<unknown> {
  let result: Awaited<ReturnType<Zod4Schema['safeParseAsync']>>;
  try {
    result = await schema.safeParseAsync(value, KEEL_PARSE_OPTIONS);
  } catch (error) {
    throw unreadable(what, error);
  }
  if (result.success) return result.data;
  throw zodValidationError(result.error.issues as z.core.$ZodIssue[], what);
}

/**
 * One line describing validation issues, e.g.
 * `params.lr: expected a number, got 'fast'; tags.team: expected a string, got 3`.
 */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  const shown = issues
    .slice(0, 5)
    .map((issue) => (issue.path.length ? `${formatPath(issue.path)}: ` : '') + issue.message);
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
  return shown.join('; ');
}

/**
 * Writes a path as code would: `params.lr`, `rules[0].kind`, `tags["x.y"]`.
 *
 * @example
 * ```ts
 * formatPath(['rules', 0, 'kind']) // 'rules[0].kind'
 * ```
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/**
 * Says what a value is, in words and briefly: `'abc'`, `NaN`, `an object`, `an array of 3
 * items`, `a string of 7000 characters`, `nothing` (undefined).
 *
 * @example
 * ```ts
 * describeValue(Number.NaN) // 'NaN'
 * describeValue({ a: 1 })   // 'an object'
 * ```
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'nothing';
    case 'string':
      return value.length > 60
        ? `a string of ${value.length} characters (${quote(value.slice(0, 24))}...)`
        : quote(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (value === null) return 'null';
  try {
    if (Array.isArray(value))
      return value.length === 0
        ? 'an empty array'
        : `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return 'an object';
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `${article(name)} ${name}` : 'an object';
  } catch {
    // a proxy whose traps throw, or a throwing getter
    return 'an object that throws when read';
  }
}

/**
 * The message of one zod issue, in keel's words: what was expected and what was given. Passed
 * to zod as the per-parse error map, so a message a schema words itself (`.min(1, 'must not
 * be empty')`) still wins.
 */
export function zodIssueMessage(issue: z.core.$ZodRawIssue): string {
  const input: unknown = issue.input;
  const got = describeValue(input);
  switch (issue.code) {
    case 'invalid_type': {
      const expected = typePhrase(issue.expected);
      if (issue.expected === 'never') return `unexpected ${got}: leave it out`;
      if (input === undefined) return `required: expected ${expected}, got nothing`;
      if (issue.expected === 'int' && typeof input === 'number' && Number.isInteger(input))
        return `expected a safe integer (at most 2^53 - 1 in size), got ${got}`;
      return `expected ${expected}, got ${got}`;
    }
    case 'invalid_union':
      return unionMessage(issue, input, got);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${describeValue(issue.values[0])}, got ${got}`
        : `expected one of ${issue.values.map(describeValue).join(', ')}, got ${got}`;
    case 'too_small':
      return `expected ${sizePhrase(issue.origin, issue.minimum, issue.inclusive, issue.exact, 'min')}, got ${sized(issue.origin, input)}`;
    case 'too_big':
      return `expected ${sizePhrase(issue.origin, issue.maximum, issue.inclusive, issue.exact, 'max')}, got ${sized(issue.origin, input)}`;
    case 'invalid_format':
      return `expected ${formatPhrase(issue)}, got ${got}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}, got ${got}`;
    case 'unrecognized_keys': {
      const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ');
      const accepted = acceptedKeys(issue.inst);
      return `unknown key${issue.keys.length === 1 ? '' : 's'} ${keys}${accepted ? `; the accepted keys are ${accepted}` : '; remove it'}`;
    }
    case 'invalid_key':
      return `invalid key ${got}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    case 'invalid_element':
      return `invalid element ${got}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
    default:
      return `${got} is not accepted here`;
  }
}

/** zod's per-parse options: keel's wording, and the input kept on each issue to say what was given. */
const KEEL_PARSE_OPTIONS = { error: zodIssueMessage, reportInput: true } as const;

function zodValidationError(issues: readonly z.core.$ZodIssue[], what: string): ValidationError {
  const worded = issues.map(toValidationIssue);
  return new ValidationError(`[keel] invalid ${what}: ${describeIssues(worded)}`, {
    issues: worded,
  });
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

const WORDED_WHOLE: ReadonlySet<string> = new Set([
  'unrecognized_keys',
  'invalid_key',
  'invalid_element',
  'invalid_union',
]);

function toValidationIssue(issue: z.core.$ZodIssue): ValidationIssue {
  let message = issue.message;
  // A schema's own message says what is wrong; add what was given, unless it says so already
  // (or the issue is about keys or forms, which zodIssueMessage words whole).
  if ('input' in issue && !WORDED_WHOLE.has(issue.code) && !/\bgot\b/.test(message)) {
    const given = sized(sizeOrigin(issue), issue.input);
    if (!message.includes(given)) message += `, got ${given}`;
  }
  return { path: issue.path as PropertyKey[], message };
}

function sizeOrigin(issue: z.core.$ZodIssue): string | undefined {
  return issue.code === 'too_small' || issue.code === 'too_big' ? issue.origin : undefined;
}

function unionMessage(
  issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidUnion>,
  input: unknown,
  got: string,
): string {
  const extra = issue as { discriminator?: unknown; options?: unknown };
  if (typeof extra.discriminator === 'string') {
    const key = extra.discriminator;
    const options = Array.isArray(extra.options) ? extra.options.map(describeValue) : [];
    const value =
      typeof input === 'object' && input !== null
        ? (input as Record<string, unknown>)[key]
        : undefined;
    const expected = options.length ? `; expected one of ${options.join(', ')}` : '';
    if (typeof input !== 'object' || input === null)
      return `expected an object with a ${JSON.stringify(key)}${expected.replace('; expected', ':')}, got ${got}`;
    return value === undefined
      ? `required: ${expected.slice(2)}, got nothing`
      : `unknown ${key} ${describeValue(value)}${expected}`;
  }
  const description = (issue.inst as { description?: unknown } | undefined)?.description;
  if (typeof description === 'string') return `expected ${description}, got ${got}`;
  const branches = issue.errors ?? [];
  // each form's expectation, when every form failed on the value itself
  const expectations: string[] = [];
  for (const branch of branches) {
    const first = branch[0];
    const expectation =
      first === undefined || first.path.length > 0
        ? undefined
        : first.code === 'invalid_type'
          ? typePhrase(first.expected)
          : EXPECTATION.exec(first.message)?.[1];
    if (expectation === undefined) {
      expectations.length = 0;
      break;
    }
    if (!expectations.includes(expectation)) expectations.push(expectation);
  }
  if (expectations.length > 0) return `expected ${orList(expectations)}, got ${got}`;
  // several forms came close: say what each would need
  const forms = branches.slice(0, 3).map((branch) => {
    const first = branch[0];
    if (first === undefined) return 'another form';
    return (
      (first.path.length ? `${formatPath(first.path as PropertyKey[])}: ` : '') + first.message
    );
  });
  return `${got} fits none of the accepted forms (${forms.join('; or ')})`;
}

/** What an "expected X, got Y" message expects. */
const EXPECTATION = /^expected (.+?)(?:, got .*)?$/s;

function typePhrase(expected: string): string {
  return TYPE_PHRASES[expected] ?? `${article(expected)} ${expected}`;
}

const TYPE_PHRASES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  bigint: 'a bigint',
  boolean: 'a boolean',
  symbol: 'a symbol',
  undefined: 'nothing',
  void: 'nothing',
  null: 'null',
  never: 'nothing',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  tuple: 'an array',
  date: 'a Date',
  map: 'a Map',
  set: 'a Set',
  function: 'a function',
  promise: 'a promise',
  nan: 'NaN',
  file: 'a File',
  nonoptional: 'a value',
};

function sizePhrase(
  origin: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
  side: 'min' | 'max',
): string {
  const n = typeof bound === 'bigint' ? `${bound}n` : String(bound);
  const unit = UNITS[origin];
  if (unit !== undefined) {
    const count = Number(bound);
    if (side === 'min' && count === 1 && !exact) return `at least one ${unit}`;
    const word = exact ? 'exactly' : side === 'min' ? 'at least' : 'at most';
    return `${word} ${n} ${unit}${count === 1 ? '' : 's'}`;
  }
  const what = origin === 'date' ? 'a date' : origin === 'bigint' ? 'a bigint' : 'a number';
  if (exact) return `${what} equal to ${n}`;
  const op = side === 'min' ? (inclusive === false ? '>' : '>=') : inclusive === false ? '<' : '<=';
  return `${what} ${op} ${n}`;
}

const UNITS: Record<string, string> = {
  string: 'character',
  array: 'item',
  set: 'item',
  file: 'byte',
};

/** The input as a size check sees it: strings and arrays by their length. */
function sized(origin: string | undefined, input: unknown): string {
  if (origin === 'string' && typeof input === 'string') {
    return input.length <= 60
      ? `${describeValue(input)} (${input.length} character${input.length === 1 ? '' : 's'})`
      : describeValue(input);
  }
  return describeValue(input);
}

function formatPhrase(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidStringFormat>): string {
  const extra = issue as {
    pattern?: unknown;
    prefix?: unknown;
    suffix?: unknown;
    includes?: unknown;
  };
  switch (issue.format) {
    case 'regex':
      return `text matching ${String(extra.pattern)}`;
    case 'starts_with':
      return `text starting with ${describeValue(extra.prefix)}`;
    case 'ends_with':
      return `text ending with ${describeValue(extra.suffix)}`;
    case 'includes':
      return `text containing ${describeValue(extra.includes)}`;
    default:
      return `${article(issue.format)} ${issue.format}`;
  }
}

function acceptedKeys(inst: unknown): string | undefined {
  const shape = (inst as { _zod?: { def?: { shape?: unknown } } } | undefined)?._zod?.def?.shape;
  if (typeof shape !== 'object' || shape === null) return undefined;
  const keys = Object.keys(shape);
  if (keys.length === 0) return undefined;
  return keys.length > 20 ? `${keys.slice(0, 20).join(', ')}, ...` : keys.join(', ');
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

function quote(text: string): string {
  // JSON escapes control characters; single quotes read better around identifiers and digests
  return `'${JSON.stringify(text).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'")}'`;
}

/**
 * Finds an own `__proto__` key (JSON.parse creates them) anywhere in plain data. zod's
 * records silently drop such keys; keel refuses them instead, so nothing is lost quietly.
 */
function findProtoKey(
  value: unknown,
  path: PropertyKey[],
  depth: number,
): PropertyKey[] | undefined {
  if (typeof value !== 'object' || value === null || depth > 64 || ArrayBuffer.isView(value))
    return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null) {
        const found = findProtoKey(item, [...path, i], depth + 1);
        if (found) return found;
      }
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  if (Object.hasOwn(value, '__proto__')) return [...path, '__proto__'];
  for (const [key, item] of Object.entries(value)) {
    const found = findProtoKey(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Checks that `values` is an array or a typed array (what keel's numeric and column inputs
 * take), so that reading its length and items cannot run a caller's getter or proxy trap.
 *
 * @throws {ValidationError} naming `what` when it is anything else.
 */
export function assertArrayLike(
  values: unknown,
  what: string,
): asserts values is ArrayLike<unknown> {
  if (Array.isArray(values)) return;
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) return;
  throw new ValidationError(
    `[keel] invalid ${what}: expected an array or a typed array, got ${describeValue(values)}`,
    { issues: [{ path: [], message: `expected an array, got ${describeValue(values)}` }] },
  );
}

/**
 * Checks that `what` (a name a caller passes for its own error messages) is a string.
 *
 * @throws {ValidationError} when it is not.
 */
export function assertLabel(what: unknown, role: string): asserts what is string {
  if (typeof what === 'string') return;
  throw new ValidationError(
    `[keel] invalid ${role}: expected a string naming the values in messages, got ${describeValue(what)}`,
  );
}

/**
 * Reads `value[key]` for a check (`undefined` for null, undefined or a primitive without it):
 * a getter or proxy trap that throws becomes a `ValidationError` naming `what`.
 *
 * @throws {ValidationError} when reading the property throws.
 */
export function readProperty(value: unknown, key: PropertyKey, what: string): unknown {
  if (value === null || value === undefined) return undefined;
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch (error) {
    throw unreadable(what, error);
  }
}

/**
 * Checks that `value` is an object keel can read: not a function, not a primitive, and not a
 * proxy or exotic object whose traps throw (its prototype and keys are read once, here, where a
 * throw becomes a `ValidationError`). `undefined` passes when `optional`.
 *
 * @throws {ValidationError} naming `what` otherwise.
 */
export function assertReadableObject(
  value: unknown,
  what: string,
  optional = false,
): asserts value is object {
  if (value === undefined && optional) return;
  if (typeof value !== 'object' || value === null) {
    throw new ValidationError(
      `[keel] invalid ${what}: expected an object, got ${describeValue(value)}`,
      {
        issues: [{ path: [], message: `expected an object, got ${describeValue(value)}` }],
      },
    );
  }
  try {
    Object.getPrototypeOf(value);
    Reflect.ownKeys(value);
  } catch (error) {
    throw unreadable(what, error);
  }
}

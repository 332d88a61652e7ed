/**
 * Hostile arguments for the public-surface fuzz tests (issue 16): values a caller should never
 * pass but might (null, objects without a prototype, toString / valueOf tricks, `__proto__` keys,
 * NaN and infinities, huge strings, `../` names, symbols, proxies whose every trap throws), mixed
 * with plausible ones so that calls get past their first argument.
 */
import fc from 'fast-check';

/** A proxy whose every trap throws: reading it at all fails. */
export function throwingProxy(): object {
  const fail = (): never => {
    throw new TypeError('hostile proxy trap');
  };
  return new Proxy(
    {},
    {
      get: fail,
      has: fail,
      ownKeys: fail,
      getOwnPropertyDescriptor: fail,
      getPrototypeOf: fail,
      set: fail,
      defineProperty: fail,
      deleteProperty: fail,
      apply: fail,
      construct: fail,
      isExtensible: fail,
      preventExtensions: fail,
      setPrototypeOf: fail,
    },
  );
}

/** A function proxy whose every trap throws (calling it throws too). */
export function throwingFunction(): object {
  return new Proxy(() => undefined, {
    get: () => {
      throw new TypeError('hostile function proxy');
    },
    apply: () => {
      throw new TypeError('hostile function proxy called');
    },
  });
}

const HUGE = 'a'.repeat(300_000);

/** One fresh instance of each fixed hostile value (fresh: a call may mutate what it got). */
function fixed(): unknown[] {
  return [
    null,
    undefined,
    Object.create(null),
    { toString: () => 'm' },
    { valueOf: () => 1 },
    {
      toString: () => {
        throw new RangeError('toString throws');
      },
    },
    {
      [Symbol.toPrimitive]: () => {
        throw new TypeError('toPrimitive throws');
      },
    },
    JSON.parse('{"__proto__": {"polluted": true}, "name": "m"}'),
    JSON.parse('{"params": {"__proto__": 1}, "tags": {"__proto__": "x"}}'),
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    2 ** 53,
    1e308,
    -1e308,
    Number.MIN_VALUE,
    HUGE,
    '../../etc/passwd',
    '..',
    '.',
    'a/../b',
    '',
    ' ',
    '\u0000',
    '__proto__',
    'constructor',
    'sha256:../../x',
    Symbol('hostile'),
    throwingProxy(),
    throwingFunction(),
    () => 'm',
    new String('m'),
    new Number(1),
    10n,
    [1],
    ['m'],
    [Number.NaN, Number.POSITIVE_INFINITY],
    new Array(5),
    new Date(Number.NaN),
    new Map([['a', 1]]),
    new Set([1]),
    new Uint8Array(3),
    {
      // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point
      then: () => {
        throw new TypeError('thenable throws');
      },
    },
    { length: -1 },
    { length: 2 ** 32 },
  ];
}

/**
 * An argument to build when the call is made. fast-check inspects the values it generates (a
 * throwing proxy would throw inside fast-check), so arbitraries produce recipes, not values.
 */
export interface Arg {
  make(): unknown;
  /** How the value reads in a failure message. */
  label: string;
}

const FIXED_LABELS = fixed().map((value, i) => {
  if (typeof value === 'string')
    return value.length > 40 ? `'a'.repeat(${value.length})` : JSON.stringify(value);
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return `function#${i}`;
  try {
    return `fixed#${i} ${fc.stringify(value).slice(0, 60)}`;
  } catch {
    return `fixed#${i} (a throwing proxy)`;
  }
});

/** Every fixed hostile value once, as arguments: the deterministic sweep of each position. */
export function fixedArgs(): Arg[] {
  return FIXED_LABELS.map((label, i) => ({ make: () => fixed()[i], label }));
}

/** A plausible value (a model name), for the positions a sweep does not aim at. */
export const PLAUSIBLE_NAME: Arg = { make: () => 'm', label: '"m"' };

const fixedArg: fc.Arbitrary<Arg> = fc
  .integer({ min: 0, max: FIXED_LABELS.length - 1 })
  .map((i) => ({ make: () => fixed()[i], label: FIXED_LABELS[i]! }));

/** Any value fast-check can make, odd kinds included (null prototypes, boxed values, bigints, ...). */
export function anythingOdd(maxDepth?: number): fc.Arbitrary<unknown> {
  return fc.anything({
    withNullPrototype: true,
    withBigInt: true,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withSparseArray: true,
    withTypedArray: true,
    withDate: true,
    withObjectString: true,
    ...(maxDepth === undefined ? {} : { maxDepth }),
  });
}

/** Calls `call`; returns what it threw or rejected with (iterables: after their first item). */
export async function outcome(call: () => unknown): Promise<unknown> {
  try {
    const result = call();
    if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
      for await (const _ of result as AsyncIterable<unknown>) break;
    }
    await result;
    return undefined;
  } catch (error) {
    return error;
  }
}

const madeUpArg: fc.Arbitrary<Arg> = anythingOdd(2).map((value) => ({
  make: () => value,
  label: fc.stringify(value).slice(0, 80),
}));

/** A hostile value: a fixed trick, or something fast-check made up. */
export const hostile: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 3, arbitrary: fixedArg },
  { weight: 1, arbitrary: madeUpArg },
);

/** Keys that options objects of keel's methods accept, so hostile values reach deep checks. */
const OPTION_KEYS = [
  'experiment',
  'name',
  'params',
  'tags',
  'metrics',
  'artifact',
  'runId',
  'reason',
  'actor',
  'evidence',
  'expectedVersion',
  'limit',
  'after',
  'from',
  'filter',
  'orderBy',
  'dryRun',
  'method',
  'threshold',
  'policy',
  'rules',
  'kind',
  'metric',
  'min',
  'max',
  'subject',
  'model',
  'version',
  'alias',
  'seed',
  'columns',
  'inputs',
  'mediaType',
  'annotations',
  'status',
  'step',
  'timestamp',
  'cursor',
  'keel',
  'load',
  'strategy',
  'weight',
  'reference',
  'window',
  'size',
  'checkEvery',
  'pipeline',
  'input',
  'register',
  'gate',
  'promoteTo',
  'ms',
  'root',
  'backend',
  'references',
  'minAgeMs',
  'id',
  'role',
  'roles',
  'description',
  'signature',
  'parentRunId',
  'type',
  'values',
  'rebuildIndexes',
  'basePath',
  'pageSize',
  'title',
  'q',
  'alpha',
] as const;

/** Values that are valid somewhere: they get a call past one argument to the next. */
const PLAUSIBLE: readonly unknown[] = [
  'm',
  'prod',
  'e',
  'loss',
  'x',
  1,
  2,
  0.5,
  0,
  true,
  false,
  [],
  {},
  [1, 2, 3],
  { x: [1, 2, 3] },
  `sha256:${'0'.repeat(64)}`,
];

export const plausibleScalar: fc.Arbitrary<Arg> = fc
  .integer({ min: 0, max: PLAUSIBLE.length - 1 })
  .map((i) => ({ make: () => structuredClone(PLAUSIBLE[i]), label: JSON.stringify(PLAUSIBLE[i]) }));

/** An object with some of keel's option keys, holding hostile or plausible values. */
export const hostileOptions: fc.Arbitrary<Arg> = fc
  .uniqueArray(fc.constantFrom(...OPTION_KEYS), { maxLength: 4 })
  .chain((keys) =>
    fc.tuple(...keys.map(() => fc.oneof(hostile, plausibleScalar))).map((values) => ({
      make: () => {
        const out: Record<string, unknown> = {};
        keys.forEach((key, i) => {
          out[key] = values[i]!.make();
        });
        return out;
      },
      label: `{ ${keys.map((key, i) => `${key}: ${values[i]!.label}`).join(', ')} }`,
    })),
  );

/** An argument: hostile, a plausible scalar, or an options object with hostile values. */
export const argument: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 4, arbitrary: hostile },
  { weight: 2, arbitrary: plausibleScalar },
  { weight: 2, arbitrary: hostileOptions },
);

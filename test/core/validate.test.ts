import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ValidationError } from '../../src/core/errors.js';
import { describeValue, formatPath, parseWith } from '../../src/core/validate.js';
import type { GatePolicy } from '../../src/gates/schema.js';
import { createKeel } from '../../src/keel.js';
import { pipeline } from '../../src/pipeline/builder.js';

/** The message of the ValidationError `fn` throws (or rejects with). */
async function messageOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).message;
  }
  throw new Error('expected a ValidationError, but it succeeded');
}

function parse(schema: z.ZodType, value: unknown): Promise<string> {
  return messageOf(() => parseWith(schema, value, 'thing'));
}

/** zod's own wording, which must never reach a user. */
const ZOD_WORDS =
  /Invalid input|Invalid option|Invalid discriminator|received|nonoptional|Too (small|big)|Unrecognized key/;

describe('keel words every zod issue: what was expected, what was given', () => {
  it('invalid_type: the expected type and the value given, in words', async () => {
    const s = z.object({ a: z.string(), n: z.number(), list: z.array(z.number()) });
    expect(await parse(s, { a: 1, n: 1, list: [] })).toBe(
      '[keel] invalid thing: a: expected a string, got 1',
    );
    expect(await parse(s, { a: 'x', n: Number.NaN, list: [] })).toBe(
      '[keel] invalid thing: n: expected a number, got NaN',
    );
    expect(await parse(s, { a: 'x', n: 1, list: 'no' })).toBe(
      "[keel] invalid thing: list: expected an array, got 'no'",
    );
    expect(await parse(s, { n: 1, list: [] })).toBe(
      '[keel] invalid thing: a: required: expected a string, got nothing',
    );
    expect(await parse(s, [1, 2])).toBe(
      '[keel] invalid thing: expected an object, got an array of 2 items',
    );
    expect(await parse(z.object({ n: z.number().int() }), { n: 1.5 })).toBe(
      '[keel] invalid thing: n: expected an integer, got 1.5',
    );
  });

  it('invalid_union: the accepted forms, or the one form the value was meant for', async () => {
    const s = z.object({ v: z.union([z.string(), z.number(), z.boolean()]) });
    expect(await parse(s, { v: { deep: true } })).toBe(
      '[keel] invalid thing: v: expected a string, a number or a boolean, got an object',
    );
    const digestOrRef = z.union([
      z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected a digest 'sha256:<64 hex>'"),
      z.object({ digest: z.string() }),
    ]);
    // a string can only be meant as the string form: zod reports that form alone
    expect(await parse(digestOrRef, 'sha256:nothex')).toBe(
      "[keel] invalid thing: expected a digest 'sha256:<64 hex>', got 'sha256:nothex'",
    );
    // when both forms failed on the value itself, both are named
    const transformed = z.union([
      z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, "expected a digest 'sha256:<64 hex>'")
        .transform((d) => d),
      z.object({ digest: z.string() }),
    ]);
    expect(await parse(transformed, 'sha256:nothex')).toBe(
      "[keel] invalid thing: expected a digest 'sha256:<64 hex>' or an object, got 'sha256:nothex'",
    );
    const described = z.union([z.string(), z.number()]).describe('a name or an index');
    expect(await parse(described, null)).toBe(
      '[keel] invalid thing: expected a name or an index, got null',
    );
    const objects = z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]);
    expect(await parse(objects, { a: 1, b: 'x' })).toBe(
      "[keel] invalid thing: an object fits none of the accepted forms (a: expected a string, got 1; or b: expected a number, got 'x')",
    );
  });

  it('discriminated unions: an unknown or missing discriminator lists the kinds', async () => {
    const s = z.array(
      z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('metric') }),
        z.object({ kind: z.literal('compare') }),
      ]),
    );
    expect(await parse(s, [{ kind: 'nosuch' }])).toBe(
      "[keel] invalid thing: [0].kind: unknown kind 'nosuch'; expected one of 'metric', 'compare'",
    );
    expect(await parse(s, [{}])).toBe(
      "[keel] invalid thing: [0].kind: required: expected one of 'metric', 'compare', got nothing",
    );
  });

  it('invalid_value: the accepted values', async () => {
    expect(await parse(z.enum(['asc', 'desc']), 'up')).toBe(
      "[keel] invalid thing: expected one of 'asc', 'desc', got 'up'",
    );
    expect(await parse(z.literal(3), 4)).toBe('[keel] invalid thing: expected 3, got 4');
  });

  it('too_small / too_big: the bound and the size given', async () => {
    expect(await parse(z.string().min(1), '')).toBe(
      "[keel] invalid thing: expected at least one character, got '' (0 characters)",
    );
    expect(await parse(z.string().max(3), 'abcd')).toBe(
      "[keel] invalid thing: expected at most 3 characters, got 'abcd' (4 characters)",
    );
    expect(await parse(z.array(z.number()).max(2), [1, 2, 3])).toBe(
      '[keel] invalid thing: expected at most 2 items, got an array of 3 items',
    );
    expect(await parse(z.number().gt(0), 0)).toBe(
      '[keel] invalid thing: expected a number > 0, got 0',
    );
    expect(await parse(z.number().max(1), 2)).toBe(
      '[keel] invalid thing: expected a number <= 1, got 2',
    );
    expect(await parse(z.string().length(2), 'abc')).toBe(
      "[keel] invalid thing: expected exactly 2 characters, got 'abc' (3 characters)",
    );
  });

  it('invalid_format and not_multiple_of: the format expected', async () => {
    expect(await parse(z.string().regex(/^x+$/), 'y')).toBe(
      "[keel] invalid thing: expected text matching /^x+$/, got 'y'",
    );
    expect(await parse(z.string().startsWith('s3://'), 'gs://b')).toBe(
      "[keel] invalid thing: expected text starting with 's3://', got 'gs://b'",
    );
    expect(await parse(z.number().multipleOf(3), 4)).toBe(
      '[keel] invalid thing: expected a multiple of 3, got 4',
    );
  });

  it('unrecognized_keys: the unknown keys and the accepted ones', async () => {
    expect(await parse(z.strictObject({ limit: z.number().optional() }), { limt: 3 })).toBe(
      '[keel] invalid thing: unknown key "limt"; the accepted keys are limit',
    );
  });

  it('invalid_key: the key and what is wrong with it', async () => {
    expect(await parse(z.record(z.string().min(2), z.number()), { a: 1 })).toBe(
      "[keel] invalid thing: a: invalid key 'a': expected at least 2 characters, got 'a' (1 character)",
    );
  });

  it('custom checks keep their own words, and say what was given', async () => {
    expect(
      await parse(
        z.number().refine((n) => n % 2 === 0, 'must be even'),
        3,
      ),
    ).toBe('[keel] invalid thing: must be even, got 3');
    expect(
      await parse(
        z.custom((v) => v === 1),
        2,
      ),
    ).toBe('[keel] invalid thing: 2 is not accepted here');
    expect(await parse(z.string().min(1, 'must not be empty'), '')).toBe(
      "[keel] invalid thing: must not be empty, got '' (0 characters)",
    );
  });

  it('paths read as code: rules[0].kind, tags["x.y"]', () => {
    expect(formatPath(['rules', 0, 'kind'])).toBe('rules[0].kind');
    expect(formatPath(['tags', 'x.y'])).toBe('tags["x.y"]');
    expect(formatPath([2, 'a b'])).toBe('[2]["a b"]');
  });

  it('values are described briefly: long strings by length, objects by kind', () => {
    expect(describeValue('x'.repeat(100))).toBe(
      `a string of 100 characters ('${'x'.repeat(24)}'...)`,
    );
    expect(describeValue(new Map())).toBe('a Map');
    expect(describeValue(Object.create(null))).toBe('an object');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue("it's\n")).toBe("'it\\'s\\n'");
  });

  it('property: no zod wording ever reaches a message, whatever the input', async () => {
    const schema = z.strictObject({
      name: z.string().min(1).max(8),
      n: z.number().int().min(0),
      mode: z.enum(['a', 'b']),
      value: z.union([z.string(), z.number(), z.boolean()]),
      list: z.array(z.number()).max(2),
      rule: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('x'), v: z.number() }),
        z.object({ kind: z.literal('y') }),
      ]),
      map: z.record(z.string().min(2), z.number()),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.anything({ withNullPrototype: true, withBigInt: true }),
        async (input) => {
          if (schema.safeParse(input).success) return;
          expect(await parse(schema, input)).not.toMatch(ZOD_WORDS);
        },
      ),
      { numRuns: 300 },
    );
    const partial = fc.record(
      {
        name: fc.anything(),
        n: fc.anything(),
        mode: fc.anything(),
        value: fc.anything(),
        list: fc.anything(),
        rule: fc.anything(),
        map: fc.anything(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(partial, async (input) => {
        if (schema.safeParse(input).success) return;
        expect(await parse(schema, input)).not.toMatch(ZOD_WORDS);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the messages of issue 11, through the public API', () => {
  it('startRun: a param that is an object, a NaN param', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    expect(
      await messageOf(() =>
        keel.tracker.startRun({ experiment: 'e', params: { cfg: { a: 1 } as never } }),
      ),
    ).toBe(
      '[keel] invalid startRun options: params.cfg: expected a string, a number or a boolean, got an object',
    );
    expect(
      await messageOf(() =>
        keel.tracker.startRun({ experiment: 'e', params: { nanp: Number.NaN } }),
      ),
    ).toContain(
      'params.nanp: NaN is not a valid parameter value (metrics may be NaN, params may not)',
    );
  });

  it('registerVersion: a malformed digest', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    expect(
      await messageOf(() =>
        keel.registry.registerVersion('churn', { artifact: 'sha256:nothex' as never }),
      ),
    ).toContain(
      "artifact: expected a digest 'sha256:<64 lowercase hex>' or an object, got 'sha256:nothex'",
    );
  });

  it('a gate policy with an unknown rule kind lists the kinds', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    const message = await messageOf(() =>
      keel.gates.evaluate({ name: 'p', rules: [{ kind: 'nosuch' }] } as unknown as GatePolicy, {
        candidate: {},
      }),
    );
    expect(message).toContain(
      "rules[0].kind: unknown kind 'nosuch'; expected one of 'metric', 'compare'",
    );
    expect(message).not.toMatch(ZOD_WORDS);
  });

  it('a pipeline run without keel says it is required', async () => {
    const built = pipeline('p')
      .step('a', () => 1)
      .build();
    const message = await messageOf(() => built.run(undefined, {} as never));
    expect(message).not.toMatch(ZOD_WORDS);
    expect(message).toBe(
      '[keel] invalid run options of pipeline "p": keel: required: expected the keel to record ' +
        'into ({ keel: createKeel({ backend }) }), got nothing',
    );
  });
});

describe('user schemas of zod 4 get keel words too', () => {
  it('a pipeline input schema', async () => {
    const built = pipeline('v', { input: z.object({ n: z.number().int() }) })
      .step('a', ({ input }) => input.n)
      .build();
    const keel = createKeel({ backend: memoryBackend() });
    const message = await messageOf(() => built.run({ n: 1.5 }, { keel }));
    expect(message).toBe('[keel] invalid input of pipeline "v": n: expected an integer, got 1.5');
  });
});

/**
 * @module
 * The MetadataStore conformance suite: every adapter keel ships runs it, and a custom
 * adapter can run it in three lines.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { BatchOperation, BatchResult, MetadataStore } from '../metadata/types.js';
import { check, checkEqual, checkRejects, collect, describeInput } from './assert.js';
import { registerSuite, type SuiteCase, type SuiteOptions } from './runner.js';

/**
 * Simulates a crash in the middle of an atomic batch (for adapters with `atomicBatch`): runs
 * `operations` on `store` and stops it dead at `stage`, then resolves with the store as a
 * process started after the crash would open it (same data, fresh instance). `'before-commit'`:
 * the batch is being decided and nothing is committed yet; `'after-commit'`: the batch is
 * committed (durably) but none of its writes is applied yet. The suite then checks that the
 * batch happened entirely, or not at all.
 */
export type BatchCrash = (
  store: MetadataStore,
  operations: BatchOperation[],
  stage: 'before-commit' | 'after-commit',
) => Promise<MetadataStore>;

/** Options of {@link describeMetadataStore}. */
export type MetadataStoreSuiteOptions = SuiteOptions<MetadataStore> & {
  /**
   * The adapter's crash simulator for atomic batches (a test hook of the adapter); without it
   * the crash cases are skipped, saying so.
   */
  crashBatch?: BatchCrash;
};

/**
 * Registers the MetadataStore conformance tests. `factory` must return a fresh, empty store;
 * the suite calls its `close()` after each test.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { describeMetadataStore } from 'keel/testing';
 * describeMetadataStore('my-redis', () => createRedisStore(...), { runner: { describe, it } });
 * ```
 *
 * @throws {ValidationError} when a `skip` entry has no reason, or no runner is given and neither
 *   runner globals nor vitest are found. A failing case fails its test (an `Error` whose message
 *   starts with `conformance:` and names the input and the rule); it does not throw here.
 */
export function describeMetadataStore(
  name: string,
  factory: () => MetadataStore | Promise<MetadataStore>,
  options: MetadataStoreSuiteOptions = {},
): void {
  const { crashBatch, ...suiteOptions } = options;
  registerSuite(
    `MetadataStore conformance: ${name}`,
    factory,
    [...metadataCases, ...batchCases(crashBatch)],
    { ...suiteOptions, dispose: (store) => store.close?.() },
  );
}

/** Keys every method refuses, each with the rule that refuses it. */
const UNSAFE_KEYS: readonly (readonly [key: string, rule: string])[] = [
  ['', 'keys may not be empty'],
  ['..', 'keys may not have a ".." segment'],
  ['.', 'keys may not have a "." segment'],
  ['a/../b', 'keys may not have a ".." segment'],
  ['a/./b', 'keys may not have a "." segment'],
  ['/abs', 'keys may not be absolute (start with "/")'],
  ['a//b', 'keys may not have an empty segment (a doubled "/")'],
  ['a/', 'keys may not end with "/" (an empty last segment)'],
  ['a\u0000b', 'keys may not contain control characters (U+0000)'],
  ['a\nb', 'keys may not contain control characters (a newline)'],
  ['a\\b', 'keys may not contain a backslash'],
  ['C:\\x', 'keys may not contain a backslash nor start with a drive letter'],
  ['C:x', 'keys may not start with a drive letter (an absolute path)'],
  ['__proto__', 'keys may not have a "__proto__" segment'],
  ['models/__proto__/x', 'keys may not have a "__proto__" segment'],
  ['x'.repeat(2000), 'keys may not be longer than 1024 characters'],
];

async function increment(store: MetadataStore, key: string): Promise<void> {
  for (;;) {
    const current = await store.get(key);
    const next = ((current?.value as number | undefined) ?? 0) + 1;
    try {
      await store.put(key, next, { ifRevision: current?.revision ?? null });
      return;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.conflict)) throw error;
    }
  }
}

const metadataCases: SuiteCase<MetadataStore>[] = [
  [
    'get of a missing key is undefined',
    async (store) => {
      checkEqual(await store.get('nothing/here'), undefined, 'get');
    },
  ],
  [
    'put then get returns the value and a revision that changes on every write',
    async (store) => {
      const value = {
        name: 'churn',
        n: 3,
        ok: true,
        list: [1, 'two', null],
        nested: { x: -1.5e-7 },
      };
      const first = await store.put('models/churn', value);
      const read = await store.get('models/churn');
      checkEqual(read?.value, value, 'value');
      checkEqual(read?.revision, first.revision, 'revision');
      check(
        typeof first.revision === 'string' && first.revision.length > 0,
        'revision is a string',
      );
      const second = await store.put('models/churn', { ...value, n: 4 });
      check(second.revision !== first.revision, 'revision changes');
    },
  ],
  [
    'ifRevision null means "must not exist"',
    async (store) => {
      await store.put('k', 1, { ifRevision: null });
      await checkRejects(
        () => store.put('k', 2, { ifRevision: null }),
        ErrorCodes.conflict,
        "put('k', 2, { ifRevision: null }) when 'k' exists",
        'ifRevision null means the key must not exist',
      );
      checkEqual((await store.get('k'))?.value, 1, 'unchanged');
    },
  ],
  [
    'a stale revision is refused with ConflictError and nothing changes',
    async (store) => {
      const { revision } = await store.put('k', 'a');
      await store.put('k', 'b', { ifRevision: revision });
      const stale = 'the document was written since that revision';
      await checkRejects(
        () => store.put('k', 'c', { ifRevision: revision }),
        ErrorCodes.conflict,
        "put('k', 'c') with a stale ifRevision",
        stale,
      );
      await checkRejects(
        () => store.delete('k', { ifRevision: revision }),
        ErrorCodes.conflict,
        "delete('k') with a stale ifRevision",
        stale,
      );
      checkEqual((await store.get('k'))?.value, 'b', 'value after refused writes');
      await checkRejects(
        () => store.put('missing', 1, { ifRevision: revision }),
        ErrorCodes.conflict,
        "put('missing', 1) with an ifRevision",
        'a revision string requires the document to exist at that revision',
      );
    },
  ],
  [
    'delete removes a document and reports whether it existed',
    async (store) => {
      const { revision } = await store.put('k', 1);
      checkEqual(await store.delete('k', { ifRevision: revision }), true, 'first delete');
      checkEqual(await store.get('k'), undefined, 'gone');
      checkEqual(await store.delete('k'), false, 'second delete');
    },
  ],
  [
    'a key deleted and created again gets a new revision (no ABA)',
    async (store) => {
      const first = await store.put('k', 1, { ifRevision: null });
      await store.delete('k');
      const second = await store.put('k', 1, { ifRevision: null });
      check(second.revision !== first.revision, 'revisions differ');
      await checkRejects(
        () => store.put('k', 2, { ifRevision: first.revision }),
        ErrorCodes.conflict,
        "put('k', 2) with the revision 'k' had before it was deleted and created again",
        'a revision is never given twice to one key (no ABA)',
      );
    },
  ],
  [
    'values are copied on write and on read',
    async (store) => {
      const value = { list: [1, 2] };
      await store.put('k', value);
      value.list.push(3);
      const read = await store.get('k');
      (read?.value as { list: number[] } | undefined)?.list.push(4);
      checkEqual((await store.get('k'))?.value, { list: [1, 2] }, 'stored value');
    },
  ],
  [
    'values JSON cannot carry are refused with ValidationError and nothing is written',
    async (store) => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: [value: unknown, rule: string][] = [
        [Number.NaN, 'JSON has no NaN'],
        [Number.POSITIVE_INFINITY, 'JSON has no Infinity'],
        [undefined, 'undefined is not JSON (store null for nothing)'],
        [() => 1, 'a function is not JSON'],
        [10n, 'a bigint is not JSON'],
        [new Map(), 'a Map is not plain JSON data'],
        [cyclic, 'a value that contains itself has no JSON form'],
        [[undefined], 'arrays cannot hold undefined'],
        [
          JSON.parse('{"__proto__": {"polluted": true}}'),
          'an object key "__proto__" is refused (it would pollute prototypes)',
        ],
      ];
      for (const [index, [value, rule]] of bad.entries()) {
        await checkRejects(
          () => store.put(`bad/${index}`, value as JsonValue),
          ErrorCodes.validation,
          `put("bad/${index}", ${describeInput(value)})`,
          rule,
        );
      }
      checkEqual((await collect(store.list('bad/'))).length, 0, 'nothing written');
    },
  ],
  [
    'unsafe keys are refused with ValidationError everywhere',
    async (store) => {
      for (const [key, rule] of UNSAFE_KEYS) {
        const shown = describeInput(key);
        const v = ErrorCodes.validation;
        await checkRejects(() => store.put(key, 1), v, `put(${shown}, 1)`, rule);
        await checkRejects(() => store.get(key), v, `get(${shown})`, rule);
        await checkRejects(() => store.delete(key), v, `delete(${shown})`, rule);
        await checkRejects(() => store.append(key, [1]), v, `append(${shown}, [1])`, rule);
        await checkRejects(() => collect(store.read(key)), v, `read(${shown})`, rule);
      }
      checkEqual((await collect(store.list(''))).length, 0, 'nothing written');
    },
  ],
  [
    'keys that differ only in case are different documents',
    async (store) => {
      await store.put('models/Churn', 'upper');
      await store.put('models/churn', 'lower');
      await store.put('models/CHURN', 'all');
      checkEqual((await store.get('models/Churn'))?.value, 'upper', 'Churn');
      checkEqual((await store.get('models/churn'))?.value, 'lower', 'churn');
      checkEqual(
        (await collect(store.list('models/'))).map((d) => d.key),
        ['models/CHURN', 'models/Churn', 'models/churn'],
        'list',
      );
    },
  ],
  [
    'unicode, spaces, dots and long keys round-trip',
    async (store) => {
      const keys = [
        'exp/été ☃/run 1',
        'a.b/c..d/...x',
        'k/%41',
        `long/${'é'.repeat(300)}`,
        'a',
        'a/b',
      ];
      for (const key of keys) await store.put(key, key);
      for (const key of keys) checkEqual((await store.get(key))?.value, key, key.slice(0, 20));
      checkEqual(
        (await collect(store.list(''))).map((d) => d.key),
        [...keys].sort(),
        'list',
      );
    },
  ],
  [
    'list returns documents with the prefix in key order, with after and limit',
    async (store) => {
      const keys = ['runs/b', 'runs/a', 'runs/c/1', 'runsx', 'run', 'other/runs/a', 'runs/a/deep'];
      for (const key of keys) await store.put(key, { key });
      const listed = await collect(store.list('runs/'));
      checkEqual(
        listed.map((d) => d.key),
        ['runs/a', 'runs/a/deep', 'runs/b', 'runs/c/1'],
        'keys',
      );
      checkEqual(listed[0]?.value, { key: 'runs/a' }, 'value');
      checkEqual(
        (await collect(store.list('runs'))).map((d) => d.key),
        ['runs/a', 'runs/a/deep', 'runs/b', 'runs/c/1', 'runsx'],
        'partial segment prefix',
      );
      checkEqual(
        (await collect(store.list('runs/', { after: 'runs/a/deep', limit: 1 }))).map((d) => d.key),
        ['runs/b'],
        'page',
      );
      checkEqual((await collect(store.list(''))).length, keys.length, 'all');
      const limitRule = 'limit is an integer from 1 to 100000';
      for (const limit of [-1, 0, 1.5, Number.NaN, 100_001]) {
        await checkRejects(
          () => collect(store.list('', { limit })),
          ErrorCodes.validation,
          `list("", { limit: ${describeInput(limit)} })`,
          limitRule,
        );
      }
      await checkRejects(
        () => collect(store.list('', { after: 5 as unknown as string })),
        ErrorCodes.validation,
        'list("", { after: 5 })',
        'after is a string (the last key you saw)',
      );
      await checkRejects(
        () => collect(store.list('a\u0000')),
        ErrorCodes.validation,
        'list("a\\u0000")',
        'a prefix may not contain control characters',
      );
    },
  ],
  [
    'list orders keys by code point (UTF-8 byte order), also across U+FFFF',
    async (store) => {
      // UTF-16 order would put the emoji (a surrogate pair) first; code point order puts it last.
      const keys = [
        'order/\u{1F600}',
        'order/\uFFFD',
        'order/\uE000',
        'order/z',
        'order/\u{10000}x',
      ];
      for (const key of keys) await store.put(key, key);
      const sorted = [
        'order/z',
        'order/\uE000',
        'order/\uFFFD',
        'order/\u{10000}x',
        'order/\u{1F600}',
      ];
      checkEqual(
        (await collect(store.list('order/'))).map((d) => d.key),
        sorted,
        'list',
      );
      checkEqual(
        (await collect(store.list('order/', { after: 'order/\uFFFD' }))).map((d) => d.key),
        sorted.slice(3),
        'after',
      );
      checkEqual(
        (await collect(store.list('order/\u{1F600}'))).map((d) => d.key),
        ['order/\u{1F600}'],
        'astral prefix',
      );
      await checkRejects(
        () => store.put('order/\uD800', 1),
        ErrorCodes.validation,
        'put("order/\\uD800", 1)',
        'keys may not hold a lone surrogate (it has no UTF-8 form)',
      );
    },
  ],
  [
    'append returns contiguous offsets and read returns entries in order',
    async (store) => {
      checkEqual(await store.append('audit', [{ n: 0 }]), { offset: 0 }, 'first');
      checkEqual(
        await store.append('audit', [{ n: 1 }, { n: 2 }, { n: 3 }]),
        { offset: 1 },
        'batch',
      );
      checkEqual(await store.append('audit', ['four']), { offset: 4 }, 'after batch');
      const records = await collect(store.read('audit'));
      checkEqual(
        records.map((r) => r.offset),
        [0, 1, 2, 3, 4],
        'offsets',
      );
      checkEqual(records[2]?.entry, { n: 2 }, 'entry');
      checkEqual(
        (await collect(store.read('audit', { from: 3 }))).map((r) => r.offset),
        [3, 4],
        'from',
      );
      checkEqual(await collect(store.read('audit', { from: 99 })), [], 'past the end');
      checkEqual(await collect(store.read('empty-log')), [], 'missing log');
      await checkRejects(
        () => store.append('audit', []),
        ErrorCodes.validation,
        'append("audit", [])',
        'an append needs at least one entry',
      );
      await checkRejects(
        () => store.append('audit', [Number.NaN]),
        ErrorCodes.validation,
        'append("audit", [NaN])',
        'JSON has no NaN',
      );
      await checkRejects(
        () => store.append('audit', 'x' as unknown as JsonValue[]),
        ErrorCodes.validation,
        'append("audit", "x")',
        'entries is an array',
      );
      for (const from of [-1, 1.5]) {
        await checkRejects(
          () => collect(store.read('audit', { from })),
          ErrorCodes.validation,
          `read("audit", { from: ${from} })`,
          'from is a non-negative integer offset',
        );
      }
      checkEqual(
        (await collect(store.read('audit'))).length,
        5,
        'nothing appended by refused calls',
      );
    },
  ],
  [
    'logs and documents with the same name do not interfere',
    async (store) => {
      await store.put('same', 'doc');
      await store.append('same', ['log']);
      checkEqual((await store.get('same'))?.value, 'doc', 'doc');
      checkEqual(
        (await collect(store.read('same'))).map((r) => r.entry),
        ['log'],
        'log',
      );
    },
  ],
  [
    'concurrent compare-and-swap increments never lose an update',
    async (store) => {
      await Promise.all(Array.from({ length: 25 }, () => increment(store, 'counter')));
      checkEqual((await store.get('counter'))?.value, 25, 'counter');
    },
  ],
  [
    'concurrent appends get unique contiguous offsets',
    async (store) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.append('log', [i, i])),
      );
      const offsets = results.map((r) => r.offset).sort((a, b) => a - b);
      checkEqual(
        offsets,
        Array.from({ length: 20 }, (_, i) => i * 2),
        'first offsets',
      );
      const records = await collect(store.read('log'));
      checkEqual(
        records.map((r) => r.offset),
        Array.from({ length: 40 }, (_, i) => i),
        'offsets',
      );
      for (const result of results) {
        checkEqual(
          records[result.offset]?.entry,
          records[result.offset + 1]?.entry,
          'batches stay together',
        );
      }
    },
  ],
  [
    'listLogs (capability) names every log with an entry, in name order, with prefix, after and limit',
    async (store) => {
      if (store.capabilities?.listLogs === true) {
        check(
          typeof store.listLogs === 'function',
          'capabilities.listLogs declares a listLogs method',
        );
      }
      if (!store.listLogs) return;
      const long = `deep/${'s'.repeat(300)}/${'t'.repeat(300)}`;
      const names = ['b/2', 'a', 'b/1', 'b/10', 'c/x y.z', long, 'b/ü'];
      for (const name of names) await store.append(name, [name]);
      await store.put('doc/not-a-log', 1);
      const all = await collect(store.listLogs(''));
      checkEqual(all, [...names].sort(), 'every log, in name order');
      checkEqual(await collect(store.listLogs('b/')), ['b/1', 'b/10', 'b/2', 'b/ü'], 'prefix');
      checkEqual(await collect(store.listLogs('b/1')), ['b/1', 'b/10'], 'partial segment');
      checkEqual(
        await collect(store.listLogs('b/', { after: 'b/1', limit: 2 })),
        ['b/10', 'b/2'],
        'after and limit',
      );
      checkEqual(await collect(store.listLogs('deep/')), [long], 'a name too long for a path');
      checkEqual(await collect(store.listLogs('none/')), [], 'no match');
      // Code point order, also for `after`: UTF-16 order would put the emoji first.
      await store.append('cp/\u{1F600}', [1]);
      await store.append('cp/\uFFFD', [1]);
      checkEqual(
        await collect(store.listLogs('cp/')),
        ['cp/\uFFFD', 'cp/\u{1F600}'],
        'log names in code point order',
      );
      checkEqual(
        await collect(store.listLogs('cp/', { after: 'cp/\uFFFD' })),
        ['cp/\u{1F600}'],
        'after, compared by code point',
      );
      await checkRejects(
        () => collect(store.listLogs!('', { limit: 0 })),
        ErrorCodes.validation,
        'listLogs("", { limit: 0 })',
        'limit is an integer from 1 to 100000',
      );
    },
  ],
  [
    'values read back never pollute prototypes',
    async (store) => {
      await store.put('k', {
        constructor: { prototype: { polluted: true } },
        nested: { constructor: 'x' },
      });
      await store.append('l', [{ constructor: { prototype: { polluted: true } } }]);
      const read = (await store.get('k'))?.value as Record<string, unknown>;
      Object.assign({}, read, ...(await collect(store.read('l'))).map((r) => r.entry as object));
      check(!('polluted' in {}), 'Object.prototype untouched');
      checkEqual(read.nested, { constructor: 'x' }, 'data kept');
    },
  ],
];

const NO_BATCH = (store: MetadataStore): string | undefined =>
  store.capabilities?.atomicBatch === true && typeof store.batch === 'function'
    ? undefined
    : 'the adapter does not declare capabilities.atomicBatch';

/** `store.batch`, which the cases below only call when the adapter declares it. */
function batchOf(store: MetadataStore): NonNullable<MetadataStore['batch']> {
  const batch = store.batch;
  check(typeof batch === 'function', 'batch is a function');
  return batch.bind(store);
}

/** Everything a batch touches, as plain data, to compare before and after. */
async function snapshot(store: MetadataStore): Promise<unknown> {
  return {
    docs: (await collect(store.list('b/'))).map((d) => [d.key, d.value, d.revision]),
    log: (await collect(store.read('b/log'))).map((r) => [r.offset, r.entry]),
  };
}

function batchCases(crashBatch: BatchCrash | undefined): SuiteCase<MetadataStore>[] {
  const crashCase = (
    name: string,
    stage: 'before-commit' | 'after-commit',
  ): SuiteCase<MetadataStore> => [
    name,
    async (store) => {
      const kept = await store.put('b/kept', 1);
      await store.put('b/gone', 1);
      await store.append('b/log', ['first']);
      const operations: BatchOperation[] = [
        { op: 'put', key: 'b/kept', value: 2, ifRevision: kept.revision },
        { op: 'put', key: 'b/new', value: 'n', ifRevision: null },
        { op: 'delete', key: 'b/gone' },
        { op: 'append', log: 'b/log', entries: ['second', 'third'], expectedOffset: 1 },
      ];
      const before = await snapshot(store);
      const reopened = await crashBatch!(store, operations, stage);
      try {
        if (stage === 'before-commit') {
          checkEqual(await snapshot(reopened), before, 'nothing of the batch is visible');
          // And the store takes the same batch afterwards.
          const results = await batchOf(reopened)(operations);
          checkEqual(results.length, 4, 'the batch runs after the crash');
        } else {
          checkEqual((await reopened.get('b/kept'))?.value, 2, 'put applied');
          checkEqual((await reopened.get('b/new'))?.value, 'n', 'create applied');
          checkEqual(await reopened.get('b/gone'), undefined, 'delete applied');
          checkEqual(
            (await collect(reopened.read('b/log'))).map((r) => r.entry),
            ['first', 'second', 'third'],
            'append applied once',
          );
          await checkRejects(
            () => batchOf(reopened)(operations),
            ErrorCodes.conflict,
            'the same batch again after recovery',
            'its conditions no longer hold once it was applied',
          );
        }
        // Writes after the recovery build on it.
        checkEqual(await reopened.append('b/log', ['after']), { offset: 3 }, 'append after');
      } finally {
        await reopened.close?.();
      }
    },
    (store) =>
      NO_BATCH(store) ??
      (crashBatch === undefined
        ? "no crashBatch option: pass the adapter's crash simulator to test crash recovery"
        : undefined),
  ];

  return [
    [
      'batch applies puts, deletes and appends together and returns results in order',
      async (store) => {
        const a = await store.put('b/a', 'a0');
        await store.put('b/d', 'd0');
        await store.append('b/log', ['x']);
        const results = await batchOf(store)([
          { op: 'append', log: 'b/log', entries: ['y', 'z'], expectedOffset: 1 },
          { op: 'put', key: 'b/a', value: { v: 'a1' }, ifRevision: a.revision },
          { op: 'delete', key: 'b/d' },
          { op: 'put', key: 'b/c', value: [1, 2], ifRevision: null },
          { op: 'delete', key: 'b/missing' },
          { op: 'append', log: 'b/other', entries: [0] },
        ]);
        checkEqual(
          results.map((r) => r.op),
          ['append', 'put', 'delete', 'put', 'delete', 'append'],
          'results in the order of the operations',
        );
        checkEqual(results[0], { op: 'append', log: 'b/log', offset: 1 }, 'append result');
        checkEqual(results[2], { op: 'delete', key: 'b/d', deleted: true }, 'delete result');
        checkEqual(results[4], { op: 'delete', key: 'b/missing', deleted: false }, 'no-op delete');
        checkEqual(results[5], { op: 'append', log: 'b/other', offset: 0 }, 'new log');
        const put = results[1] as Extract<BatchResult, { op: 'put' }>;
        const got = await store.get('b/a');
        checkEqual(got, { value: { v: 'a1' }, revision: put.revision }, 'put with its revision');
        check(put.revision !== a.revision, 'a new revision');
        checkEqual((await store.get('b/c'))?.value, [1, 2], 'created');
        checkEqual(await store.get('b/d'), undefined, 'deleted');
        checkEqual(
          (await collect(store.read('b/log'))).map((r) => r.entry),
          ['x', 'y', 'z'],
          'appended',
        );
        // A document and a log may share a name in one batch.
        await batchOf(store)([
          { op: 'put', key: 'b/same', value: 'doc' },
          { op: 'append', log: 'b/same', entries: ['log'] },
        ]);
        checkEqual((await store.get('b/same'))?.value, 'doc', 'doc of a shared name');
      },
      NO_BATCH,
    ],
    [
      'batch: one failing ifRevision or expectedOffset writes nothing',
      async (store) => {
        const a = await store.put('b/a', 'a0');
        await store.put('b/a', 'a1');
        await store.put('b/exists', 1);
        await store.put('b/also', 1);
        await store.append('b/log', ['x']);
        const before = await snapshot(store);
        const failing: [BatchOperation[], string][] = [
          [
            [{ op: 'put', key: 'b/a', value: 'stale', ifRevision: a.revision }],
            'a put with a stale ifRevision',
          ],
          [
            [{ op: 'put', key: 'b/exists', value: 2, ifRevision: null }],
            'a put with ifRevision null of a key that exists',
          ],
          [
            [{ op: 'delete', key: 'b/a', ifRevision: a.revision }],
            'a delete with a stale ifRevision',
          ],
          [
            [{ op: 'delete', key: 'b/nothing', ifRevision: a.revision }],
            'a delete with an ifRevision of a missing document',
          ],
          [
            [{ op: 'append', log: 'b/log', entries: ['y'], expectedOffset: 0 }],
            'an append with expectedOffset 0 to a log of 1 entry',
          ],
          [
            [{ op: 'append', log: 'b/log', entries: ['y'], expectedOffset: 2 }],
            'an append with expectedOffset 2 to a log of 1 entry',
          ],
        ];
        for (const [index, [bad, holding]] of failing.entries()) {
          await checkRejects(
            () =>
              batchOf(store)([
                { op: 'put', key: 'b/new', value: index },
                { op: 'append', log: 'b/other', entries: [index] },
                ...bad,
                { op: 'delete', key: 'b/also' },
              ]),
            ErrorCodes.conflict,
            `a batch holding ${holding}`,
            'one failing condition fails the whole batch',
          );
          checkEqual(await snapshot(store), before, `nothing written by batch ${index}`);
          checkEqual(await collect(store.read('b/other')), [], `no append by batch ${index}`);
        }
      },
      NO_BATCH,
    ],
    [
      'batch refuses invalid operations and the same key or log twice, writing nothing',
      async (store) => {
        await store.put('b/a', 1);
        const before = await snapshot(store);
        const fine = { op: 'put', key: 'b/fine', value: 1 };
        const invalid: [operations: unknown, rule: string][] = [
          [[], 'a batch needs at least one operation'],
          ['not a list', 'a batch is an array of operations'],
          [[fine, { op: 'rename', key: 'b/a' }], "op is 'put', 'delete' or 'append'"],
          [[fine, null], 'every operation is an object'],
          [
            [
              { op: 'put', key: 'b/a', value: 1 },
              { op: 'delete', key: 'b/a' },
            ],
            'a key may appear once in a batch',
          ],
          [
            [
              { op: 'append', log: 'b/log', entries: [1] },
              { op: 'append', log: 'b/log', entries: [2] },
            ],
            'a log may appear once in a batch',
          ],
          [[fine, { op: 'put', key: '../escape', value: 1 }], 'keys may not have a ".." segment'],
          [[fine, { op: 'put', key: 'b/x', value: Number.NaN }], 'JSON has no NaN'],
          [[fine, { op: 'put', key: 'b/x' }], 'a put needs a value'],
          [
            [fine, { op: 'put', key: 'b/x', value: 1, ifRevision: 5 }],
            'ifRevision is a string or null',
          ],
          [
            [fine, { op: 'delete', key: 'b/a', ifRevision: null }],
            "a delete's ifRevision is a string (null is for put)",
          ],
          [
            [fine, { op: 'append', log: 'b/log', entries: [] }],
            'an append needs at least one entry',
          ],
          [
            [fine, { op: 'append', log: 'b/log', entries: [1], expectedOffset: -1 }],
            'expectedOffset is a non-negative integer',
          ],
          [
            [fine, { op: 'append', log: 'b/log', entries: [1], expectedOffset: 1.5 }],
            'expectedOffset is a non-negative integer',
          ],
        ];
        for (const [index, [operations, rule]] of invalid.entries()) {
          await checkRejects(
            () => batchOf(store)(operations as BatchOperation[]),
            ErrorCodes.validation,
            `batch(${describeInput(operations)})`,
            rule,
          );
          checkEqual(await snapshot(store), before, `nothing written by invalid batch ${index}`);
        }
      },
      NO_BATCH,
    ],
    [
      'two batches racing on one key: exactly one wins, entirely',
      async (store) => {
        for (let round = 0; round < 5; round++) {
          const current = await store.get('b/race');
          const length = (await collect(store.read('b/log'))).length;
          const attempt = (who: string) =>
            batchOf(store)([
              { op: 'put', key: 'b/race', value: who, ifRevision: current?.revision ?? null },
              { op: 'append', log: 'b/log', entries: [who], expectedOffset: length },
              { op: 'put', key: `b/by-${who}-${round}`, value: round },
            ]);
          const outcomes = await Promise.allSettled([attempt('left'), attempt('right')]);
          const won = outcomes.filter((o) => o.status === 'fulfilled');
          checkEqual(won.length, 1, `round ${round}: exactly one batch wins`);
          const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
          check(isKeelError(lost.reason, ErrorCodes.conflict), `round ${round}: ConflictError`);
          const winner = (await store.get('b/race'))?.value as string;
          const loser = winner === 'left' ? 'right' : 'left';
          checkEqual(
            (await collect(store.read('b/log', { from: length }))).map((r) => r.entry),
            [winner],
            `round ${round}: the winner's append only`,
          );
          checkEqual((await store.get(`b/by-${winner}-${round}`))?.value, round, 'winner wrote');
          checkEqual(await store.get(`b/by-${loser}-${round}`), undefined, 'loser wrote nothing');
        }
      },
      NO_BATCH,
    ],
    [
      'batches that retry on conflict never lose an update',
      async (store) => {
        const increment = async (who: number) => {
          for (;;) {
            const current = await store.get('b/counter');
            const value = ((current?.value as number | undefined) ?? 0) + 1;
            try {
              await batchOf(store)([
                { op: 'put', key: 'b/counter', value, ifRevision: current?.revision ?? null },
                { op: 'append', log: 'b/log', entries: [{ who, value }] },
              ]);
              return;
            } catch (error) {
              if (!isKeelError(error, ErrorCodes.conflict)) throw error;
            }
          }
        };
        await Promise.all(Array.from({ length: 12 }, (_, who) => increment(who)));
        checkEqual((await store.get('b/counter'))?.value, 12, 'counter');
        const values = (await collect(store.read('b/log'))).map(
          (r) => (r.entry as { value: number }).value,
        );
        checkEqual(
          [...values].sort((x, y) => x - y),
          Array.from({ length: 12 }, (_, i) => i + 1),
          'one log entry per increment',
        );
      },
      NO_BATCH,
    ],
    crashCase(
      'batch: a crash after the batch committed, before it applied: all of it shows after reopening',
      'after-commit',
    ),
    crashCase(
      'batch: a crash while the batch was being decided: none of it shows after reopening',
      'before-commit',
    ),
  ];
}

/**
 * @module
 * The MetadataStore conformance suite: every adapter keel ships runs it, and a custom
 * adapter can run it in three lines.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import { check, checkEqual, checkRejects, collect } from './assert.js';
import { registerSuite, type SuiteCase, type SuiteOptions } from './runner.js';

/** Options of {@link describeMetadataStore}. */
export type MetadataStoreSuiteOptions = SuiteOptions<MetadataStore>;

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
 */
export function describeMetadataStore(
  name: string,
  factory: () => MetadataStore | Promise<MetadataStore>,
  options: MetadataStoreSuiteOptions = {},
): void {
  registerSuite(`MetadataStore conformance: ${name}`, factory, metadataCases, {
    ...options,
    dispose: (store) => store.close?.(),
  });
}

const UNSAFE_KEYS = [
  '',
  '..',
  '.',
  'a/../b',
  'a/./b',
  '/abs',
  'a//b',
  'a/',
  'a\u0000b',
  'a\nb',
  'C:\\x',
  'a\\b',
  '__proto__',
  'x'.repeat(2000),
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
        'second create',
      );
      checkEqual((await store.get('k'))?.value, 1, 'unchanged');
    },
  ],
  [
    'a stale revision is refused with ConflictError and nothing changes',
    async (store) => {
      const { revision } = await store.put('k', 'a');
      await store.put('k', 'b', { ifRevision: revision });
      await checkRejects(
        () => store.put('k', 'c', { ifRevision: revision }),
        ErrorCodes.conflict,
        'stale put',
      );
      await checkRejects(
        () => store.delete('k', { ifRevision: revision }),
        ErrorCodes.conflict,
        'stale delete',
      );
      checkEqual((await store.get('k'))?.value, 'b', 'value');
      await checkRejects(
        () => store.put('missing', 1, { ifRevision: revision }),
        ErrorCodes.conflict,
        'put missing',
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
        'old revision',
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
      const bad: unknown[] = [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        undefined,
        () => 1,
        10n,
        new Map(),
        cyclic,
        [undefined],
        JSON.parse('{"__proto__": {"polluted": true}}'),
      ];
      for (const [index, value] of bad.entries()) {
        await checkRejects(
          () => store.put(`bad/${index}`, value as JsonValue),
          ErrorCodes.validation,
          `value ${index}`,
        );
      }
      checkEqual((await collect(store.list('bad/'))).length, 0, 'nothing written');
    },
  ],
  [
    'unsafe keys are refused with ValidationError everywhere',
    async (store) => {
      for (const key of UNSAFE_KEYS) {
        const shown = JSON.stringify(key.slice(0, 20));
        await checkRejects(() => store.put(key, 1), ErrorCodes.validation, `put ${shown}`);
        await checkRejects(() => store.get(key), ErrorCodes.validation, `get ${shown}`);
        await checkRejects(() => store.delete(key), ErrorCodes.validation, `delete ${shown}`);
        await checkRejects(() => store.append(key, [1]), ErrorCodes.validation, `append ${shown}`);
        await checkRejects(() => collect(store.read(key)), ErrorCodes.validation, `read ${shown}`);
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
      await checkRejects(
        () => collect(store.list('', { limit: -1 })),
        ErrorCodes.validation,
        'limit',
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
      await checkRejects(() => store.append('audit', []), ErrorCodes.validation, 'empty append');
      await checkRejects(
        () => store.append('audit', [Number.NaN]),
        ErrorCodes.validation,
        'NaN entry',
      );
      await checkRejects(
        () => collect(store.read('audit', { from: -1 })),
        ErrorCodes.validation,
        'negative from',
      );
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

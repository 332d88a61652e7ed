/**
 * @module
 * The ArtifactStore conformance suite: every adapter keel ships runs it, and a custom
 * adapter can run it in three lines.
 */
import type { ArtifactStore, ListArtifactsOptions, PutOptions } from '../artifacts/types.js';
import { digestOf } from '../core/digest.js';
import { ErrorCodes } from '../core/errors.js';
import { check, checkEqual, checkRejects, collect, describeInput } from './assert.js';
import { registerSuite, type SuiteCase, type SuiteOptions } from './runner.js';

/** Options of {@link describeArtifactStore}. */
export type ArtifactStoreSuiteOptions = SuiteOptions<ArtifactStore>;

/**
 * Registers the ArtifactStore conformance tests. `factory` must return a fresh, empty store.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { describeArtifactStore } from 'keel/testing';
 * describeArtifactStore('my-s3', () => createS3Store(...), { runner: { describe, it } });
 * ```
 *
 * @throws {ValidationError} when a `skip` entry has no reason, or no runner is given and neither
 *   runner globals nor vitest are found. A failing case fails its test (an `Error` whose message
 *   starts with `conformance:` and names the input and the rule); it does not throw here.
 */
export function describeArtifactStore(
  name: string,
  factory: () => ArtifactStore | Promise<ArtifactStore>,
  options: ArtifactStoreSuiteOptions = {},
): void {
  registerSuite(`ArtifactStore conformance: ${name}`, factory, artifactCases, options);
}

const text = new TextEncoder();
const BAD_DIGEST = 'sha256:XYZ' as const;
const UNKNOWN = `sha256:${'0'.repeat(64)}` as const;

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

function patterned(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

const artifactCases: SuiteCase<ArtifactStore>[] = [
  [
    'put returns the digest digestOf gives, and get returns the bytes',
    async (store) => {
      const meta = await store.put('hello keel', {
        mediaType: 'text/plain',
        annotations: { a: '1' },
      });
      checkEqual(meta.digest, await digestOf('hello keel'), 'digest');
      checkEqual(meta.size, 10, 'size');
      checkEqual(meta.mediaType, 'text/plain', 'mediaType');
      checkEqual(meta.annotations, { a: '1' }, 'annotations');
      check(!Number.isNaN(Date.parse(meta.createdAt)), 'createdAt is an ISO date');
      checkEqual(await store.get(meta.digest), text.encode('hello keel'), 'bytes');
    },
  ],
  [
    'accepts Uint8Array, AsyncIterable and ReadableStream bodies',
    async (store) => {
      const bytes = patterned(300_000);
      const expected = await digestOf(bytes);
      checkEqual((await store.put(bytes)).digest, expected, 'Uint8Array');
      checkEqual((await store.put(chunked(bytes, 65_536))).digest, expected, 'AsyncIterable');
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, 1000));
          controller.enqueue(bytes.slice(1000));
          controller.close();
        },
      });
      checkEqual((await store.put(stream)).digest, expected, 'ReadableStream');
      checkEqual((await collect(store.list())).length, 1, 'stored once');
    },
  ],
  [
    'stores the empty body',
    async (store) => {
      const meta = await store.put(new Uint8Array(0));
      checkEqual(meta.size, 0, 'size');
      checkEqual((await store.get(meta.digest)).length, 0, 'length');
    },
  ],
  [
    'deduplicates: the first mediaType and annotations stand',
    async (store) => {
      const first = await store.put('same', {
        mediaType: 'text/plain',
        annotations: { who: 'first' },
      });
      const second = await store.put('same', {
        mediaType: 'application/json',
        annotations: { who: 'second' },
      });
      checkEqual(second.digest, first.digest, 'digest');
      checkEqual(second.mediaType, 'text/plain', 'mediaType');
      checkEqual(second.annotations, { who: 'first' }, 'annotations');
      checkEqual((await collect(store.list())).length, 1, 'one blob');
    },
  ],
  [
    'concurrent puts of the same bytes store one blob',
    async (store) => {
      const bytes = patterned(100_000);
      const metas = await Promise.all(Array.from({ length: 8 }, () => store.put(bytes)));
      checkEqual(new Set(metas.map((m) => m.digest)).size, 1, 'one digest');
      checkEqual((await collect(store.list())).length, 1, 'one blob');
      checkEqual(await store.get(metas[0]!.digest), bytes, 'bytes');
    },
  ],
  [
    'expectedDigest that matches is accepted',
    async (store) => {
      const digest = await digestOf('x');
      checkEqual((await store.put('x', { expectedDigest: digest })).digest, digest, 'digest');
    },
  ],
  [
    'expectedDigest that does not match throws IntegrityError and stores nothing',
    async (store) => {
      await checkRejects(
        () => store.put('x', { expectedDigest: UNKNOWN }),
        ErrorCodes.integrity,
        `put("x", { expectedDigest: ${UNKNOWN.slice(0, 15)}... })`,
        'bytes that do not hash to expectedDigest are not stored',
      );
      checkEqual(await store.has(await digestOf('x')), false, 'has');
      checkEqual((await collect(store.list())).length, 0, 'nothing listed');
    },
  ],
  [
    'unknown digests: get and stream throw NotFoundError, stat is undefined, has is false',
    async (store) => {
      const absent = 'a well-formed digest that is not stored is not found';
      await checkRejects(
        () => store.get(UNKNOWN),
        ErrorCodes.notFound,
        'get(an unknown digest)',
        absent,
      );
      await checkRejects(
        () => collect(store.stream(UNKNOWN)),
        ErrorCodes.notFound,
        'stream(an unknown digest)',
        absent,
      );
      checkEqual(await store.stat(UNKNOWN), undefined, 'stat');
      checkEqual(await store.has(UNKNOWN), false, 'has');
      checkEqual(await store.delete(UNKNOWN), false, 'delete');
    },
  ],
  [
    'malformed digests throw ValidationError everywhere',
    async (store) => {
      const rule = 'a digest is "sha256:" and 64 lowercase hex characters';
      const v = ErrorCodes.validation;
      for (const bad of [
        BAD_DIGEST,
        '',
        'sha256:../../etc/passwd',
        `sha256:${'A'.repeat(64)}`,
        `sha256:${'0'.repeat(63)}`,
        42,
      ]) {
        const digest = bad as typeof UNKNOWN;
        const shown = describeInput(bad);
        await checkRejects(() => store.get(digest), v, `get(${shown})`, rule);
        await checkRejects(() => collect(store.stream(digest)), v, `stream(${shown})`, rule);
        await checkRejects(() => store.stat(digest), v, `stat(${shown})`, rule);
        await checkRejects(() => store.has(digest), v, `has(${shown})`, rule);
        await checkRejects(() => store.delete(digest), v, `delete(${shown})`, rule);
      }
    },
  ],
  [
    'bad put options throw ValidationError and store nothing',
    async (store) => {
      const bad: [opts: unknown, rule: string][] = [
        [{ mediaType: 'not a type' }, 'mediaType looks like "type/subtype"'],
        [{ mediaType: '' }, 'mediaType looks like "type/subtype"'],
        [{ mediaType: `text/${'x'.repeat(300)}` }, 'mediaType is at most 255 characters'],
        [
          JSON.parse('{"annotations": {"__proto__": "x"}}'),
          'an annotation key may not be "__proto__"',
        ],
        [{ annotations: { a: 1 } }, 'annotation values are strings (a number is not converted)'],
        [{ annotations: { '': 'x' } }, 'annotation keys are 1 to 250 characters'],
        [
          { annotations: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
          'at most 64 annotations',
        ],
        [{ annotations: { a: 'x'.repeat(5000) } }, 'annotation values are at most 4096 characters'],
        [{ expectedDigest: 'sha256:XYZ' }, 'expectedDigest is a well-formed digest'],
        [{ mediatype: 'text/plain' }, 'unknown options are refused (mediaType is spelt so)'],
      ];
      for (const [opts, rule] of bad) {
        await checkRejects(
          () => store.put('x', opts as PutOptions),
          ErrorCodes.validation,
          `put("x", ${describeInput(opts)})`,
          rule,
        );
      }
      await checkRejects(
        () => store.put(42 as unknown as string),
        ErrorCodes.validation,
        'put(42)',
        'a body is a Uint8Array, a string, an AsyncIterable<Uint8Array> or a ReadableStream',
      );
      checkEqual((await collect(store.list())).length, 0, 'nothing stored');
    },
  ],
  [
    'a body that fails mid-stream stores nothing',
    async (store) => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield patterned(1000);
        throw new Error('source broke');
      }
      let failed = false;
      try {
        await store.put(failing());
      } catch {
        failed = true;
      }
      check(failed, 'put rejects');
      checkEqual((await collect(store.list())).length, 0, 'nothing stored');
    },
  ],
  [
    'stream yields the stored bytes',
    async (store) => {
      const bytes = patterned(1_000_000);
      const { digest } = await store.put(bytes);
      const chunks = await collect(store.stream(digest));
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const joined = new Uint8Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        joined.set(chunk, offset);
        offset += chunk.length;
      }
      checkEqual(joined, bytes, 'bytes');
    },
  ],
  [
    'stat describes a stored blob',
    async (store) => {
      const meta = await store.put('{}', { mediaType: 'application/json' });
      checkEqual(await store.stat(meta.digest), meta, 'stat');
      checkEqual(await store.has(meta.digest), true, 'has');
    },
  ],
  [
    'list is in digest order and honours after and limit',
    async (store) => {
      const digests: string[] = [];
      for (let i = 0; i < 12; i++) digests.push((await store.put(`blob ${i}`)).digest);
      digests.sort();
      const all = (await collect(store.list())).map((m) => m.digest);
      checkEqual(all, digests, 'order');
      const page = (
        await collect(store.list({ after: digests[3] as typeof UNKNOWN, limit: 4 }))
      ).map((m) => m.digest);
      checkEqual(page, digests.slice(4, 8), 'page');
      for (const listOpts of [{ limit: 0 }, { limit: 100_001 }, { after: 'sha256:XYZ' }]) {
        await checkRejects(
          () => collect(store.list(listOpts as ListArtifactsOptions)),
          ErrorCodes.validation,
          `list(${describeInput(listOpts)})`,
          'limit is an integer from 1 to 100000 and after a well-formed digest',
        );
      }
    },
  ],
  [
    'delete removes a blob',
    async (store) => {
      const { digest } = await store.put('gone');
      checkEqual(await store.delete(digest), true, 'deleted');
      checkEqual(await store.has(digest), false, 'has');
      await checkRejects(() => store.get(digest), ErrorCodes.notFound, 'get after delete');
      checkEqual((await store.put('gone')).digest, digest, 'put again');
    },
  ],
  [
    'returned bytes are copies',
    async (store) => {
      const input = text.encode('immutable');
      const { digest } = await store.put(input);
      input[0] = 0;
      const read = await store.get(digest);
      read[1] = 0;
      checkEqual(await store.get(digest), text.encode('immutable'), 'bytes unchanged');
    },
  ],
];

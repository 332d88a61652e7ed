import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { compareKeys } from '../../src/metadata/keys.js';
import { collect } from '../../src/testing/assert.js';
import { tempRoot } from './helpers.js';

const keysOf = async (
  store: ReturnType<typeof createFsMetadataStore>,
  prefix: string,
  opts?: { after?: string; limit?: number },
) => (await collect(store.list(prefix, opts))).map((d) => d.key);

// Segments drawn so that keys share prefixes, differ around '/', and need escaping or hashing.
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'a!', 'a0', 'B', 'é', 'z~', 'con', '0') },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(210), 'y'.repeat(230)) },
);
const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
const deepKey = fc.constant(Array.from({ length: 240 }, (_, i) => (i % 2 ? 'é' : 'a')).join('/'));

describe('fs MetadataStore list: an ordered walk', () => {
  it('equals sorting every key and filtering by prefix and after, for any page', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.oneof({ weight: 12, arbitrary: key }, { weight: 1, arbitrary: deepKey }),
          {
            minLength: 1,
            maxLength: 14,
          },
        ),
        fc.oneof(
          fc.constant(''),
          key,
          key.map((k) => `${k}/`),
          key.map((k) => k.slice(0, -1)),
        ),
        fc.option(key, { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        async (keys, prefix, after, limit) => {
          const store = createFsMetadataStore({ root: tempRoot('keel-list-') });
          for (const k of keys) await store.put(k, k);
          const expected = keys
            .filter(
              (k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0),
            )
            .sort(compareKeys)
            .slice(0, limit ?? keys.length);
          const opts = {
            ...(after === undefined ? {} : { after }),
            ...(limit === undefined ? {} : { limit }),
          };
          expect(await keysOf(store, prefix, opts)).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it('reads only the directories on the way to the page it returns', async () => {
    const root = tempRoot();
    const store = createFsMetadataStore({ root });
    for (let d = 0; d < 30; d++) {
      for (let i = 0; i < 5; i++) await store.put(`runs/d${String(d).padStart(2, '0')}/r${i}`, i);
    }
    // Traps in later directories: a damaged document under a hashed name (which a walk that
    // opened the directory would have to read to learn its key).
    for (const d of ['d10', 'd29']) {
      mkdirSync(join(root, 'docs', 'runs', d), { recursive: true });
      writeFileSync(join(root, 'docs', 'runs', d, `~${'0'.repeat(64)}.json`), '{ damaged');
    }
    expect(await keysOf(store, 'runs/', { limit: 7 })).toEqual([
      'runs/d00/r0',
      'runs/d00/r1',
      'runs/d00/r2',
      'runs/d00/r3',
      'runs/d00/r4',
      'runs/d01/r0',
      'runs/d01/r1',
    ]);
    expect(await keysOf(store, 'runs/', { after: 'runs/d05/r3', limit: 3 })).toEqual([
      'runs/d05/r4',
      'runs/d06/r0',
      'runs/d06/r1',
    ]);
    expect(await keysOf(store, 'runs/d0')).toHaveLength(50);
    // The traps are real: a listing that reaches them reports the damage.
    await expect(keysOf(store, 'runs/d29/')).rejects.toThrow(/unreadable/);
  });
});

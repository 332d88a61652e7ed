import { describe, expect, it } from 'vitest';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { collect } from '../../src/testing/assert.js';
import { tempRoot } from '../fs/helpers.js';
import { runWorker } from './spawn.js';

describe('fs MetadataStore shared by several processes', () => {
  it('4 processes doing 50 compare-and-swap increments each end at exactly 200', async () => {
    const root = tempRoot('keel-cas-');
    await Promise.all(Array.from({ length: 4 }, () => runWorker('cas-incrementer', [root, '50'])));
    expect((await createFsMetadataStore({ root }).get('counter'))?.value).toBe(200);
  }, 90_000);

  it('3 processes appending 100 entries each yield 300 entries at offsets 0..299', async () => {
    const root = tempRoot('keel-log-');
    const outputs = await Promise.all(
      ['a', 'b', 'c'].map((worker) => runWorker('log-appender', [root, worker, '100'])),
    );
    const records = await collect(createFsMetadataStore({ root }).read('shared/log'));
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // Each worker's entries are all there, in its own order, at the offsets it was told.
    const told = outputs.map((out) => JSON.parse(out) as number[]);
    ['a', 'b', 'c'].forEach((worker, w) => {
      const mine = records.filter((r) => (r.entry as { worker: string }).worker === worker);
      expect(mine.map((r) => (r.entry as { i: number }).i)).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      );
      expect(mine.map((r) => r.offset)).toEqual(told[w]);
    });
  }, 90_000);
});

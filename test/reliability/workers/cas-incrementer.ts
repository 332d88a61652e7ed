/** Increments one counter document `times` times by compare-and-swap, retrying on conflict. */
import { createFsMetadataStore } from '../../../src/backends/fs/metadata-store.js';
import { isKeelError } from '../../../src/core/errors.js';

const [root, timesText] = process.argv.slice(2);
if (root === undefined || timesText === undefined)
  throw new Error('usage: cas-incrementer <root> <times>');
const store = createFsMetadataStore({ root });
let conflicts = 0;
for (let done = 0; done < Number(timesText); ) {
  const current = await store.get('counter');
  const value = typeof current?.value === 'number' ? current.value : 0;
  try {
    await store.put('counter', value + 1, { ifRevision: current?.revision ?? null });
    done++;
  } catch (error) {
    if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    conflicts++;
  }
}
process.stdout.write(`done ${conflicts}\n`);

/**
 * Increments a counter and logs each increment in one atomic batch, in a loop until killed
 * (`ack <value>` after each batch). With a third argument `n`, the process kills itself (SIGKILL)
 * right after committing its n-th batch's intent, before applying it.
 */
import { createFsMetadataStoreWithHooks } from '../../../src/backends/fs/metadata-store.js';
import { isKeelError } from '../../../src/core/errors.js';

const [root, worker, dieAfterText] = process.argv.slice(2);
if (root === undefined || worker === undefined) {
  throw new Error('usage: batch-writer <root> <worker> [die after the n-th intent]');
}
const dieAfter = dieAfterText === undefined ? undefined : Number(dieAfterText);
let committed = 0;
const store = createFsMetadataStoreWithHooks(
  { root },
  {
    afterIntentCommit: () => {
      committed++;
      if (committed === dieAfter) process.kill(process.pid, 'SIGKILL');
    },
  },
);
process.stdout.write('ready\n');
for (;;) {
  const current = await store.get('counter');
  const value = typeof current?.value === 'number' ? current.value : 0;
  try {
    await store.batch([
      { op: 'put', key: 'counter', value: value + 1, ifRevision: current?.revision ?? null },
      {
        op: 'append',
        log: 'increments',
        entries: [{ worker, value: value + 1 }],
        expectedOffset: value,
      },
    ]);
    process.stdout.write(`ack ${value + 1}\n`);
  } catch (error) {
    if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
  }
}

/** Appends `times` entries `{ worker, i }` to one log, one append call each. */
import { createFsMetadataStore } from '../../../src/backends/fs/metadata-store.js';

const [root, worker, timesText] = process.argv.slice(2);
if (root === undefined || worker === undefined || timesText === undefined) {
  throw new Error('usage: log-appender <root> <worker> <times>');
}
const store = createFsMetadataStore({ root });
const offsets: number[] = [];
for (let i = 0; i < Number(timesText); i++) {
  offsets.push((await store.append('shared/log', [{ worker, i }])).offset);
}
process.stdout.write(`${JSON.stringify(offsets)}\n`);

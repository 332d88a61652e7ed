/**
 * Alternates log appends and compare-and-swap increments on an fs store whose locks go stale
 * quickly, announcing every acknowledged write on stdout (`log <offset> <worker> <i>`,
 * `cas <value>`). An append refused because the lock was lost is announced as `lost <i>`:
 * the test checks that such an entry never shows up in the log.
 */
import { createFsMetadataStore } from '../../../src/backends/fs/metadata-store.js';
import { isKeelError } from '../../../src/core/errors.js';

const [root, worker, timesText, staleText] = process.argv.slice(2);
if (root === undefined || worker === undefined || timesText === undefined) {
  throw new Error('usage: fence-writer <root> <worker> <times> [lockStaleMs]');
}
const store = createFsMetadataStore({ root, lockStaleMs: Number(staleText ?? 100) });
const out: string[] = [];
const say = (line: string): void => {
  out.push(line);
  if (out.length >= 20) process.stdout.write(`${out.splice(0).join('\n')}\n`);
};
process.stdout.write('ready\n');
for (let i = 0; i < Number(timesText); i++) {
  if (i % 2 === 0) {
    try {
      const { offset } = await store.append('stall/log', [{ worker, i }]);
      say(`log ${offset} ${worker} ${i}`);
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
      say(`lost ${i}`);
    }
    continue;
  }
  for (;;) {
    const current = await store.get('stall/counter');
    const value = typeof current?.value === 'number' ? current.value : 0;
    try {
      await store.put('stall/counter', value + 1, { ifRevision: current?.revision ?? null });
      say(`cas ${value + 1}`);
      break;
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
  }
}
process.stdout.write(`${out.join('\n')}\ndone\n`);

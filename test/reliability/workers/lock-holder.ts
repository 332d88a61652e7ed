/** Takes one lock, says `held`, and keeps it until killed. */
import { createLocker } from '../../../src/backends/fs/lock.js';

const [dir, name, staleText] = process.argv.slice(2);
if (dir === undefined || name === undefined)
  throw new Error('usage: lock-holder <dir> <name> [staleMs]');
const locker = createLocker({ dir, staleMs: Number(staleText ?? 100) });
await locker.withLock(name, async () => {
  process.stdout.write('held\n');
  await new Promise(() => undefined);
});

/**
 * Registers versions of one model through `createKeel` + `fsBackend` (locks that go stale
 * quickly), announcing each acknowledged version (`version <n>`) and each refusal
 * (`failed <code>`) on stdout.
 */
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { isKeelError } from '../../../src/core/errors.js';
import { createKeel } from '../../../src/keel.js';

const [root, worker, timesText, staleText] = process.argv.slice(2);
if (root === undefined || worker === undefined || timesText === undefined) {
  throw new Error('usage: registry-writer <root> <worker> <times> [lockStaleMs]');
}
const keel = createKeel({
  backend: fsBackend({ root, lockStaleMs: Number(staleText ?? 100) }),
  actor: { id: worker },
});
const { digest } = await keel.artifacts.put(`weights of ${worker}`);
process.stdout.write('ready\n');
for (let i = 0; i < Number(timesText); i++) {
  try {
    const version = await keel.registry.registerVersion('m', {
      artifact: digest,
      tags: { worker, i: String(i) },
    });
    process.stdout.write(`version ${version.version} ${worker} ${i}\n`);
  } catch (error) {
    process.stdout.write(`failed ${isKeelError(error) ? error.code : String(error)}\n`);
  }
}
process.stdout.write('done\n');

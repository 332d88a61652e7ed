/** Child process of the multi-process registry test: registers versions of one model on a shared fs store. */
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { createRegistry } from '../../../src/registry/registry.js';

const [root, worker, countText] = process.argv.slice(2);
if (root === undefined || worker === undefined || countText === undefined) {
  throw new Error('usage: register.ts <root> <worker> <count>');
}
const backend = fsBackend({ root });
const registry = createRegistry({ ...backend, actor: { id: `worker-${worker}` } });
const { digest } = await backend.artifacts.put(`weights of worker ${worker}`);
const versions: number[] = [];
for (let i = 0; i < Number(countText); i++) {
  const created = await registry.registerVersion('churn', {
    artifact: digest,
    tags: { worker, i: String(i) },
  });
  versions.push(created.version);
}
process.stdout.write(JSON.stringify(versions));

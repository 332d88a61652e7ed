/**
 * Child process of bench/postgres.ts: serves `resolve('churn', 'production')` in a tight loop
 * on its own PostgreSQL store, and prints when it first sees each new version ("seen <version>
 * <ms>") and when the store's watch delivers an alias change ("notified <ms>"), with
 * wall-clock milliseconds that the parent compares with its own.
 */
import { createMemoryArtifactStore } from '../src/backends/memory/artifact-store.js';
import { createPostgresMetadataStore } from '../src/postgres.js';
import { createRegistry } from '../src/registry/registry.js';

const [url, schema] = process.argv.slice(2);
if (url === undefined || schema === undefined)
  throw new Error('usage: _pg-watcher.ts <url> <schema>');
const now = (): number => performance.timeOrigin + performance.now();
const metadata = createPostgresMetadataStore({ connectionString: url, schema });
const registry = createRegistry({ metadata, artifacts: createMemoryArtifactStore() });
let watching = false;
metadata.watch!('registry/aliases/churn/', (change) => {
  if (change.key === 'registry/aliases/churn/') watching = true;
  else process.stdout.write(`notified ${now()}\n`);
});
let last = (await registry.resolve('churn', 'production')).version;
while (!watching) await new Promise((resolve) => setTimeout(resolve, 1));
process.stdout.write('ready\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
for (;;) {
  const { version } = await registry.resolve('churn', 'production');
  if (version !== last) {
    last = version;
    process.stdout.write(`seen ${version} ${now()}\n`);
  }
  // let the notification and stdin events in
  await new Promise((resolve) => setImmediate(resolve));
}

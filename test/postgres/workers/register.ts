/**
 * Child process of the PostgreSQL multi-process tests: registers versions of one model (and,
 * with `--alias`, moves an alias to each), printing "ack <version>" after each. Artifacts live
 * in a shared fs store; metadata in PostgreSQL.
 */
import { createFsArtifactStore } from '../../../src/backends/fs/artifact-store.js';
import { createPostgresMetadataStore } from '../../../src/postgres.js';
import { createRegistry } from '../../../src/registry/registry.js';

const [url, schema, root, worker, countText, mode] = process.argv.slice(2);
if ([url, schema, root, worker, countText].includes(undefined)) {
  throw new Error('usage: register.ts <url> <schema> <artifact root> <worker> <count> [--alias]');
}
const metadata = createPostgresMetadataStore({ connectionString: url!, schema: schema! });
const artifacts = createFsArtifactStore({ root: root! });
const registry = createRegistry({
  metadata,
  artifacts,
  actor: { id: `worker-${worker}` },
  auditLeaseMs: 2000,
});
const { digest } = await artifacts.put(`weights of worker ${worker}`);
process.stdout.write('ready\n');
const versions: number[] = [];
for (let i = 0; i < Number(countText); i++) {
  const created = await registry.registerVersion('churn', {
    artifact: digest,
    tags: { worker: worker!, i: String(i) },
  });
  versions.push(created.version);
  process.stdout.write(`ack version ${created.version}\n`);
  if (mode === '--alias') {
    await registry.setAlias('churn', 'prod', created.version);
    process.stdout.write(`ack alias ${created.version}\n`);
  }
}
await metadata.close();
process.stdout.write(`${JSON.stringify(versions)}\n`);

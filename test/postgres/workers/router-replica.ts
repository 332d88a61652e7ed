/**
 * Child process of the router replicas test: one replica of a router for model "churn" on the
 * PostgreSQL store (artifacts in a shared fs store). It serves `count` requests, all to the
 * challenger, while sharing evidence every 100 ms; then waits until it sees the champion alias
 * move (or the challenger roll back) and prints one JSON line: what it judged and saw.
 */
import { createFsArtifactStore } from '../../../src/backends/fs/artifact-store.js';
import type { GateReport } from '../../../src/gates/types.js';
import { createKeel } from '../../../src/keel.js';
import { createRouter } from '../../../src/ops/router/router.js';
import { createPostgresMetadataStore } from '../../../src/postgres.js';

const [url, schema, root, id, countText, minSamplesText] = process.argv.slice(2);
if ([url, schema, root, id, countText, minSamplesText].includes(undefined)) {
  throw new Error('usage: router-replica.ts <url> <schema> <root> <id> <count> <minSamples>');
}
const metadata = createPostgresMetadataStore({ connectionString: url!, schema: schema! });
const keel = createKeel({
  backend: { metadata, artifacts: createFsArtifactStore({ root: root! }) },
  actor: { id: `replica-${id}` },
});
const router = createRouter({
  keel,
  model: 'churn',
  load: (v) => (input: string) => `v${v.version}:${input}`,
  strategy: { kind: 'canary', weight: 1 },
  refreshMs: 100,
  autoRelease: {
    policy: {
      name: 'merged-live',
      rules: [
        { kind: 'metric', metric: 'requests', min: Number(minSamplesText) },
        { kind: 'metric', metric: 'error_rate', max: 0.05 },
      ],
    },
    minSamples: Number(minSamplesText),
    onPass: 'promote',
    onFail: 'rollback',
  },
  replicas: { id: id!, flushMs: 100 },
});
const judged: number[] = [];
let promoted = 0;
const errors: string[] = [];
router.on('analysis', ({ report }: { report: GateReport }) => {
  judged.push(report.results.find((r) => r.rule.metric === 'requests')?.observed as number);
});
router.on('promoted', () => promoted++);
router.on('error', ({ error }) => errors.push(String(error)));
await router.ready();
process.stdout.write('ready\n');
for (let i = 0; i < Number(countText); i++) await router.predict(`r${i}`);
process.stdout.write('served\n');
const deadline = Date.now() + 60_000;
while (router.stats().champion.version !== 2 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
}
const result = {
  id,
  judged,
  promoted,
  errors,
  champion: router.stats().champion.version,
  answeredBy: (await router.predict('after')).version,
};
await router.close();
await keel.close();
await metadata.close(); // a plain backend object: keel does not close its stores
process.stdout.write(`${JSON.stringify(result)}\n`);

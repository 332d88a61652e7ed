/**
 * Child process of the monitor group test: one replica of monitor "churn" on the PostgreSQL
 * store, exchanging its window every 100 ms. It waits until the three replicas see each other,
 * serves 300 rows like the reference, then shifted rows (x and y moved by one standard
 * deviation) until the group is drifting, and prints one JSON line: the pages it emitted
 * and the group's state as it saw it.
 */
import { memoryBackend } from '../../../src/backends/memory/backend.js';
import { createKeel } from '../../../src/keel.js';
import { createMonitor } from '../../../src/ops/monitor/monitor.js';
import type { DriftDetected } from '../../../src/ops/monitor/types.js';
import { createPostgresMetadataStore } from '../../../src/postgres.js';
import { rows } from '../../ops/data.js';

const [url, schema, id] = process.argv.slice(2);
if ([url, schema, id].includes(undefined)) {
  throw new Error('usage: monitor-replica.ts <url> <schema> <id>');
}
const metadata = createPostgresMetadataStore({ connectionString: url!, schema: schema! });
const keel = createKeel({ backend: { ...memoryBackend(), metadata } });
const monitor = createMonitor({
  keel,
  name: 'churn',
  reference: rows(2000, 'reference'),
  window: { size: 300 },
  replicas: { id: id!, flushMs: 100, staleAfter: 50 },
});
const pages: DriftDetected[] = [];
const errors: string[] = [];
monitor.on('drift:detected', (page) => pages.push(page));
monitor.on('error', ({ error }) => errors.push(String(error)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let deadline = Date.now() + 60_000;
while (((await monitor.share())?.replicas ?? 0) < 3 && Date.now() < deadline) await sleep(50);
process.stdout.write('ready\n');
const stable = rows(300, `stable-${id}`);
for (let i = 0; i < stable.length; i += 30) {
  for (const row of stable.slice(i, i + 30)) monitor.record(row, 0, 1);
  await sleep(30);
}
// Every window full before the shift: the page must come from the 3 x 300 merged rows.
deadline = Date.now() + 60_000;
while (((await monitor.share())?.rows ?? 0) < 900 && Date.now() < deadline) await sleep(20);
deadline = Date.now() + 60_000;
let served = 0;
while (monitor.state().status !== 'drifting' && Date.now() < deadline) {
  for (const row of rows(30, `shifted-${id}-${served}`, 1)) monitor.record(row, 0, 1);
  served += 30;
  await sleep(30);
}
await sleep(500); // a second page, if any, would come now
const result = {
  id,
  pages: pages.map((p) => ({ rows: p.rows, episode: p.episode.id, columns: p.columns })),
  state: monitor.state(),
  errors,
};
monitor.close();
await sleep(50);
await metadata.close();
process.stdout.write(`${JSON.stringify(result)}\n`);

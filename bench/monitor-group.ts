/**
 * Cost of a monitor group against a plain single monitor, in the same run, 100 numerical
 * columns, memory store: a group round (3 replicas each record 100 rows, then each exchanges:
 * bin its rows, publish its window, read its peers' and the group's documents; the judge also
 * checks the merged 3 x 1000-row window and commits its judgement) against a single monitor
 * with a 3000-row window checked after every 300 rows. Both bin the same 300 rows and check a
 * window of the same size, so the difference is the exchange and the merge. Also one exchange
 * of a replica that does not judge.
 *
 *   npx tsx bench/monitor-group.ts
 */
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createRandom } from '../src/core/random.js';
import { createKeel } from '../src/index.js';
import { createMonitor } from '../src/ops/monitor/monitor.js';
import type { Monitor } from '../src/ops/monitor/types.js';
import { fmt, normal } from './_monitor-streams.js';

const K = 100;
const rng = createRandom('group-cost');
const makeRow = (): Record<string, number> => {
  const r: Record<string, number> = {};
  for (let j = 0; j < K; j++) r[`f${j}`] = normal(rng);
  return r;
};
const rows = Array.from({ length: 3000 }, makeRow);
const reference: Record<string, number>[] = Array.from({ length: 2000 }, makeRow);
const keel = createKeel({ backend: memoryBackend() });
const NEVER = 3_600_000; // no timers: the measurement drives the exchanges

const single = createMonitor({
  keel,
  name: 'single',
  reference,
  window: { size: 3000 },
  checkEvery: 1_000_000_000,
  falseAlarms: { perPredictions: 1_000_000 },
});
const replicas = ['a', 'b', 'c'].map((id) =>
  createMonitor({
    keel,
    name: 'grouped',
    reference,
    window: { size: 1000 },
    replicas: { id, flushMs: NEVER },
  }),
);
let at = 0;
const feed = (m: Monitor, n: number): void => {
  for (let i = 0; i < n; i++) m.record(rows[at++ % rows.length]!, 0, 1);
};
// Warm up and fill every window.
for (let i = 0; i < 20; i++) {
  feed(single, 300);
  await single.check();
  for (const m of replicas) feed(m, 100);
  for (const m of replicas) await m.share();
}

/** Milliseconds per round, best of 3 (the machine is shared). */
async function time(rounds: number, round: () => Promise<unknown>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    for (let i = 0; i < rounds; i++) await round();
    best = Math.min(best, (performance.now() - start) / rounds);
  }
  return best;
}

const R = 100;
const plain = await time(R, async () => {
  feed(single, 300);
  await single.check();
});
const judgedBefore = replicas.map((m) => m.state().checks);
const grouped = await time(R, async () => {
  for (const m of replicas) feed(m, 100);
  for (const m of replicas) await m.share();
});
const judged = replicas.map((m, i) => m.state().checks - judgedBefore[i]!);
const observer = replicas.find((m) => m.state().group?.judge !== m.state().group?.id)!;
const exchange = await time(R, async () => {
  feed(observer, 100);
  await observer.share();
});
for (const m of replicas) m.close();
single.close();

const view = replicas[0]!.state().group;
console.log('| case (100 columns, memory store) | ms per round | ratio to the plain check |');
console.log('|---|---:|---:|');
console.log(
  `| single monitor: 300 rows, check of a 3000-row window (baseline) | ${fmt(plain, 3)} | 1.00x |`,
);
console.log(
  `| group of 3: 3 x 100 rows, 3 exchanges, 1 judged check of the merged 3 x 1000 rows | ${fmt(grouped, 3)} | ${fmt(grouped / plain)}x |`,
);
console.log(
  `| one exchange of a replica that does not judge (100 rows binned) | ${fmt(exchange, 3)} | ${fmt(exchange / plain)}x |`,
);
console.log(
  `\nmerged window: ${view?.replicas} replicas, ${view?.rows} rows; judged checks per replica over the group rounds: ${judged.join(', ')}`,
);
console.log(
  `flush and merge per judged check: ${fmt(grouped - plain, 3)} ms over the plain check; at the default flushMs 2000, one exchange is ${fmt((exchange / 2000) * 100, 4)} % of one core`,
);

/**
 * Overhead of the ops loop on the serving path, as ratios against calling the predictor
 * directly in the same run: `monitor.wrap` (goal: <= 1 us per prediction over the baseline)
 * and `router.predict` (canary with a key), without and with `replicas` (the hot path then also
 * bins each latency); and the cost of one replica exchange (`router.share()`: write this
 * replica's evidence, read and merge two peers') on the memory store.
 *
 *   npx tsx bench/ops.ts
 */
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createKeel } from '../src/index.js';
import { createMonitor } from '../src/ops/monitor/monitor.js';
import { createRouter } from '../src/ops/router/router.js';

type Row = { a: number; b: number; c: string };

const N = 1_000_000;
const rows: Row[] = Array.from({ length: 1024 }, (_, i) => ({
  a: Math.sin(i),
  b: Math.cos(i) * 10,
  c: i % 3 === 0 ? 'x' : 'y',
}));
const predict = (r: Row): number => (r.a + r.b > 0 ? 1 : 0);

function time(label: string, n: number, fn: (i: number) => unknown): { label: string; ns: number } {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 100_000); i++) sink += Number(fn(i)); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += Number(fn(i));
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (sink === Number.NEGATIVE_INFINITY) console.log(sink);
  return { label, ns };
}

async function timeAsync(
  label: string,
  n: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ label: string; ns: number }> {
  for (let i = 0; i < Math.min(n, 10_000); i++) await fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return { label, ns: Number(process.hrtime.bigint() - start) / n };
}

const keel = createKeel({ backend: memoryBackend() });
const reference = rows;
const monitor = createMonitor({ keel, name: 'bench', reference, checkEvery: 1_000_000_000 });
const wrapped = monitor.wrap(predict);

const direct = time('predict(row) directly (baseline)', N, (i) => predict(rows[i & 1023]!));
const monitored = time('monitor.wrap(predict)(row)', N, (i) => wrapped(rows[i & 1023]!));
monitor.close();

const { digest } = await keel.artifacts.put('weights');
await keel.registry.registerVersion('bench', { artifact: digest });
await keel.registry.registerVersion('bench', { artifact: digest });
await keel.registry.setAlias('bench', 'champion', 1);
await keel.registry.setAlias('bench', 'challenger', 2);
const router = createRouter<Row, number>({
  keel,
  model: 'bench',
  load: () => predict,
  strategy: { kind: 'canary', weight: 0.1 },
});
await router.ready();
const M = 200_000;
const asyncDirect = await timeAsync('await predict(row) (async baseline)', M, async (i) =>
  predict(rows[i & 1023]!),
);
const routed = await timeAsync('await router.predict(row, { key })', M, (i) =>
  router.predict(rows[i & 1023]!, { key: `user-${i}` }),
);
await router.close();

const replica = (id: string) =>
  createRouter<Row, number>({
    keel,
    model: 'bench',
    load: () => predict,
    strategy: { kind: 'canary', weight: 0.1 },
    replicas: { id, flushMs: 3_600_000 }, // no timer during the measurement
  });
const [sharedA, sharedB, sharedC] = [replica('a'), replica('b'), replica('c')];
await Promise.all([sharedA.ready(), sharedB.ready(), sharedC.ready()]);
const routedShared = await timeAsync('await router.predict(row, { key }) with replicas', M, (i) =>
  sharedA.predict(rows[i & 1023]!, { key: `user-${i}` }),
);
for (let i = 0; i < 2000; i++) {
  await sharedB.predict(rows[i & 1023]!, { key: `b-${i}` });
  await sharedC.predict(rows[i & 1023]!, { key: `c-${i}` });
}
await sharedB.share();
await sharedC.share();
const S = 2000;
const exchange = await timeAsync('router.share() with 2 peers (memory store)', S, () =>
  sharedA.share(),
);
const merged = sharedA.stats().shared;
await Promise.all([sharedA.close(), sharedB.close(), sharedC.close()]);
await keel.close();

console.log('| case | ns / call | ratio to baseline | overhead (ns) |');
console.log('|---|---:|---:|---:|');
for (const [row, base] of [
  [direct, direct],
  [monitored, direct],
  [asyncDirect, asyncDirect],
  [routed, asyncDirect],
  [routedShared, routed],
] as const) {
  console.log(
    `| ${row.label} | ${row.ns.toFixed(1)} | ${(row.ns / base.ns).toFixed(2)}x | ${(row.ns - base.ns).toFixed(1)} |`,
  );
}
const overhead = monitored.ns - direct.ns;
console.log(
  `\nmonitor.wrap overhead: ${overhead.toFixed(0)} ns per prediction (goal <= 1000 ns): ${overhead <= 1000 ? 'met' : 'NOT met'}`,
);
console.log(
  `\nreplica exchange: ${(exchange.ns / 1000).toFixed(1)} us per router.share() (${merged?.replicas} replicas, ${merged?.challenger.count} merged challenger requests); at the default flushMs 2000 that is ${((exchange.ns / 1e9 / 2) * 100).toFixed(4)} % of one core`,
);

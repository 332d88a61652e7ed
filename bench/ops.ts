/**
 * Overhead of the ops loop on the serving path, as ratios against calling the predictor
 * directly in the same run: `monitor.wrap` (goal: <= 1 us per prediction over the baseline)
 * and `router.predict` (canary with a key).
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
await keel.close();

console.log('| case | ns / call | ratio to baseline | overhead (ns) |');
console.log('|---|---:|---:|---:|');
for (const [row, base] of [
  [direct, direct],
  [monitored, direct],
  [asyncDirect, asyncDirect],
  [routed, asyncDirect],
] as const) {
  console.log(
    `| ${row.label} | ${row.ns.toFixed(1)} | ${(row.ns / base.ns).toFixed(2)}x | ${(row.ns - base.ns).toFixed(1)} |`,
  );
}
const overhead = monitored.ns - direct.ns;
console.log(
  `\nmonitor.wrap overhead: ${overhead.toFixed(0)} ns per prediction (goal <= 1000 ns): ${overhead <= 1000 ? 'met' : 'NOT met'}`,
);

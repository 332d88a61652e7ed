/**
 * keel/mlflow: a log-batch request through createMlflowHandler over loopback HTTP (JSON body,
 * routing, checks, the run's handle, a flush) against the same points written by a direct
 * tracker call (logMetric for each point, then flush), in the same run, on the memory and fs
 * backends; and the log-batch route alone (an already parsed request, as the handler hands it
 * over). Rounds alternate; the median of each is reported.
 *
 *   npx tsx bench/mlflow.ts
 *   KEEL_BENCH_MLFLOW_ROUNDS=50 npx tsx bench/mlflow.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsBackend } from '../src/backends/fs/backend.js';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createKeel, type Keel } from '../src/keel.js';
import { createMlflowContext } from '../src/mlflow/handler.js';
import type { MlflowRequest } from '../src/mlflow/route.js';
import { mlflowRoutes } from '../src/mlflow/routes.js';
import { createMlflowHandler } from '../src/mlflow.js';
import { type BenchRow, printTable } from './_table.js';

const ROUNDS = Number(process.env.KEEL_BENCH_MLFLOW_ROUNDS ?? 30);
const rows: BenchRow[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(label: string, keel: Keel, points: number): Promise<void> {
  const handler = createMlflowHandler({ keel });
  let serverMs = 0;
  const server = createServer((req, res) => {
    const t = performance.now();
    res.on('finish', () => {
      serverMs = performance.now() - t;
    });
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = async (path: string, body: object): Promise<Record<string, unknown>> => {
    const res = await fetch(origin + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const created = await post('/api/2.0/mlflow/runs/create', { experiment_id: '0' });
  const runId = (created.run as { info: { run_id: string } }).info.run_id;
  const direct = await keel.tracker.startRun({ experiment: 'bench-direct' });

  let step = 0;
  const batch = () => {
    const metrics = [];
    for (let i = 0; i < points; i++)
      metrics.push({
        key: `m${i % 20}`,
        value: Math.random(),
        timestamp: 1_750_000_000_000 + step,
        step,
      });
    step++;
    return metrics;
  };
  const route = mlflowRoutes.find((r) => r.path === '/api/2.0/mlflow/runs/log-batch')!;
  const ctx = createMlflowContext(keel);
  const viaRoute: number[] = [];
  const viaHandler: number[] = [];
  const inServer: number[] = [];
  const viaTracker: number[] = [];
  for (let round = 0; round < ROUNDS + 3; round++) {
    const metrics = batch();
    let t = performance.now();
    await post('/api/2.0/mlflow/runs/log-batch', { run_id: runId, metrics });
    const h = performance.now() - t;
    const fields = JSON.parse(JSON.stringify({ run_id: runId, metrics: batch() })) as object;
    t = performance.now();
    await route.handle(ctx, { fields, bodyBytes: 0 } as unknown as MlflowRequest, null as never);
    const r = performance.now() - t;
    t = performance.now();
    for (const m of metrics)
      direct.logMetric(m.key, m.value, { step: m.step, timestamp: m.timestamp });
    await direct.flush();
    const d = performance.now() - t;
    // the first rounds warm the JIT and the connection
    if (round >= 3) {
      viaHandler.push(h);
      viaRoute.push(r);
      inServer.push(serverMs);
      viaTracker.push(d);
    }
  }
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const h = median(viaHandler);
  const srv = median(inServer);
  const d = median(viaTracker);
  const rt = median(viaRoute);
  rows.push({
    name: `${label}: log-batch route of ${points} metrics (request parsed)`,
    figure: `${rt.toFixed(2)} ms`,
    baseline: `logMetric x${points} + flush: ${d.toFixed(2)} ms`,
    ratio: `${(d / rt).toFixed(2)}x`,
    goal: 'reported',
  });
  rows.push({
    name: `${label}: log-batch of ${points} metrics, in the server`,
    figure: `${srv.toFixed(2)} ms`,
    baseline: `logMetric x${points} + flush: ${d.toFixed(2)} ms`,
    ratio: `${(d / srv).toFixed(2)}x`,
    goal: 'reported',
  });
  rows.push({
    name: `${label}: log-batch of ${points} metrics, client round trip`,
    figure: `${h.toFixed(2)} ms (${Math.round((points * 1000) / h).toLocaleString('en')} points/s)`,
    baseline: `same: ${d.toFixed(2)} ms`,
    ratio: `${(d / h).toFixed(2)}x`,
    goal: 'reported',
  });
}

for (const points of [10, 1000]) {
  const keel = createKeel({ backend: memoryBackend() });
  await measure('memory', keel, points);
  await keel.close();
}
const root = mkdtempSync(join(tmpdir(), 'keel-bench-mlflow-'));
try {
  for (const points of [10, 1000]) {
    const keel = createKeel({ backend: fsBackend({ root: join(root, String(points)) }) });
    await measure('fs', keel, points);
    await keel.close();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
printTable(rows);

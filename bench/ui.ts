/**
 * UI and report benchmarks: the runs page of an experiment with 100 000 runs (server time and
 * page size: first page, a filtered and sorted page, the next page by cursor) against the
 * `searchRuns` call the page makes, measured in the same run; and a drift report of 100
 * columns (JSON and HTML size, render time) against the `detectDrift` call that made it.
 *
 * The same page over 100 000 runs on fs (the store of _tracker-store.ts, built once into
 * .bench-tmp/): the first request of a new process, and warm requests.
 *
 *   npx tsx bench/ui.ts
 *   KEEL_BENCH_UI_RUNS=20000 npx tsx bench/ui.ts   # fewer runs
 *   KEEL_BENCH_UI_PARTS=fs npx tsx bench/ui.ts     # only the fs rows (memory, fs, report)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { fsBackend } from '../src/backends/fs/backend.js';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { createRandom } from '../src/core/random.js';
import { detectDrift } from '../src/drift/dataset.js';
import { createKeel } from '../src/keel.js';
import { renderDriftReport } from '../src/report.js';
import { createUiHandler } from '../src/ui.js';
import { normals } from './_data.js';
import { type BenchRow, printTable } from './_table.js';
import { BENCH_EXPERIMENT, trackerStore } from './_tracker-store.js';

const rows: BenchRow[] = [];
const parts = (process.env.KEEL_BENCH_UI_PARTS ?? 'memory,fs,report').split(',');
if (parts.includes('memory')) await runsPage(Number(process.env.KEEL_BENCH_UI_RUNS ?? 100_000));
if (parts.includes('fs')) await runsPageFs(Number(process.env.KEEL_BENCH_UI_RUNS ?? 100_000));
if (parts.includes('report')) driftReport();
printTable(rows);

/** Serves `keel`'s UI on a local port: fetches a path, returns the server time and the page. */
async function serve(keel: Parameters<typeof createUiHandler>[0]['keel']): Promise<{
  page(path: string): Promise<{ ms: number; bytes: number; text: string }>;
  close(): Promise<void>;
}> {
  const handler = createUiHandler({ keel });
  let serverMs = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const t = performance.now();
    res.on('finish', () => {
      serverMs = performance.now() - t;
    });
    handler(req, res);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async page(path) {
      const res = await fetch(origin + path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      return { ms: serverMs, bytes: Buffer.byteLength(text), text };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function runsPageFs(count: number): Promise<void> {
  const store = await trackerStore(count);
  const filter = "metrics.acc > 0.5 and params.optimizer = 'adam'";
  const order = 'metrics.acc desc';
  const paths = {
    'first page, newest first': `/experiments/${BENCH_EXPERIMENT}`,
    [`filtered (${filter}) and sorted (${order})`]: `/experiments/${BENCH_EXPERIMENT}?filter=${encodeURIComponent(filter)}&order=${encodeURIComponent(order)}`,
  };
  // the first request of a process (a new keel on the store: nothing cached), against the
  // first searchRuns of another new keel; alternating, median of 5
  const firstPage: number[] = [];
  const firstSearch: number[] = [];
  let bytes = 0;
  let gzipped = 0;
  for (let round = 0; round < 5; round++) {
    const keel = createKeel({ backend: fsBackend({ root: store.root }) });
    const ui = await serve(keel);
    const p = await ui.page(paths['first page, newest first']);
    firstPage.push(p.ms);
    bytes = p.bytes;
    gzipped = gzipSync(Buffer.from(p.text)).length;
    await ui.close();
    await keel.close();
    const other = createKeel({ backend: fsBackend({ root: store.root }) });
    const t = performance.now();
    await other.tracker.searchRuns({ experiment: BENCH_EXPERIMENT, limit: 50 });
    firstSearch.push(performance.now() - t);
    await other.close();
  }
  rows.push({
    name: `runs page over ${store.runs + store.tail} runs on fs: first request of a new process, newest first (50 rows, ${(bytes / 1024).toFixed(1)} KiB HTML, ${(gzipped / 1024).toFixed(1)} KiB gzipped)`,
    figure: `${median(firstPage).toFixed(0)} ms server time`,
    baseline: `${median(firstSearch).toFixed(0)} ms (the first tracker.searchRuns of a new keel)`,
    ratio: (median(firstPage) / median(firstSearch)).toFixed(2),
    goal: '< 300 ms',
  });
  const keel = createKeel({ backend: fsBackend({ root: store.root }) });
  const ui = await serve(keel);
  await ui.page(paths['first page, newest first']);
  for (const [name, path] of Object.entries(paths)) {
    const pageTimes: number[] = [];
    const searchTimes: number[] = [];
    let size = 0;
    const query = path.includes('filter=')
      ? { experiment: BENCH_EXPERIMENT, filter, orderBy: [order], limit: 50 }
      : { experiment: BENCH_EXPERIMENT, limit: 50 };
    for (let i = 0; i < 15; i++) {
      const p = await ui.page(path);
      pageTimes.push(p.ms);
      size = p.bytes;
      const t = performance.now();
      await keel.tracker.searchRuns(query);
      searchTimes.push(performance.now() - t);
    }
    rows.push({
      name: `runs page over ${store.runs + store.tail} runs on fs, warm: ${name} (${(size / 1024).toFixed(1)} KiB HTML)`,
      figure: `${median(pageTimes).toFixed(1)} ms server time`,
      baseline: `${median(searchTimes).toFixed(1)} ms (the tracker.searchRuns call it makes)`,
      ratio: (median(pageTimes) / median(searchTimes)).toFixed(2),
      goal: '< 200 ms',
    });
  }
  await ui.close();
  await keel.close();
}

async function runsPage(count: number): Promise<void> {
  const keel = createKeel({ backend: memoryBackend() });
  const rng = createRandom('bench-ui');
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const run = await keel.tracker.startRun({
      experiment: 'bench',
      name: `trial-${i}`,
      params: {
        lr: [0.1, 0.03, 0.01][i % 3]!,
        optimizer: i % 2 ? 'adam' : 'sgd',
        layers: 2 + (i % 4),
      },
      tags: { team: 'growth' },
    });
    const acc = rng.next();
    run.logMetrics({ acc, loss: 1 - acc, auc: 0.5 + acc / 2 }, { step: 0 });
    await run.end();
  }
  process.stdout.write(
    `(stored ${count} runs in ${((performance.now() - started) / 1000).toFixed(1)} s)\n\n`,
  );

  const handler = createUiHandler({ keel });
  let serverMs = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const t = performance.now();
    res.on('finish', () => {
      serverMs = performance.now() - t;
    });
    handler(req, res);
  });
  // fetch reuses the connection; the slow in-process baseline must not outlive keep-alive
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const page = async (path: string): Promise<{ ms: number; bytes: number; text: string }> => {
    const res = await fetch(origin + path);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    return { ms: serverMs, bytes: Buffer.byteLength(text), text };
  };

  const filter = "metrics.acc > 0.5 and params.optimizer = 'adam'";
  const order = 'metrics.acc desc';
  const first = await page(
    `/experiments/bench?filter=${encodeURIComponent(filter)}&order=${encodeURIComponent(order)}`,
  );
  const cursor = /href="[^"]*cursor=([^"&]+)[^"]*" rel="next"/.exec(first.text)?.[1];
  const cases: {
    name: string;
    path: string;
    query: Parameters<typeof keel.tracker.searchRuns>[0];
  }[] = [
    {
      name: 'first page, newest first',
      path: '/experiments/bench',
      query: { experiment: 'bench', limit: 50 },
    },
    {
      name: `filtered (${filter}) and sorted (${order})`,
      path: `/experiments/bench?filter=${encodeURIComponent(filter)}&order=${encodeURIComponent(order)}`,
      query: { experiment: 'bench', filter, orderBy: [order], limit: 50 },
    },
    {
      name: 'the next page of that, by cursor',
      path: `/experiments/bench?filter=${encodeURIComponent(filter)}&order=${encodeURIComponent(order)}&cursor=${cursor}`,
      query: {
        experiment: 'bench',
        filter,
        orderBy: [order],
        limit: 50,
        cursor: decodeURIComponent(cursor!),
      },
    },
  ];
  for (const c of cases) {
    const pageTimes: number[] = [];
    const searchTimes: number[] = [];
    let bytes = 0;
    // interleaved, median of 15: other processes load the machine
    for (let i = 0; i < 15; i++) {
      const p = await page(c.path);
      pageTimes.push(p.ms);
      bytes = p.bytes;
      const t = performance.now();
      await keel.tracker.searchRuns(c.query);
      searchTimes.push(performance.now() - t);
    }
    const ms = median(pageTimes);
    const base = median(searchTimes);
    rows.push({
      name: `runs page over ${count} runs: ${c.name} (50 rows, ${(bytes / 1024).toFixed(1)} KiB HTML, ${(gzipSync(Buffer.from(first.text)).length / 1024).toFixed(1)} KiB gzipped)`,
      figure: `${ms.toFixed(1)} ms server time`,
      baseline: `${base.toFixed(1)} ms (the tracker.searchRuns call it makes)`,
      ratio: (ms / base).toFixed(2),
      goal: '< 200 ms',
    });
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await keel.close();
}

function driftReport(): void {
  const rng = createRandom('bench-drift-report');
  const n = 10_000;
  const reference: Record<string, ArrayLike<unknown>> = {};
  const current: Record<string, ArrayLike<unknown>> = {};
  const labels = Array.from({ length: 40 }, (_, k) => `category-${k}`);
  for (let c = 0; c < 100; c++) {
    if (c % 4 === 3) {
      reference[`cat_${c}`] = Array.from({ length: n }, () => labels[Math.floor(rng.next() * 40)]!);
      current[`cat_${c}`] = Array.from(
        { length: n },
        () => labels[Math.floor(rng.next() * (c % 8 === 3 ? 30 : 40))]!,
      );
    } else {
      reference[`num_${c}`] = normals(rng, n, 0, 1);
      current[`num_${c}`] = normals(rng, n, c % 3 === 0 ? 0.3 : 0, 1);
    }
  }
  const detectTimes: number[] = [];
  const renderTimes: number[] = [];
  let report = detectDrift(reference, current);
  let page = '';
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    report = detectDrift(reference, current);
    detectTimes.push(performance.now() - t);
    t = performance.now();
    page = renderDriftReport(report);
    renderTimes.push(performance.now() - t);
  }
  const json = JSON.stringify(report);
  const histograms = Object.values(report.columns).reduce(
    (s, c) => s + JSON.stringify(c.histogram).length,
    0,
  );
  rows.push({
    name:
      `drift report, 100 columns x ${n} rows: report JSON ${(json.length / 1024).toFixed(1)} KiB (histograms ${(histograms / 1024).toFixed(1)} KiB), ` +
      `HTML ${(page.length / 1024).toFixed(1)} KiB (${(gzipSync(Buffer.from(page)).length / 1024).toFixed(1)} KiB gzipped)`,
    figure: `${median(renderTimes).toFixed(1)} ms to render`,
    baseline: `${median(detectTimes).toFixed(1)} ms (detectDrift on the same tables)`,
    ratio: (median(renderTimes) / median(detectTimes)).toFixed(2),
    goal: 'render < 100 ms; HTML < 1 MiB',
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

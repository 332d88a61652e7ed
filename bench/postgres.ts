/**
 * PostgreSQL benchmarks (KEEL_PG_URL, default postgres://postgres@127.0.0.1:5432/test; skipped
 * with a printed line when no server answers): resolve() on a PostgreSQL store, logMetric
 * against a raw multi-row INSERT of the same points, searchRuns over many runs (first search of
 * a new store and tracker, and warm), and how fast an alias move reaches another process.
 *
 *   npx tsx bench/postgres.ts
 *   KEEL_BENCH_RUNS=10000 npx tsx bench/postgres.ts   # fewer runs for the search figures
 *   KEEL_BENCH_PARTS=search npx tsx bench/postgres.ts  # only some parts
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { createMemoryArtifactStore } from '../src/backends/memory/artifact-store.js';
import { createIdGenerator } from '../src/core/ids.js';
import type { JsonValue } from '../src/core/json.js';
import type { BatchOperation } from '../src/metadata/types.js';
import { createPostgresMetadataStore, type PostgresMetadataStore } from '../src/postgres.js';
import { createRegistry } from '../src/registry/registry.js';
import type { ModelVersion } from '../src/registry/types.js';
import { runToJson, trackingKeys } from '../src/tracking/records.js';
import { createTracker } from '../src/tracking/tracker.js';
import type { Run } from '../src/tracking/types.js';
import { type BenchRow, printTable } from './_table.js';

const url = process.env.KEEL_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
try {
  await admin.query('SELECT 1');
} catch (error) {
  process.stdout.write(
    `SKIP bench/postgres: no PostgreSQL at KEEL_PG_URL=${url} (${(error as Error).message})\n`,
  );
  await admin.end();
  process.exit(0);
}

const rows: BenchRow[] = [];
const schemas: string[] = [];
const schema = (name: string): string => {
  const s = `keel_bench_${name}_${process.pid}`;
  schemas.push(s);
  return s;
};
const store = (name: string): PostgresMetadataStore =>
  createPostgresMetadataStore({ connectionString: url, schema: schema(name) });

// KEEL_BENCH_PARTS=search (comma-separated: resolve, propagation, logging, search) runs some
const parts = new Set(
  (process.env.KEEL_BENCH_PARTS ?? 'resolve,propagation,logging,search').split(','),
);
try {
  if (parts.has('resolve')) await resolveBench();
  if (parts.has('propagation')) await propagationBench();
  if (parts.has('logging')) await loggingBench();
  if (parts.has('search')) await searchBench();
} finally {
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await admin.end();
}
printTable(rows);

/** Mean ns per resolve() over 3 s, including whatever revalidation the registry does. */
async function resolveBench(): Promise<void> {
  const metadata = store('resolve');
  const artifacts = createMemoryArtifactStore();
  const registry = createRegistry({ metadata, artifacts });
  const { digest } = await artifacts.put('weights');
  await registry.registerVersion('churn', { artifact: digest });
  await registry.setAlias('churn', 'production', 1);
  let sink: ModelVersion | undefined;
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = performance.now();
    const until = start + 3_000;
    while (performance.now() < until) {
      for (let i = 0; i < 1000; i++) sink = await registry.resolve('churn', 'production');
      n += 1000;
    }
    best = Math.min(best, ((performance.now() - start) * 1e6) / n);
  }
  if (sink?.version !== 1) throw new Error('resolve returned the wrong version');
  // the floor: one primary-key read of the alias document per call
  const n = 2000;
  const start = performance.now();
  for (let i = 0; i < n; i++) await metadata.get('registry/aliases/churn/production');
  const getUs = ((performance.now() - start) * 1e3) / n;
  rows.push({
    name: 'resolve() on postgres (3 s, incl. revalidation)',
    figure: `${best.toFixed(0)} ns/call`,
    baseline: `${getUs.toFixed(0)} us (one document get per call)`,
    ratio: (best / (getUs * 1000)).toFixed(3),
    goal: '<= 2 us',
  });
  await metadata.close();
}

/** How long after setAlias returns another process's resolve() serves the new version. */
async function propagationBench(): Promise<void> {
  const name = schema('propagate');
  const metadata = createPostgresMetadataStore({ connectionString: url, schema: name });
  const artifacts = createMemoryArtifactStore();
  const registry = createRegistry({ metadata, artifacts });
  const { digest } = await artifacts.put('weights');
  for (let i = 0; i < 3; i++) await registry.registerVersion('churn', { artifact: digest });
  await registry.setAlias('churn', 'production', 1);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '_pg-watcher.ts'), url, name],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const waitFor = async (test: () => boolean): Promise<void> => {
    const until = performance.now() + 10_000;
    while (!test()) {
      if (performance.now() > until) throw new Error(`the watcher never answered: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  await waitFor(() => output.includes('ready\n'));
  const seen: number[] = [];
  const notified: number[] = [];
  const moves: number[] = [];
  for (let round = 0; round < 30; round++) {
    const version = 2 + (round % 2);
    const from = output.length;
    const began = performance.timeOrigin + performance.now();
    await registry.setAlias('churn', 'production', version);
    const done = performance.timeOrigin + performance.now();
    moves.push(done - began);
    await waitFor(() => output.slice(from).includes(`seen ${version} `));
    const lines = output.slice(from).split('\n');
    const at = (prefix: string): number =>
      Number(
        lines
          .find((l) => l.startsWith(prefix))
          ?.split(' ')
          .at(-1),
      );
    // from the moment setAlias returned (the move is committed by then) to the other
    // process serving the new version; negative when it already did before the return
    seen.push(at(`seen ${version} `) - done);
    // the notification of the alias document, from the start of setAlias
    const note = at('notified ');
    if (Number.isFinite(note)) notified.push(note - began);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
  await metadata.close();
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]): number => sorted(xs)[xs.length >> 1] ?? Number.NaN;
  const max = (xs: number[]): number => sorted(xs).at(-1) ?? Number.NaN;
  rows.push({
    name: 'alias move seen by resolve() in another process, after setAlias returned (30 moves)',
    figure: `median ${median(seen).toFixed(1)} ms, max ${max(seen).toFixed(1)} ms`,
    baseline: `setAlias itself: median ${median(moves).toFixed(1)} ms; watch notification ${median(notified).toFixed(1)} ms after setAlias began`,
    ratio: '',
    goal: 'well below 250 ms',
  });
}

/** logMetric with a flush every 10k points vs a raw multi-row INSERT of the same points. */
async function loggingBench(): Promise<void> {
  const n = 200_000;
  const every = 10_000;
  const keys = ['loss', 'acc', 'lr', 'grad_norm'];
  const values = Float64Array.from({ length: n }, () => Math.random());
  const now = Date.now();
  const raw = schema('raw');
  await admin.query(`CREATE SCHEMA "${raw}"`);
  await admin.query(
    `CREATE TABLE "${raw}".metrics (run text NOT NULL, key text NOT NULL, value float8, step int, ts bigint)`,
  );
  // 4 parameters a row: 10 000 rows per statement stays under PostgreSQL's 65 535 parameters
  const placeholders = Array.from(
    { length: every },
    (_, i) => `('r', $${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`,
  ).join(',');
  const insert = `INSERT INTO "${raw}".metrics (run, key, value, step, ts) VALUES ${placeholders}`;
  let start = performance.now();
  for (let from = 0; from < n; from += every) {
    const params: unknown[] = [];
    for (let i = from; i < from + every; i++) params.push(keys[i & 3], values[i], i >> 2, now + i);
    await admin.query(insert, params);
  }
  const rawMs = performance.now() - start;

  const metadata = store('log');
  const tracker = createTracker({
    metadata,
    artifacts: createMemoryArtifactStore(),
    flushSize: every,
    flushIntervalMs: 0,
  });
  const run = await tracker.startRun({ experiment: 'bench' });
  start = performance.now();
  for (let i = 0; i < n; i++) {
    run.logMetric(keys[i & 3]!, values[i]!, { step: i >> 2, timestamp: now + i });
    if ((i + 1) % every === 0) await run.flush();
  }
  await run.end();
  const keelMs = performance.now() - start;
  await tracker.close();
  await metadata.close();
  rows.push({
    name: 'logMetric 200k into postgres, flush every 10k',
    figure: `${rate(n, keelMs)} metrics/s`,
    baseline: `${rate(n, rawMs)} rows/s (multi-row INSERT, 10k rows a statement)`,
    ratio: (rawMs / keelMs).toFixed(2),
    goal: '>= 0.5',
  });
}

/**
 * searchRuns over many runs. The runs are written in batches of 1 000 run documents (the
 * tracker's stored form, `runToJson`) each announced in the journal, as the tracker writes
 * them but without one round trip per run (100 000 runs through `startRun` take half an hour
 * on this machine). Then a tracker with `searchPushDown` (the search runs in SQL, ADR 0020)
 * and one without (the search cache, started from the stored search snapshot), each first in
 * a new store instance, then warm.
 */
async function searchBench(): Promise<void> {
  const count = Number(process.env.KEEL_BENCH_RUNS ?? 100_000);
  const name = schema('search');
  const metadata = createPostgresMetadataStore({ connectionString: url, schema: name });
  const artifacts = createMemoryArtifactStore();
  const teams = ['vision', 'nlp', 'audio', 'tabular'];
  const clock = { now: () => Date.parse('2026-01-01T00:00:00.000Z') + written * 1000 };
  const newId = createIdGenerator(clock);
  let written = 0;
  const setupStart = performance.now();
  for (const experiment of Array.from({ length: 10 }, (_, e) => `exp-${e}`)) {
    await metadata.put(trackingKeys.experiment(experiment), {
      name: experiment,
      createdAt: new Date(clock.now()).toISOString(),
    });
  }
  while (written < count) {
    const ops: BatchOperation[] = [];
    const journal: JsonValue[] = [];
    for (let n = 0; n < 1000 && written < count; n++, written++) {
      const i = written;
      const at = clock.now();
      const run: Run = {
        id: newId(),
        experiment: `exp-${i % 10}`,
        status: i % 7 === 0 ? 'failed' : 'completed',
        startTime: new Date(at).toISOString(),
        endTime: new Date(at + 500).toISOString(),
        params: {
          lr: 10 ** -(1 + (i % 4)),
          layers: 1 + (i % 8),
          optimizer: i % 3 ? 'adam' : 'sgd',
        },
        tags: { team: teams[i % 4]! },
        metrics: {
          acc: { key: 'acc', value: (i % 1000) / 1000, step: 0, timestamp: at },
          loss: { key: 'loss', value: 1 - (i % 1000) / 1000, step: 0, timestamp: at },
        },
        inputs: [],
        outputs: [],
      };
      ops.push({ op: 'put', key: trackingKeys.run(run.id), value: runToJson({ run, seq: 2 }) });
      journal.push([run.id, 2]);
    }
    ops.push({ op: 'append', log: trackingKeys.journal, entries: journal });
    await metadata.batch!(ops);
  }
  const setup = performance.now() - setupStart;
  // a tracker loads its cache and stores the search snapshot that a new process starts from
  // (the journal's compaction); wait for it
  const loader = createTracker({ metadata, artifacts });
  await loader.searchRuns({ limit: 1 });
  const until = performance.now() + 300_000;
  while ((await metadata.get('tracking/journal-head')) === undefined) {
    if (performance.now() > until) throw new Error('no search snapshot was stored');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await loader.close();

  const filter =
    "metrics.acc > 0.9 and params.optimizer = 'adam' and tags.team in ('vision', 'nlp')";
  const orderBy = ['metrics.acc desc'];
  const searches = [
    { label: 'filtered and sorted', query: { filter, orderBy, limit: 100 } },
    { label: 'newest first, no filter', query: { limit: 50 } },
  ];

  const scanStore = createPostgresMetadataStore({ connectionString: url, schema: name });
  let start = performance.now();
  let documents = 0;
  for await (const _ of scanStore.list('tracking/runs/')) documents++;
  const scan = performance.now() - start;
  await scanStore.close();
  const baseline = `${scan.toFixed(0)} ms (list of ${documents} run documents)`;

  for (const pushed of [true, false]) {
    for (const { label, query } of searches) {
      const fresh = createPostgresMetadataStore({ connectionString: url, schema: name });
      const reader = createTracker({ metadata: fresh, artifacts, searchPushDown: pushed });
      start = performance.now();
      const first = await reader.searchRuns(query);
      const firstMs = performance.now() - start;
      const warm: number[] = [];
      for (let i = 0; i < 5; i++) {
        start = performance.now();
        await reader.searchRuns(query);
        warm.push(performance.now() - start);
      }
      await reader.close();
      await fresh.close();
      const how = pushed ? 'pushed down to SQL (searchPushDown)' : 'search cache (default)';
      rows.push({
        name: `searchRuns over ${count} runs on postgres, ${label}, ${how}: first search of a new process`,
        figure: `${firstMs.toFixed(0)} ms (${first.runs.length} runs on the page)`,
        baseline,
        ratio: (scan / firstMs).toFixed(2),
        goal: `reported (setup: ${(setup / 1000).toFixed(0)} s to write ${count} runs)`,
      });
      rows.push({
        name: `searchRuns over ${count} runs on postgres, ${label}, ${how}: warm`,
        figure: `${Math.min(...warm).toFixed(1)} ms`,
        baseline,
        ratio: (scan / Math.min(...warm)).toFixed(1),
        goal: 'reported',
      });
    }
  }
  await metadata.close();
}

function rate(n: number, ms: number): string {
  const perSecond = (n / ms) * 1000;
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)}M` : `${(perSecond / 1e3).toFixed(0)}k`;
}

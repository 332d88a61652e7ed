/**
 * Child process of bench/tracker.ts: the first `searchRuns` of a new process over a store
 * built by _tracker-store.ts, with its time and memory, or (`baseline`) just reading and
 * decoding the snapshot data that search needs through the store. Prints one JSON line.
 *
 *   node --expose-gc --import tsx bench/_tracker-first-search.ts <root> keel|baseline
 */
import { fsBackend } from '../src/backends/fs/backend.js';
import { readHead } from '../src/tracking/journal-head.js';
import { loadSnapshot } from '../src/tracking/search-snapshot.js';
import { createTracker } from '../src/tracking/tracker.js';

/** The search every row measures. */
const FILTER = "metrics.acc > 0.9 and params.optimizer = 'adam' and tags.team in ('vision', 'nlp')";
const ORDER_BY = ['metrics.acc desc'];

const [root, mode] = process.argv.slice(2) as [string, 'keel' | 'baseline'];
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
gc();
const before = process.memoryUsage();
const start = performance.now();
const backend = fsBackend({ root });
let matched = 0;
let warmMs = 0;
// kept alive until the memory is measured
let held: unknown;
if (mode === 'keel') {
  const tracker = createTracker({ metadata: backend.metadata, artifacts: backend.artifacts });
  const { runs } = await tracker.searchRuns({ filter: FILTER, orderBy: ORDER_BY, limit: 100 });
  matched = runs.length;
  held = tracker;
} else {
  // the least that search must do: read the snapshot's ids and the 3 columns it filters on
  const head = await readHead(backend.metadata);
  const base = await loadSnapshot(backend.metadata, head.snapshot!);
  const columns = await Promise.all(
    ['metrics.acc', 'params.optimizer', 'tags.team'].map((name) => base.column(name)),
  );
  matched = base.count;
  held = [base, columns];
}
const ms = performance.now() - start;
if (mode === 'keel') {
  const tracker = held as ReturnType<typeof createTracker>;
  const t = performance.now();
  await tracker.searchRuns({ filter: FILTER, orderBy: ORDER_BY, limit: 100 });
  warmMs = performance.now() - t;
}
gc();
const after = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({
    ms,
    warmMs,
    matched,
    heapMiB:
      (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 2 ** 20,
    rssMiB: (after.rss - before.rss) / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    held: held !== undefined,
  })}\n`,
);

/**
 * Worker: writes runs for ever on one fs store with a journal compaction every few writes,
 * printing each run id once its end() returned (acknowledged), until it is killed.
 */
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { createTracker } from '../../../src/tracking/tracker.js';

const [root, worker] = process.argv.slice(2) as [string, string];
const backend = fsBackend({ root });
const tracker = createTracker({
  metadata: backend.metadata,
  artifacts: backend.artifacts,
  flushIntervalMs: 0,
  searchSnapshotEvery: 2,
});
for (let i = 0; ; i++) {
  const run = await tracker.startRun({ experiment: 'crash', params: { worker, i } });
  run.logMetric('acc', i);
  await run.end();
  process.stdout.write(`${run.id}\n`);
  // a search now and then: it follows (and compacts) the journal too
  if (i % 5 === 0) await tracker.searchRuns({ filter: 'metrics.acc >= 0', limit: 5 });
}

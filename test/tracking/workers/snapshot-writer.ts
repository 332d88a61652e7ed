/** Worker: writes runs (and searches now and then) with frequent search snapshots, on one fs store. */
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { createTracker } from '../../../src/tracking/tracker.js';

const [root, worker, count] = process.argv.slice(2) as [string, string, string];
const backend = fsBackend({ root });
const tracker = createTracker({
  metadata: backend.metadata,
  artifacts: backend.artifacts,
  flushIntervalMs: 0,
  searchSnapshotEvery: 4,
});
for (let i = 0; i < Number(count); i++) {
  const run = await tracker.startRun({
    experiment: 'snapshots',
    name: `w${worker}-${i}`,
    params: { worker: Number(worker), i },
  });
  run.logMetric('acc', i);
  await run.setTags({ phase: 'training' });
  // a search now and then: it may store a snapshot while the other workers write
  if (i % 7 === 0) await tracker.searchRuns({ filter: 'metrics.acc >= 0' });
  await run.end('completed', undefined, { tags: { phase: 'done' } });
}
process.stdout.write(JSON.stringify({ done: Number(count) }));

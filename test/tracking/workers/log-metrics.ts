/** Worker: logs `count` metrics into its own run and into a shared run, on one fs store. */
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { createTracker } from '../../../src/tracking/tracker.js';

const [root, worker, count, sharedRunId] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const backend = fsBackend({ root });
const tracker = createTracker({
  metadata: backend.metadata,
  artifacts: backend.artifacts,
  flushSize: 250,
});
const own = await tracker.startRun({
  experiment: 'multi-process',
  name: `worker-${worker}`,
  params: { worker: Number(worker) },
});
const shared = await tracker.resumeRun(sharedRunId);
for (let i = 0; i < Number(count); i++) {
  own.logMetric('x', i, { step: i });
  if (i % 10 === 0) shared.logMetric(`w${worker}`, i, { step: i });
}
await shared.setTags({ [`worker-${worker}`]: 'done' });
await shared.flush();
await own.end();
await backend.close?.();
process.stdout.write(JSON.stringify({ runId: own.id }));

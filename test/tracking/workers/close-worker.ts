/**
 * Worker for close.test.ts. `exit <root>`: logs metrics without `end()`, calls `keel.close()`
 * and exits. `gc`: checks (with --expose-gc) that ended handles are not kept by the tracker
 * while an unended one is, so that `close()` still writes it.
 */
import { createMemoryArtifactStore } from '../../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../../src/backends/memory/metadata-store.js';
import { fsBackend } from '../../../src/fs.js';
import { createKeel } from '../../../src/keel.js';
import { createTracker } from '../../../src/tracking/tracker.js';

const [mode, root] = process.argv.slice(2);

if (mode === 'exit') {
  const keel = createKeel({ backend: fsBackend({ root: root ?? '' }) });
  const run = await keel.tracker.startRun({ experiment: 'exit', deferWriteMs: 600_000 });
  for (let step = 0; step < 100; step++) run.logMetric('loss', 1 / (step + 1));
  await keel.close();
  process.stdout.write(JSON.stringify({ runId: run.id }));
} else {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const tracker = createTracker({
    metadata: createMemoryMetadataStore(),
    artifacts: createMemoryArtifactStore(),
    flushIntervalMs: 0,
  });
  const ended: WeakRef<object>[] = [];
  const startAndEnd = async (i: number): Promise<void> => {
    const run = await tracker.startRun({ experiment: 'gc', deferWriteMs: i % 2 ? 600_000 : 0 });
    run.logMetric('x', i);
    await run.end();
    ended.push(new WeakRef(run));
  };
  for (let i = 0; i < 20; i++) await startAndEnd(i);
  // an unended handle the caller dropped: the tracker keeps it for close()
  const open = await (async () => {
    const run = await tracker.startRun({ experiment: 'gc' });
    run.logMetric('x', 7);
    return { id: run.id, ref: new WeakRef(run) };
  })();
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  const collected = ended.filter((ref) => ref.deref() === undefined).length;
  const openKept = open.ref.deref() !== undefined;
  await tracker.close();
  const points = (await tracker.metricHistory(open.id, 'x')).length;
  process.stdout.write(JSON.stringify({ collected, total: ended.length, openKept, points }));
}

import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createRegistry } from '../../src/registry/registry.js';
import { createTracker } from '../../src/tracking/tracker.js';

describe('verifyLineage with the keel Tracker on the same store', () => {
  it('finds the run by default, and reports a corrupt blob', async () => {
    const backend = memoryBackend();
    const tracker = createTracker({ ...backend, flushIntervalMs: 0 });
    const registry = createRegistry(backend);
    const run = await tracker.startRun({ experiment: 'churn' });
    const data = await run.logArtifact('id,label\n1,0\n', { name: 'train.csv' });
    const model = await run.logArtifact('weights', { name: 'model.bin' });
    await run.end('completed');
    await registry.registerVersion('churn', {
      artifact: model.digest,
      runId: run.id,
      inputs: [{ digest: data.digest, name: 'train.csv', kind: 'dataset' }],
    });
    const report = await registry.verifyLineage('churn', 1);
    expect(report.ok).toBe(true);
    expect(report.items.map((i) => [i.kind, i.status])).toEqual([
      ['artifact', 'ok'],
      ['input', 'ok'],
      ['run', 'ok'],
    ]);

    await registry.registerVersion('churn', { artifact: model.digest, runId: 'not-a-keel-run' });
    const unknownRun = await registry.verifyLineage('churn', 2);
    expect(unknownRun.ok).toBe(false);
    expect(unknownRun.items.at(-1)).toMatchObject({ kind: 'run', status: 'missing' });
  });

  it('reports a blob whose stored bytes no longer match as corrupt', async () => {
    const backend = memoryBackend();
    const { digest } = await backend.artifacts.put('weights');
    const artifacts = {
      ...backend.artifacts,
      // A store whose blob was altered: its verifying stream fails at the end.
      async *stream() {
        yield new TextEncoder().encode('tampered');
        const { IntegrityError } = await import('../../src/core/errors.js');
        throw new IntegrityError('[keel] test: bytes do not match');
      },
    };
    const registry = createRegistry({ metadata: backend.metadata, artifacts });
    await registry.registerVersion('m', { artifact: digest });
    const report = await registry.verifyLineage('m', 1);
    expect(report).toMatchObject({ ok: false, items: [{ kind: 'artifact', status: 'corrupt' }] });
  });
});

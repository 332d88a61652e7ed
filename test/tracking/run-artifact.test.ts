import { describe, expect, it } from 'vitest';
import { verifyBytes } from '../../src/artifacts/verify.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { digestOf } from '../../src/core/digest.js';
import { ConflictError, isKeelError } from '../../src/core/errors.js';
import { createTracker } from '../../src/tracking/tracker.js';
import type { RunStatus } from '../../src/tracking/types.js';
import { thrown } from '../helpers/data.js';

const text = new TextEncoder();

function setup() {
  const artifacts = createMemoryArtifactStore();
  const metadata = createMemoryMetadataStore();
  return { artifacts, metadata, tracker: createTracker({ metadata, artifacts }) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('reading an artifact by run and name', () => {
  it('returns the bytes logged under the name, by tracker and by handle, before and after end', async () => {
    const { tracker } = setup();
    const run = await tracker.startRun({ experiment: 'e' });
    await run.logArtifact('weights v1', { name: 'model.onnx' });
    await run.logArtifact('{"auc":0.9}', { name: 'metrics.json', mediaType: 'application/json' });
    expect(await run.artifact('model.onnx')).toEqual(text.encode('weights v1'));
    await run.logArtifact('weights v2', { name: 'model.onnx' });
    // the latest of a name wins
    expect(await tracker.getRunArtifact(run.id, 'model.onnx')).toEqual(text.encode('weights v2'));
    await run.end();
    expect(await run.artifact('metrics.json')).toEqual(text.encode('{"auc":0.9}'));
    expect(await tracker.getRunArtifact(run.id, 'metrics.json')).toEqual(
      text.encode('{"auc":0.9}'),
    );
  });

  it('finds named outputs of end() and of a deferred run', async () => {
    const { tracker, artifacts } = setup();
    const { digest } = await artifacts.put('report');
    const run = await tracker.startRun({ experiment: 'e', deferWriteMs: 60_000 });
    await run.logOutput({ digest, name: 'report.html', kind: 'report' });
    expect(await tracker.getRunArtifact(run.id, 'report.html')).toEqual(text.encode('report'));
    const other = await tracker.startRun({ experiment: 'e', deferWriteMs: 60_000 });
    await other.end('completed', undefined, { outputs: [{ digest, name: 'final' }] });
    expect(await other.artifact('final')).toEqual(text.encode('report'));
  });

  it('says which names a run has when the name is unknown, and refuses bad input', async () => {
    const { tracker } = setup();
    const run = await tracker.startRun({ experiment: 'e' });
    await run.logArtifact('x', { name: 'a.bin' });
    await run.logArtifact('y');
    const missing = await rejection(tracker.getRunArtifact(run.id, 'b.bin'));
    expect(isKeelError(missing, 'KEEL_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toContain(`run ${run.id} has no artifact named "b.bin"`);
    expect((missing as Error).message).toContain('"a.bin"');
    const empty = await tracker.startRun({ experiment: 'e' });
    expect(((await rejection(empty.artifact('a.bin'))) as Error).message).toContain(
      'it has no named outputs',
    );
    expect(
      isKeelError(
        await rejection(tracker.getRunArtifact('01arz3ndektsv4rrffq69g5fav', 'a.bin')),
        'KEEL_NOT_FOUND',
      ),
    ).toBe(true);
    for (const bad of ['', 42, undefined, 'x'.repeat(1001)]) {
      const error = await rejection(tracker.getRunArtifact(run.id, bad as string));
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
      expect(isKeelError(await rejection(run.artifact(bad as string)), 'KEEL_VALIDATION')).toBe(
        true,
      );
    }
  });

  it('verifies the bytes: a corrupt blob is an IntegrityError, a deleted one NotFoundError', async () => {
    const bytes = new Map<string, Uint8Array>();
    const inner = createMemoryArtifactStore();
    // a store whose get returns what a corrupted disk would
    const artifacts = {
      ...inner,
      async get(digest: `sha256:${string}`) {
        const corrupt = bytes.get(digest);
        if (corrupt === undefined) return inner.get(digest);
        return verifyBytes(digest, corrupt, 'test get');
      },
    };
    const tracker = createTracker({ metadata: createMemoryMetadataStore(), artifacts });
    const run = await tracker.startRun({ experiment: 'e' });
    const meta = await run.logArtifact('good bytes', { name: 'm' });
    bytes.set(meta.digest, text.encode('evil bytes'));
    expect(isKeelError(await rejection(run.artifact('m')), 'KEEL_INTEGRITY')).toBe(true);
    bytes.delete(meta.digest);
    expect(meta.digest).toBe(await digestOf('good bytes'));
    await inner.delete(meta.digest);
    expect(isKeelError(await rejection(run.artifact('m')), 'KEEL_NOT_FOUND')).toBe(true);
  });
});

describe('writing to an ended run', () => {
  it('names the status the run really ended with', async () => {
    const { tracker } = setup();
    for (const status of ['completed', 'failed', 'killed'] as const) {
      const run = await tracker.startRun({ experiment: 'e' });
      await run.end(status);
      const errors = [
        await rejection(run.logParams({ a: 1 })),
        await rejection(run.setTags({ a: 'b' })),
        thrown(() => run.logMetric('loss', 1)),
      ];
      for (const error of errors) {
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as Error).message).toContain(`has ended (status ${status})`);
        const detail = (error as ConflictError).details?.status as RunStatus;
        expect(detail).toBe(status);
      }
    }
  });

  it('another handle of the run tells the same status', async () => {
    const { tracker } = setup();
    const run = await tracker.startRun({ experiment: 'e' });
    const second = await tracker.resumeRun(run.id);
    await run.end('killed');
    const error = await rejection(second.logParams({ a: 1 }));
    expect((error as Error).message).toContain('has ended (status killed)');
    expect((error as ConflictError).details?.status).toBe('killed');
  });
});

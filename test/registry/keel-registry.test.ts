/**
 * The registry as createKeel composes it (issue 11 §4): a version names only runs the tracker
 * knows, and model names follow documented rules.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';

describe('createKeel registry', () => {
  it('refuses a run id the tracker does not know, and takes one it does (deferred runs too)', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    const { digest } = await keel.artifacts.put('weights');
    for (const runId of ['01jq0000000000000000000000', 'not-a-run-id']) {
      const error = await keel.registry
        .registerVersion('churn', { artifact: digest, runId })
        .catch((e: unknown) => e);
      expect(isKeelError(error, 'KEEL_NOT_FOUND')).toBe(true);
      expect((error as Error).message).toContain(`no run "${runId}" is known to the tracker`);
    }
    await expect(keel.registry.getModel('churn')).rejects.toSatisfy((e) =>
      isKeelError(e, 'KEEL_NOT_FOUND'),
    );
    const run = await keel.tracker.startRun({ experiment: 'e' });
    const deferred = await keel.tracker.startRun({ experiment: 'e', deferWriteMs: 60_000 });
    const v1 = await keel.registry.registerVersion('churn', { artifact: digest, runId: run.id });
    const v2 = await keel.registry.registerVersion('churn', {
      artifact: digest,
      runId: deferred.id,
    });
    expect([v1.runId, v2.runId]).toEqual([run.id, deferred.id]);
    expect((await keel.registry.verifyLineage('churn', 2)).ok).toBe(true);
    await keel.close();
  });

  it('model names: letters, digits, ".", "_" and "-", starting with a letter or digit', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    const { digest } = await keel.artifacts.put('weights');
    for (const name of ['churn', 'Churn-Model_v2.1', '7day']) {
      await keel.registry.registerVersion(name, { artifact: digest });
    }
    for (const name of ['My Model!', 'a/b', '-x', '.hidden', 'naïve', '__proto__', '']) {
      const error = await keel.registry
        .registerVersion(name, { artifact: digest })
        .catch((e: unknown) => e);
      expect(isKeelError(error, 'KEEL_VALIDATION'), name).toBe(true);
      expect((error as Error).message).toContain('letters, digits, ".", "_" and "-"');
    }
  });
});

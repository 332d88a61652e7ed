import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runTs } from '../helpers/run-ts.js';

describe('examples/lifecycle.ts', () => {
  it('runs the whole loop on the fs store: train, promote, serve, drift, retrain, canary, release, verify', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'keel-lifecycle-'));
    try {
      const output = runTs(join(repoRoot, 'examples', 'lifecycle.ts'), { cwd });
      expect(output).toContain(`store at ${join(cwd, '.keel')}`);
      expect(output).toMatch(
        /pipeline\s+train-pipeline.ts in memory: 6 steps, .*re-run took "model" from the cache/,
      );
      expect(output).toMatch(/gate "offline-quality" PASS\s+churn v1/);
      expect(output).toMatch(
        /train\s+step "model" run \w{26}: params .*learning_rate=0.5.*, loss 0.693 -> 0.\d+ over 200 epochs, artifact sha256:/,
      );
      expect(output).toMatch(
        /promote\s+churn v1 -> champion: first model \(gate pass, approved by ana\)/,
      );
      expect(output).toMatch(/monitor\s+checked \d+ rows: no drift/);
      expect(output).toMatch(/monitor\s+drift in .*tenure/);
      expect(output).toMatch(/retrain\s+run \w{26}: churn v2 .* -> challenger/);
      expect(output).toMatch(/router\s+challenger now serves v2/);
      expect(output).toMatch(/approve\s+ana approves churn v2 for champion/);
      expect(output).toMatch(/release\s+churn v2 (-> champion|rolled back)/);
      expect(output).toMatch(/history\s+challenger\s+v- -> v2 by ops-demo: training loop: drift/);
      expect(output).toMatch(/audit\s+verified/);
      expect(output).toMatch(/lineage\s+churn v\d: intact/);
      // The story holds: the drift makes the old model worse, the released retrain repairs it.
      const accuracy = (re: RegExp): number => Number(output.match(re)?.[1]);
      const stable = accuracy(/serve\s+stable traffic: accuracy ([\d.]+)/);
      const stale = accuracy(/serve\s+shifted traffic: accuracy ([\d.]+)/);
      const released = accuracy(/serve\s+shifted traffic after the release: accuracy ([\d.]+)/);
      expect(stale).toBeLessThan(stable - 0.2);
      expect(released).toBeGreaterThan(stale + 0.2);
      // Every canary line and the release line describe this run's versions only.
      for (const line of output.split('\n').filter((l) => l.startsWith('canary'))) {
        expect(line).toMatch(/^canary\s+v1 \d+ req \(accuracy [\d.]+\), v2 \d+ req/);
      }

      // Run again on the same store: versions continue, the old challenger is retired first.
      const again = runTs(join(repoRoot, 'examples', 'lifecycle.ts'), { cwd });
      expect(again).toMatch(/lifecycle retired the previous run's challenger v2/);
      expect(again).toMatch(
        /promote\s+churn v3 -> champion: baseline retrained from scratch, replaces v2/,
      );
      expect(again).not.toMatch(/first model/);
      expect(again).toMatch(/retrain\s+run \w{26}: churn v4 .* -> challenger/);
      expect(again).toMatch(/release\s+churn v4 (-> champion|rolled back)/);
      expect(again).toMatch(/audit\s+verified/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runTs } from './helpers/run-ts.js';

function runExample(name: string): string {
  const cwd = mkdtempSync(join(tmpdir(), 'keel-example-'));
  try {
    return runTs(join(repoRoot, 'examples', name), { cwd });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe('examples', () => {
  it('quickstart tracks, registers, gates and promotes on the fs store', () => {
    const output = runExample('quickstart.ts');
    expect(output).toMatch(/run\s+\w{26}\s+completed/);
    expect(output).toMatch(/version\s+churn v1, gate pass/);
    expect(output).toMatch(/champion churn v1 <- sha256:[0-9a-f]{64}/);
    expect(output).toContain('audit    verified');
    expect(output).toContain('lineage intact');
  });

  it('custom-adapter drives keel on a Map-backed adapter written against keel/adapter', () => {
    const output = runExample('custom-adapter.ts');
    expect(output).toMatch(/map adapter: run \w{26} completed/);
    expect(output).toMatch(/map adapter: champion churn v1 <- sha256:[0-9a-f]{64}/);
    expect(output).toMatch(/map adapter: audit verified \(\d+ entries\)/);
  });
});

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
  it('quickstart stores artifacts and documents and prints them', () => {
    const output = runExample('quickstart.ts');
    expect(output).toMatch(/weights\s+sha256:[0-9a-f]{64}\s+1024 bytes/);
    expect(output).toContain('"model":"churn"');
  });
});

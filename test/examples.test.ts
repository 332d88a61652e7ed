import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function runExample(name: string): string {
  const cwd = mkdtempSync(join(tmpdir(), 'keel-example-'));
  try {
    return execFileSync(process.execPath, ['--import', 'tsx', join(root, 'examples', name)], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
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

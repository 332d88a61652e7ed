import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot as root, runTs } from './helpers/run-ts.js';

/** The README's quickstart must run exactly as written (imports mapped to the sources). */
describe('README quickstart', () => {
  it('runs as written', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Quickstart'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code, 'a ts block under ## Quickstart').toBeDefined();
    expect(code!.trim().split('\n').length).toBeLessThanOrEqual(15);
    const source = code!
      .replaceAll("from 'keel/fs'", `from '${join(root, 'src/fs.ts')}'`)
      .replaceAll("from 'keel/testing'", `from '${join(root, 'src/testing.ts')}'`)
      .replaceAll("from 'keel'", `from '${join(root, 'src/index.ts')}'`);
    const dir = mkdtempSync(join(root, 'node_modules/.readme-'));
    try {
      const file = join(dir, 'quickstart.mts');
      writeFileSync(file, source);
      const output = runTs(file, { cwd: dir });
      expect(output).toContain('sha256:');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createRegistry } from '../../src/registry/registry.js';
import { repoRoot } from '../helpers/run-ts.js';

const run = promisify(execFile);
const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const worker = join(import.meta.dirname, 'workers/register.ts');
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'keel-registry-mp-'));
  roots.push(root);
  return root;
}

describe('registry across processes on one fs store', () => {
  it('4 processes x 25 registrations give versions 1..100 exactly, and the audit chain verifies', async () => {
    const root = tempRoot();
    const outputs = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        run(process.execPath, ['--import', tsx, worker, root, String(n), '25'], { cwd: repoRoot }),
      ),
    );
    const perWorker = outputs.map(({ stdout }) => JSON.parse(stdout) as number[]);
    for (const versions of perWorker) {
      expect(versions).toHaveLength(25);
      expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    }
    const all = perWorker.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));

    const registry = createRegistry(fsBackend({ root }));
    const listed = await registry.listVersions('churn', { limit: 1000 });
    expect(listed.versions.map((v) => v.version)).toEqual(all);
    expect((await registry.resolve('churn', 'latest')).version).toBe(100);
    const verified = await registry.verifyAudit();
    expect(verified).toMatchObject({ ok: true, entries: 101 });
    const actions: string[] = [];
    for await (const entry of registry.audit()) actions.push(entry.action);
    expect(actions.filter((a) => a === 'version:register')).toHaveLength(100);
    expect(actions.filter((a) => a === 'model:create')).toHaveLength(1);
  }, 120_000);

  it('resolve sees an alias moved by another store instance within the staleness bound', async () => {
    const root = tempRoot();
    const here = createRegistry(fsBackend({ root }));
    const there = createRegistry(fsBackend({ root }));
    const { digest } = await fsBackend({ root }).artifacts.put('w');
    await here.registerVersion('m', { artifact: digest });
    await here.registerVersion('m', { artifact: digest });
    await here.setAlias('m', 'prod', 1);
    expect((await here.resolve('m', 'prod')).version).toBe(1);
    await there.setAlias('m', 'prod', 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await here.resolve('m', 'prod')).version).toBe(2);
    expect((await here.verifyAudit()).ok).toBe(true);
  });
});

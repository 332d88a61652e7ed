/**
 * Issue 12 §2 the way it broke: a process changing the registry on the fs store is killed
 * with SIGKILL again and again; afterwards every model, version, archive, alias move and
 * approval has exactly one audit entry, no entry describes a change that did not happen,
 * and the chain verifies.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createRegistry } from '../../src/registry/registry.js';
import { repoRoot } from '../helpers/run-ts.js';
import { auditProblems } from './invariants.js';

const tsx = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
const worker = join(import.meta.dirname, 'workers/churn.ts');
const KILLS = Number(process.env.KEEL_KILLS ?? 8);
const LEASE_MS = 300;
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Starts the worker, lets it work for `ms` after it is ready, then kills it with SIGKILL. */
function runAndKill(root: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, worker, root, String(LEASE_MS)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), ms));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`worker exited with ${code}: ${stderr}`));
    });
  });
}

describe('registry changes killed with SIGKILL on the fs store', () => {
  it(`after ${KILLS} kills the audit log and the documents agree`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'keel-registry-kill-'));
    roots.push(root);
    for (let k = 0; k < KILLS; k++) await runAndKill(root, 150 + ((k * 97) % 400));
    // The next process, once the last lease has expired, finishes what was pending.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 50));
    const backend = fsBackend({ root });
    const registry = createRegistry({ ...backend, auditLeaseMs: LEASE_MS });
    const { digest } = await backend.artifacts.put('after');
    await registry.registerVersion('after', { artifact: digest });
    expect(await auditProblems(backend.metadata)).toEqual([]);
    const verified = await registry.verifyAudit();
    expect(verified.ok).toBe(true);
    const versions = (await registry.listVersions('churn', { limit: 1000 })).versions;
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    expect(versions.length).toBeGreaterThan(KILLS);
  }, 180_000);
});

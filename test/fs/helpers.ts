/** Helpers of the filesystem-store tests: fresh temp roots (removed when the file ends), rejections. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const roots: string[] = [];

afterAll(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A new empty directory under the OS temp dir. */
export function tempRoot(label = 'keel-fs-'): string {
  const root = mkdtempSync(join(tmpdir(), label));
  roots.push(root);
  return root;
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/**
 * Deletes every held lock in a store's `locks` directory, as an operator (or a clean-up script)
 * might while keel processes work; returns how many it removed. Tolerates the races with those
 * processes (a lock released or taken meanwhile).
 */
export function deleteHeldLocks(locksDir: string): number {
  let removed = 0;
  for (const name of readdirSync(locksDir)) {
    if (!name.endsWith('.lock')) continue;
    try {
      rmSync(join(locksDir, name), { recursive: true, force: true, maxRetries: 5, retryDelay: 1 });
      removed++;
    } catch {
      // refilled by a holder between two retries: it was deleted at least once, fine
    }
  }
  return removed;
}

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocker } from '../../src/backends/fs/lock.js';
import { isKeelError } from '../../src/core/errors.js';
import { startWorker } from '../reliability/spawn.js';
import { errorOf, tempRoot } from './helpers.js';

const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 16);

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
  } catch {
    return '0';
  }
}

function startTime(pid: number): string {
  const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return line.slice(line.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** Plants a held lock as another holder would leave it. */
function plant(dir: string, name: string, owner: string, ageMs = 0): string {
  const own = join(dir, `${name}.lock`, owner);
  mkdirSync(own, { recursive: true });
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    utimesSync(own, then, then);
  }
  return own;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fs locks', () => {
  it('never takes over the lock of a live process on this host, however long it is paused', async () => {
    const dir = tempRoot('keel-lock-');
    const holder = startWorker('lock-holder', [dir, 'x', '50']);
    try {
      await holder.printed('held\n');
      holder.child.kill('SIGSTOP');
      await sleep(400); // eight times the stale age
      const locker = createLocker({ dir, staleMs: 50, timeoutMs: 300 });
      const error = await errorOf(locker.withLock('x', async () => 'taken'));
      expect(isKeelError(error, 'KEEL_TIMEOUT')).toBe(true);
      expect((error as Error).message).toContain(`process ${holder.child.pid} on this host`);
    } finally {
      holder.child.kill('SIGCONT');
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
  }, 30_000);

  it('takes over the lock of a holder that was killed', async () => {
    const dir = tempRoot('keel-lock-');
    const holder = startWorker('lock-holder', [dir, 'x', '60000']);
    await holder.printed('held\n');
    holder.child.kill('SIGKILL');
    await holder.exited;
    const locker = createLocker({ dir, staleMs: 60_000, timeoutMs: 5_000 });
    expect(await locker.withLock('x', async () => 'taken')).toBe('taken');
    expect(readdirSync(dir).filter((n) => !n.startsWith('.'))).toEqual([]);
  }, 30_000);

  it('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    const dir = tempRoot('keel-lock-');
    // Our own pid, but a start time it never had: the holder is dead and its pid reused.
    const earlier = String(Math.max(0, Number(startTime(process.pid)) - 1));
    plant(dir, 'x', `${'a'.repeat(24)}.${process.pid}.${earlier}.${bootId()}.${HOST_TAG}`);
    const locker = createLocker({ dir, staleMs: 60_000, timeoutMs: 2_000 });
    expect(await locker.withLock('x', async () => 'taken')).toBe('taken');
  });

  it('takes over a lock of a previous boot', async () => {
    const dir = tempRoot('keel-lock-');
    plant(dir, 'x', `${'b'.repeat(24)}.${process.pid}.1.${'f'.repeat(32)}.${HOST_TAG}`);
    const locker = createLocker({ dir, staleMs: 60_000, timeoutMs: 2_000 });
    expect(await locker.withLock('x', async () => 'taken')).toBe('taken');
  });

  it('judges a lock from another host by when it was last refreshed', async () => {
    const dir = tempRoot('keel-lock-');
    const owner = `${'c'.repeat(24)}.1234.1.0.${'0'.repeat(16)}`;
    const own = plant(dir, 'fresh', owner);
    const locker = createLocker({ dir, staleMs: 200, timeoutMs: 400 });
    // Refreshed all along: not taken over.
    const refresh = setInterval(() => {
      const now = new Date();
      utimesSync(own, now, now);
    }, 20);
    try {
      expect(
        isKeelError(await errorOf(locker.withLock('fresh', async () => 1)), 'KEEL_TIMEOUT'),
      ).toBe(true);
    } finally {
      clearInterval(refresh);
    }
    // Not refreshed for longer than staleMs: taken over.
    plant(dir, 'old', owner, 1_000);
    expect(await locker.withLock('old', async () => 'taken')).toBe('taken');
  });

  it('tells a holder that lost its lock, and never removes the lock of the next holder', async () => {
    const dir = tempRoot('keel-lock-');
    const a = createLocker({ dir, timeoutMs: 2_000 });
    const b = createLocker({ dir, timeoutMs: 2_000 });
    await a.withLock('x', async (lock) => {
      expect(await lock.isHeld()).toBe(true);
      rmSync(join(dir, 'x.lock'), { recursive: true, force: true });
      expect(await lock.isHeld()).toBe(false);
      expect(isKeelError(await errorOf(lock.assertHeld('commit')), 'KEEL_CONFLICT')).toBe(true);
      // Another holder takes the lock meanwhile; our release must leave it alone.
      await b.withLock('x', async (other) => {
        expect(await other.isHeld()).toBe(true);
      });
      await b.withLock('x', async () => {
        // still takeable: nothing left behind
      });
    });
    let inner = false;
    await b.withLock('x', async (other) => {
      const c = createLocker({ dir, timeoutMs: 200 });
      expect(isKeelError(await errorOf(c.withLock('x', async () => 1)), 'KEEL_TIMEOUT')).toBe(true);
      inner = await other.isHeld();
    });
    expect(inner).toBe(true);
  });

  it('takes several locks in one order, so crossing callers never deadlock', async () => {
    const dir = tempRoot('keel-lock-');
    const locker = createLocker({ dir, timeoutMs: 5_000 });
    const other = createLocker({ dir, timeoutMs: 5_000 });
    let inside = 0;
    let most = 0;
    const work = async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(5);
      inside--;
    };
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? locker : other).withLocks(i % 2 ? ['p', 'q', 'r'] : ['r', 'q', 'p'], work),
      ),
    );
    expect(most).toBe(1);
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { createKeel } from '../../src/keel.js';
import { collect } from '../../src/testing/assert.js';
import { deleteHeldLocks, tempRoot } from '../fs/helpers.js';
import { auditProblems } from '../registry/invariants.js';
import { startWorker, type Worker } from './spawn.js';

const STALE_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Removes every held lock of the store, as an operator (or a cleanup script) might. */
function deleteLocks(root: string): number {
  return deleteHeldLocks(join(root, 'locks'));
}

/** Pauses `victim` past lockStaleMs and deletes the locks under `root` meanwhile, `times` times. */
async function disturb(
  victim: Worker,
  root: string,
  isRunning: () => boolean,
  what: Disturbance,
  times = 30,
): Promise<{ rounds: number; deleted: number }> {
  let rounds = 0;
  let deleted = 0;
  try {
    while (isRunning() && rounds < times) {
      await sleep(5 + Math.random() * 40);
      if (!isRunning()) break;
      if (what.pause) victim.child.kill('SIGSTOP');
      await sleep(20);
      if (what.deleteLocks) deleted += deleteLocks(root);
      // Longer than lockStaleMs: a lock judged by age alone would be taken over now.
      await sleep(STALE_MS * 1.5 + Math.random() * STALE_MS);
      if (what.deleteLocks) deleted += deleteLocks(root);
      if (what.pause) victim.child.kill('SIGCONT');
      rounds++;
    }
  } finally {
    victim.child.kill('SIGCONT');
  }
  return { rounds, deleted };
}

interface Disturbance {
  /** SIGSTOP one writer for longer than lockStaleMs, then SIGCONT it. */
  pause: boolean;
  /** Delete the lock files while the writers work (and while one is paused). */
  deleteLocks: boolean;
}

/**
 * Two writers alternate appends and compare-and-swap increments while the test disturbs them;
 * then every acknowledgement is checked against the store.
 */
async function run(disturbance: Disturbance): Promise<{ rounds: number; deleted: number }> {
  const root = tempRoot('keel-fence-');
  const workers: Worker[] = ['a', 'b'].map((w) =>
    startWorker('fence-writer', [root, w, '300', String(STALE_MS)]),
  );
  await Promise.all(workers.map((w) => w.printed('ready\n')));
  let running = true;
  const exits = Promise.all(workers.map((w) => w.exited)).finally(() => {
    running = false;
  });
  const { rounds, deleted } = await disturb(workers[0]!, root, () => running, disturbance);
  const results = await exits;
  for (const result of results) expect(result.code, result.stderr).toBe(0);

  const lines = workers.flatMap((w) => w.output().split('\n'));
  const logAcks = lines
    .filter((l) => l.startsWith('log '))
    .map((l) => {
      const [, offset, worker, i] = l.split(' ');
      return { offset: Number(offset), worker, i: Number(i) };
    });
  const casAcks = lines.filter((l) => l.startsWith('cas ')).map((l) => Number(l.slice(4)));

  const store = createFsMetadataStore({ root });
  // The store stays readable: the log reads whole, in order, without gaps.
  const records = await collect(store.read('stall/log'));
  expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
  // No offset was acknowledged twice, and every acknowledged entry is where it was told.
  expect(new Set(logAcks.map((a) => a.offset)).size).toBe(logAcks.length);
  for (const ack of logAcks) {
    expect(records[ack.offset]?.entry, `ack at ${ack.offset}`).toEqual({
      worker: ack.worker,
      i: ack.i,
    });
  }
  // An append refused for a lost lock left nothing behind: the log is exactly the acks.
  expect(records.length).toBe(logAcks.length);
  // No counter value was acknowledged twice, and none was lost.
  expect(new Set(casAcks).size).toBe(casAcks.length);
  expect((await store.get('stall/counter'))?.value).toBe(casAcks.length);
  // And the store still takes writes.
  expect(await store.append('stall/log', ['after'])).toEqual({ offset: records.length });
  return { rounds, deleted };
}

describe('fs locks fence out a holder that lost its lock', () => {
  it('registry writes through createKeel + fsBackend: no version acknowledged twice, none lost', async () => {
    const root = tempRoot('keel-fence-registry-');
    const workers = ['a', 'b'].map((w) =>
      startWorker('registry-writer', [root, w, '40', String(STALE_MS)]),
    );
    await Promise.all(workers.map((w) => w.printed('ready\n')));
    let running = true;
    const exits = Promise.all(workers.map((w) => w.exited)).finally(() => {
      running = false;
    });
    const { deleted } = await disturb(workers[0]!, join(root, 'metadata'), () => running, {
      pause: true,
      deleteLocks: true,
    });
    for (const result of await exits) expect(result.code, result.stderr).toBe(0);
    expect(deleted).toBeGreaterThan(0);
    const acks = workers
      .flatMap((w) => w.output().split('\n'))
      .filter((l) => l.startsWith('version '))
      .map((l) => {
        const [, version, worker, i] = l.split(' ');
        return { version: Number(version), worker, i };
      });
    expect(acks.length).toBeGreaterThan(0);
    expect(new Set(acks.map((a) => a.version)).size).toBe(acks.length);
    const keel = createKeel({ backend: fsBackend({ root }) });
    for (const ack of acks) {
      const stored = await keel.registry.getVersion('m', ack.version);
      expect(stored.tags, `version ${ack.version}`).toEqual({ worker: ack.worker, i: ack.i });
    }
    // Still readable and writable.
    const { versions } = await keel.registry.listVersions('m', { limit: 1000 });
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    expect(await keel.registry.verifyAudit()).toMatchObject({ ok: true });
    // every version has exactly one audit entry, and no entry describes a change that did not happen
    expect(await auditProblems(keel.metadata)).toEqual([]);
    const digest = (await keel.artifacts.put('after')).digest;
    expect((await keel.registry.registerVersion('m', { artifact: digest })).version).toBe(
      versions.length + 1,
    );
  }, 120_000);

  it('a holder paused past lockStaleMs keeps its lock: nothing lost, nothing acknowledged twice', async () => {
    const { rounds } = await run({ pause: true, deleteLocks: false });
    expect(rounds).toBeGreaterThan(0);
  }, 120_000);

  it('deleting held locks never costs an acknowledged write or a duplicate offset', async () => {
    const { deleted } = await run({ pause: false, deleteLocks: true });
    expect(deleted).toBeGreaterThan(0);
  }, 120_000);

  it('a paused holder whose lock is deleted cannot commit when it resumes', async () => {
    const { deleted } = await run({ pause: true, deleteLocks: true });
    expect(deleted).toBeGreaterThan(0);
  }, 120_000);
});

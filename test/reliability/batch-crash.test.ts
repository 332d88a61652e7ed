import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { collect } from '../../src/testing/assert.js';
import { tempRoot } from '../fs/helpers.js';
import { startWorker } from './spawn.js';

const ROUNDS = 6;

describe('fs atomic batches survive SIGKILL', () => {
  it(`every batch is all or nothing over ${ROUNDS} rounds of killed writers`, async () => {
    const root = tempRoot('keel-batch-chaos-');
    let acked = 0;
    let diedAfterIntent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const where = `round ${round}`;
      // One writer dies by itself right after committing an intent, before applying it; the
      // other is killed at a random moment.
      const suicidal = startWorker('batch-writer', [root, `s${round}`, String(1 + (round % 4))]);
      const victim = startWorker('batch-writer', [root, `v${round}`]);
      await Promise.all([suicidal.printed('ready\n'), victim.printed('ready\n')]);
      const died = await suicidal.exited;
      if (died.signal === 'SIGKILL') diedAfterIntent++;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 150));
      victim.child.kill('SIGKILL');
      await victim.exited;

      const store = createFsMetadataStore({ root });
      const counter = (await store.get('counter'))?.value as number;
      const increments = await collect(store.read('increments'));
      // All or nothing: the counter and its log moved together, one entry per increment.
      expect(
        increments.map((r) => (r.entry as { value: number }).value),
        where,
      ).toEqual(Array.from({ length: counter }, (_, i) => i + 1));
      const acks = [suicidal, victim].flatMap((w) =>
        w
          .output()
          .split('\n')
          .filter((l) => l.startsWith('ack '))
          .map((l) => Number(l.slice(4))),
      );
      // Acknowledged batches are all there, and no value was acknowledged twice.
      expect(new Set(acks).size, where).toBe(acks.length);
      expect(counter, where).toBeGreaterThanOrEqual(Math.max(acked, ...acks));
      acked = counter;
    }
    expect(diedAfterIntent).toBe(ROUNDS);
    expect(readdirSync(join(root, 'intents')).filter((n) => n.endsWith('.json'))).toEqual([]);
  }, 120_000);
});

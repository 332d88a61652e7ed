import { describe, expect, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { type Digest, sha256 } from '../../src/core/digest.js';
import { collect } from '../../src/testing/assert.js';
import { tempRoot } from '../fs/helpers.js';
import { startWorker } from './spawn.js';

const ROUNDS = 20;

/** A small deterministic generator, so that a failing run can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Entry {
  round: number;
  i: number;
  k: number;
  check: string;
}

describe('fs stores survive SIGKILL at random moments', () => {
  it(`keeps every document, blob and log entry intact over ${ROUNDS} killed writers`, async () => {
    const seed = Number(process.env.KEEL_CHAOS_SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    const root = tempRoot('keel-chaos-');
    let logLength = 0;
    let counter = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const where = `seed ${seed}, round ${round}`;
        const worker = startWorker('chaos-writer', [root, String(round)]);
        await worker.printed('ready\n');
        await new Promise((resolve) => setTimeout(resolve, 30 + next() * 250));
        worker.child.kill('SIGKILL');
        const { signal } = await worker.exited;
        expect(signal, where).toBe('SIGKILL');
        const acks = worker
          .output()
          .split('\n')
          .filter((line) => line.startsWith('ack '));

        // A fresh pair of stores, as a process starting after the crash would open them.
        const metadata = createFsMetadataStore({ root: `${root}/metadata` });
        const artifacts = createFsArtifactStore({ root: `${root}/artifacts` });

        for await (const doc of metadata.list('docs/')) {
          const value = doc.value as { text: string; check: string };
          expect(sha256(value.text), `${where}: ${doc.key}`).toBe(value.check);
        }
        for (const ack of acks.filter((a) => a.startsWith('ack doc '))) {
          expect(
            await metadata.get(ack.slice('ack doc '.length)),
            `${where}: ${ack}`,
          ).toBeDefined();
        }

        const listed = await collect(artifacts.list());
        for (const meta of listed) {
          const bytes = await artifacts.get(meta.digest);
          expect(bytes.length, where).toBe(meta.size);
          let streamed = 0;
          for await (const chunk of artifacts.stream(meta.digest)) streamed += chunk.length;
          expect(streamed, where).toBe(meta.size);
        }
        const listedDigests = new Set(listed.map((m) => m.digest));
        for (const ack of acks.filter((a) => a.startsWith('ack blob '))) {
          expect(
            listedDigests.has(ack.slice('ack blob '.length) as Digest),
            `${where}: ${ack}`,
          ).toBe(true);
        }

        const records = await collect(metadata.read('chaos/log'));
        for (const [index, record] of records.entries()) expect(record.offset, where).toBe(index);
        const batches = new Map<string, number[]>();
        for (const { entry } of records) {
          const e = entry as unknown as Entry | { parent: number };
          if ('parent' in e) continue;
          expect(sha256(`${e.round}/${e.i}/${e.k}`), where).toBe(e.check);
          const id = `${e.round}/${e.i}`;
          batches.set(id, [...(batches.get(id) ?? []), e.k]);
        }
        // Every batch is all-or-nothing: entries 0..n-1 of the append, n = 1 + i % 3.
        for (const [id, ks] of batches) {
          const i = Number(id.split('/')[1]);
          expect(ks, `${where}: batch ${id}`).toEqual([0, 1, 2].slice(0, 1 + (i % 3)));
        }
        const acked = acks.filter((a) => a.startsWith('ack log ')).map((a) => Number(a.slice(8)));
        expect(records.length, where).toBeGreaterThanOrEqual(Math.max(logLength, ...acked));
        // Appends still work after the crash, right after the last intact record.
        expect(await metadata.append('chaos/log', [{ parent: round }]), where).toEqual({
          offset: records.length,
        });
        logLength = records.length + 1;

        const counterDoc = await metadata.get('chaos/counter');
        const ackedCounter = acks
          .filter((a) => a.startsWith('ack counter '))
          .map((a) => Number(a.slice(12)));
        const value = typeof counterDoc?.value === 'number' ? counterDoc.value : 0;
        expect(value, where).toBeGreaterThanOrEqual(Math.max(counter, ...ackedCounter));
        counter = value;
        // Compare-and-swap still works: no lock of the dead writer is left blocking it.
        await metadata.put('chaos/counter', value + 1, {
          ifRevision: counterDoc?.revision ?? null,
        });
        counter = value + 1;
      }
    } catch (error) {
      throw new Error(`${String(error)} (replay with KEEL_CHAOS_SEED=${seed})`, { cause: error });
    }
  }, 110_000);
});

/**
 * Writes documents, blobs, log entries and counter increments to an fs store in a tight
 * loop until it is killed. Every write that resolved is announced on stdout ("ack ..."),
 * so the parent can check that acknowledged writes survive the kill.
 */
import { createFsArtifactStore } from '../../../src/backends/fs/artifact-store.js';
import { createFsMetadataStore } from '../../../src/backends/fs/metadata-store.js';
import { sha256 } from '../../../src/core/digest.js';
import { isKeelError } from '../../../src/core/errors.js';

const [root, roundText] = process.argv.slice(2);
if (root === undefined || roundText === undefined)
  throw new Error('usage: chaos-writer <root> <round>');
const round = Number(roundText);
const metadata = createFsMetadataStore({ root: `${root}/metadata` });
const artifacts = createFsArtifactStore({ root: `${root}/artifacts` });

function payload(i: number): string {
  return `round ${round} item ${i} `.repeat(1 + ((i * 7919 + round) % 200));
}

process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const text = payload(i);
  switch (i % 4) {
    case 0: {
      const key = `docs/r${round}/d${i % 24}`;
      await metadata.put(key, { round, i, text, check: sha256(text) });
      process.stdout.write(`ack doc ${key}\n`);
      break;
    }
    case 1: {
      const size = 1 + ((i * 104729 + round * 31) % (128 * 1024));
      const bytes = new Uint8Array(size);
      for (let k = 0; k < size; k += 4096) bytes[k] = (i + k + round) & 0xff;
      const meta = await artifacts.put(bytes, {
        annotations: { round: String(round), i: String(i) },
      });
      process.stdout.write(`ack blob ${meta.digest}\n`);
      break;
    }
    case 2: {
      const batch = [0, 1, 2]
        .slice(0, 1 + (i % 3))
        .map((k) => ({ round, i, k, check: sha256(`${round}/${i}/${k}`) }));
      const { offset } = await metadata.append('chaos/log', batch);
      process.stdout.write(`ack log ${offset + batch.length}\n`);
      break;
    }
    default: {
      for (;;) {
        const current = await metadata.get('chaos/counter');
        const value = typeof current?.value === 'number' ? current.value : 0;
        try {
          await metadata.put('chaos/counter', value + 1, { ifRevision: current?.revision ?? null });
          process.stdout.write(`ack counter ${value + 1}\n`);
          break;
        } catch (error) {
          if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
        }
      }
    }
  }
}

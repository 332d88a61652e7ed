import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { isKeelError } from '../../src/core/errors.js';
import { collect } from '../../src/testing/assert.js';
import { tempRoot } from '../fs/helpers.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isKeelError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('fs stores facing damaged files', () => {
  it('detects a blob modified on disk in get and in stream, whatever byte changed', async () => {
    const { artifacts } = fsBackend({ root: tempRoot() });
    const bytes = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 253);
    const { digest } = await artifacts.put(bytes);
    const path = artifacts.pathOf(digest);
    for (const position of [0, 1 << 20, bytes.length - 1]) {
      const damaged = Buffer.from(bytes);
      damaged[position] = damaged[position]! ^ 1;
      writeFileSync(path, damaged);
      expect(await codeOf(artifacts.get(digest))).toBe('KEEL_INTEGRITY');
      expect(await codeOf(collect(artifacts.stream(digest)))).toBe('KEEL_INTEGRITY');
    }
    truncateSync(path, 100);
    expect(await codeOf(artifacts.get(digest))).toBe('KEEL_INTEGRITY');
    expect(await codeOf(collect(artifacts.stream(digest)))).toBe('KEEL_INTEGRITY');
  });

  it('handles a truncated sidecar: IntegrityError on stat, list skips it, verified bytes still served, put repairs', async () => {
    const { artifacts } = fsBackend({ root: tempRoot() });
    const { digest } = await artifacts.put('model weights', { mediaType: 'application/x-model' });
    const sidecar = `${artifacts.pathOf(digest)}.json`;
    const full = readFileSync(sidecar);
    for (const cut of [0, 1, Math.floor(full.length / 2), full.length - 1]) {
      writeFileSync(sidecar, full.subarray(0, cut));
      expect(await codeOf(artifacts.stat(digest))).toBe('KEEL_INTEGRITY');
      expect(await collect(artifacts.list())).toEqual([]);
      expect(new TextDecoder().decode(await artifacts.get(digest))).toBe('model weights');
    }
    const repaired = await artifacts.put('model weights', { mediaType: 'application/x-model' });
    expect(await artifacts.stat(digest)).toEqual(repaired);
  });

  it('never shows a half-written document: a crashed writer leaves only a temp file', async () => {
    const root = tempRoot();
    const { metadata } = fsBackend({ root });
    const { revision } = await metadata.put('runs/1', { status: 'running' });
    // What a writer killed before its rename leaves behind: a partial temp file.
    writeFileSync(
      join(root, 'metadata', 'tmp', 'crashed.tmp'),
      '{"key":"runs/1","revision":"x","value":{"sta',
    );
    expect(await metadata.get('runs/1')).toEqual({ value: { status: 'running' }, revision });
    expect((await collect(metadata.list('runs/'))).map((d) => d.key)).toEqual(['runs/1']);
    // A document file damaged behind keel's back is reported, never half-returned.
    writeFileSync(join(root, 'metadata', 'docs', 'runs', '1.json'), '{"key":"runs/1","revision":"');
    expect(await codeOf(metadata.get('runs/1'))).toBe('KEEL_INTEGRITY');
  });

  it('ignores a torn log tail cut at any byte, and the next append truncates it', async () => {
    const root = tempRoot();
    const writer = createFsMetadataStore({ root });
    await writer.append('audit', [{ n: 0 }, { n: 1 }]);
    await writer.append('audit', [{ n: 2, text: 'ünïcødé 模型' }, { n: 3 }, { n: 4 }]);
    const file = join(root, 'logs', 'audit.log');
    const whole = readFileSync(file);
    const firstLine = whole.indexOf(0x0a) + 1;
    // A torn write leaves a prefix of the last record: try every one of them.
    for (let cut = firstLine; cut < whole.length; cut++) {
      writeFileSync(file, whole.subarray(0, cut));
      const store = createFsMetadataStore({ root });
      const records = await collect(store.read('audit'));
      expect(
        records.map((r) => r.entry),
        `cut at ${cut}`,
      ).toEqual([{ n: 0 }, { n: 1 }]);
      expect(await store.append('audit', [{ n: 'after' }]), `cut at ${cut}`).toEqual({ offset: 2 });
      expect(statSync(file).size).toBeLessThan(whole.length + 40);
      const after = await collect(store.read('audit'));
      expect(after.map((r) => r.offset)).toEqual([0, 1, 2]);
    }
    expect(readdirSync(join(root, 'logs'))).toEqual(['audit.log']);
  });
});

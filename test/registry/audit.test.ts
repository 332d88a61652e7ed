import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { isKeelError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/json.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { createAuditLog, GENESIS_HASH, hashAuditEntry } from '../../src/registry/audit.js';
import { AUDIT_HEAD, AUDIT_LOG } from '../../src/registry/records.js';
import { createRegistry } from '../../src/registry/registry.js';
import type { AuditEntry } from '../../src/registry/types.js';
import { forgedAfter, modes, tamperableStore } from './stores.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

async function filledRegistry(metadata: MetadataStore, auditKey?: string) {
  const artifacts = createMemoryArtifactStore();
  const registry = createRegistry({
    metadata,
    artifacts,
    actor: { id: 'ana' },
    ...(auditKey === undefined ? {} : { auditKey }),
  });
  const { digest } = await artifacts.put('weights');
  for (let i = 0; i < 4; i++) await registry.registerVersion('m', { artifact: digest });
  await registry.setAlias('m', 'prod', 1);
  await registry.setAlias('m', 'prod', 2);
  return registry; // 1 model:create + 4 version:register + 2 alias:set = 7 entries
}

describe.each(modes)(
  'audit tamper evidence (memory, %s, log rewritten through a test double)',
  (mode) => {
    it('an intact log verifies', async () => {
      const { store } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      expect(await registry.verifyAudit()).toMatchObject({ ok: true, entries: 7 });
    });

    it('an edited entry fails at its offset', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      (log[3] as { actor: { id: string } }).actor.id = 'mallory';
      expect(await registry.verifyAudit()).toMatchObject({
        ok: false,
        firstBadOffset: 3,
        entries: 3,
      });
    });

    it('an edited entry whose hash was recomputed breaks the link to the next one', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      const entry = log[3] as unknown as AuditEntry;
      entry.details = { outcome: 'ok', forged: true };
      entry.hash = hashAuditEntry(entry);
      expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 4 });
    });

    it('a removed entry fails where it was', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      log.splice(2, 1);
      expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 2 });
    });

    it('reordered entries fail at the first moved one', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      [log[4], log[5]] = [log[5]!, log[4]!];
      expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 4 });
    });

    it('entries removed from the end are caught by the head document', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      log.length = 5;
      expect(await registry.verifyAudit()).toMatchObject({
        ok: false,
        firstBadOffset: 5,
        entries: 5,
      });
    });

    it('a replaced last entry is caught by the head document', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      const last = log[6] as unknown as AuditEntry;
      last.action = 'alias:delete';
      last.hash = hashAuditEntry(last);
      expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 6 });
    });

    it('a correctly chained entry appended after the head fails, and no change builds on it', async () => {
      const { store, log } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      log.push(forgedAfter(log[log.length - 1]!, { outcome: 'ok', previousVersion: 2 }));
      const verified = await registry.verifyAudit();
      expect(verified).toMatchObject({ ok: false, firstBadOffset: 7, entries: 8 });
      expect(verified.reason).toMatch(/after the last one its head document records/);
      const refused = await registry.setAlias('m', 'prod', 3).catch((e: unknown) => e);
      expect(isKeelError(refused, 'KEEL_INTEGRITY')).toBe(true);
      expect((refused as Error).message).toMatch(/nothing was changed/);
      expect((await registry.resolve('m', 'prod')).version).toBe(2);
      expect(log).toHaveLength(8);
    });

    it('a missing head document fails verification, and no change builds on the log', async () => {
      const { store } = tamperableStore(mode);
      const registry = await filledRegistry(store);
      await store.delete(AUDIT_HEAD);
      expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 0 });
      const refused = await registry.setAlias('m', 'prod', 3).catch((e: unknown) => e);
      expect(isKeelError(refused, 'KEEL_INTEGRITY')).toBe(true);
      expect((await registry.resolve('m', 'prod')).version).toBe(2);
    });
  },
);

describe.each(modes)('audit key (memory, %s)', (mode) => {
  const key = 'a secret kept outside the store';

  it('entries and the head carry MACs, and the log verifies with the key', async () => {
    const { store, log } = tamperableStore(mode);
    const registry = await filledRegistry(store, key);
    expect(await registry.verifyAudit()).toMatchObject({
      ok: true,
      entries: 7,
      authenticatedFrom: 0,
    });
    for (const entry of log)
      expect((entry as { mac?: string }).mac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(((await store.get(AUDIT_HEAD))!.value as { mac?: string }).mac).toMatch(/^hmac-sha256:/);
  });

  it('a whole log and head rewritten without the key verify without it but fail with it', async () => {
    const { store, log } = tamperableStore(mode);
    const registry = await filledRegistry(store, key);
    // The attacker edits entry 3, re-hashes everything after it, and rewrites the head.
    let previous = (log[2] as unknown as AuditEntry).hash;
    for (let i = 3; i < log.length; i++) {
      const entry = log[i] as unknown as AuditEntry;
      if (i === 3) entry.actor = { id: 'mallory' };
      entry.prevHash = previous;
      entry.hash = hashAuditEntry(entry);
      previous = entry.hash;
    }
    const head = await store.get(AUDIT_HEAD);
    await store.put(
      AUDIT_HEAD,
      { ...(head!.value as object), hash: previous },
      { ifRevision: head!.revision },
    );
    const unkeyed = createRegistry({ metadata: store, artifacts: createMemoryArtifactStore() });
    expect((await unkeyed.verifyAudit()).ok).toBe(true);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 3 });
  });

  it('an appended entry and a truncated log with a rewritten head fail with the key', async () => {
    const { store, log } = tamperableStore(mode);
    const registry = await filledRegistry(store, key);
    const head = await store.get(AUDIT_HEAD);
    log.push(forgedAfter(log[log.length - 1]!, { outcome: 'ok' }));
    const last = log[7] as unknown as AuditEntry;
    await store.put(AUDIT_HEAD, { ...(head!.value as object), next: 8, hash: last.hash });
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 7 });
    log.length = 5;
    await store.put(AUDIT_HEAD, {
      ...(head!.value as object),
      next: 5,
      hash: (log[4] as unknown as AuditEntry).hash,
    });
    expect((await registry.verifyAudit()).ok).toBe(false);
  });

  it('the wrong key, or no key on a keyed log, cannot write', async () => {
    const { store } = tamperableStore(mode);
    const registry = await filledRegistry(store, key);
    const artifacts = createMemoryArtifactStore();
    const wrong = createRegistry({ metadata: store, artifacts, auditKey: 'another secret of 16+' });
    expect((await wrong.verifyAudit()).ok).toBe(false);
    const byWrong = await wrong.setAlias('m', 'prod', 3).catch((e: unknown) => e);
    expect(isKeelError(byWrong, 'KEEL_INTEGRITY')).toBe(true);
    const unkeyed = createRegistry({ metadata: store, artifacts });
    const byUnkeyed = await unkeyed.setAlias('m', 'prod', 3).catch((e: unknown) => e);
    expect(isKeelError(byUnkeyed, 'KEEL_VALIDATION')).toBe(true);
    expect((byUnkeyed as Error).message).toMatch(/pass the same auditKey/);
    expect((await registry.resolve('m', 'prod')).version).toBe(2);
    expect((await registry.verifyAudit()).ok).toBe(true);
  });

  it('a key added to an existing log authenticates from then on', async () => {
    const { store } = tamperableStore(mode);
    await filledRegistry(store);
    const keyed = createRegistry({
      metadata: store,
      artifacts: createMemoryArtifactStore(),
      auditKey: key,
    });
    expect((await keyed.verifyAudit()).ok).toBe(false);
    await keyed.setAlias('m', 'prod', 3);
    expect(await keyed.verifyAudit()).toMatchObject({ ok: true, entries: 8, authenticatedFrom: 7 });
  });

  it('refuses a key shorter than 16 bytes', () => {
    const metadata = createMemoryMetadataStore();
    const artifacts = createMemoryArtifactStore();
    expect(() => createRegistry({ metadata, artifacts, auditKey: 'short' })).toThrow(
      expect.objectContaining({ code: 'KEEL_VALIDATION' }),
    );
  });
});

describe('audit tamper evidence (fs, the log file edited on disk)', () => {
  function findLog(dir: string): string {
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.log')) continue;
      const path = join(entry.parentPath, entry.name);
      if (readFileSync(path, 'utf8').includes('"version:register"')) return path;
    }
    throw new Error('audit log file not found');
  }

  async function setup() {
    const root = mkdtempSync(join(tmpdir(), 'keel-audit-'));
    roots.push(root);
    const backend = fsBackend({ root });
    const registry = createRegistry({ ...backend, actor: { id: 'ana' } });
    const { digest } = await backend.artifacts.put('weights');
    for (let i = 0; i < 4; i++) await registry.registerVersion('m', { artifact: digest });
    expect((await registry.verifyAudit()).ok).toBe(true);
    // A second store instance reads the file fresh, as another process would.
    return { path: findLog(root), reopen: () => createRegistry(fsBackend({ root })) };
  }

  /** The index of the log line whose first entry has `offset` (one line per append). */
  function lineOf(lines: string[], offset: number): number {
    const index = lines.findIndex((line) => line.startsWith(`${offset} `));
    if (index < 0) throw new Error(`no line starts at offset ${offset}`);
    return index;
  }

  it('an entry edited with a recomputed line checksum fails verification at its offset', async () => {
    const { path, reopen } = await setup();
    const lines = readFileSync(path, 'utf8').split('\n');
    const index = lineOf(lines, 2);
    const line = lines[index]!;
    const match = /^(\d+) (\d+) [0-9a-f]{8} (.*)$/s.exec(line)!;
    const json = match[3]!.replace('"ana"', '"eve"');
    const head = `${match[1]} ${match[2]} `;
    lines[index] = `${head}${crc32(json, crc32(head)).toString(16).padStart(8, '0')} ${json}`;
    writeFileSync(path, lines.join('\n'));
    expect(await reopen().verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 2 });
  });

  it('an entry edited without fixing the checksum fails verification at its offset', async () => {
    const { path, reopen } = await setup();
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    const index = lineOf(lines, 2);
    lines[index] = lines[index]!.replace('"ana"', '"eve"');
    writeFileSync(path, lines.join('\n'));
    expect(await reopen().verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 2 });
  });
});

describe('audit appends under contention and after crashes', () => {
  it('two logs over one store (two processes) append 50 each and the chain stays linear', async () => {
    const metadata = createMemoryMetadataStore();
    const a = createAuditLog({ metadata });
    const b = createAuditLog({ metadata });
    const record = (id: string) => ({
      actor: { id },
      action: 'test',
      resource: {},
      details: { outcome: 'ok' },
    });
    await Promise.all([
      ...Array.from({ length: 50 }, () => a.append(record('a'))),
      ...Array.from({ length: 50 }, () => b.append(record('b'))),
    ]);
    expect(await a.verify()).toMatchObject({ ok: true, entries: 100 });
  });

  it('an older keel that appended and died holding the lease is adopted once the lease expires', async () => {
    const metadata = createMemoryMetadataStore();
    const log = createAuditLog({ metadata, leaseMs: 50 });
    const first = await log.append({ actor: { id: 'x' }, action: 'a', resource: {}, details: {} });
    // Simulate a process that took the lease, appended entry 1, and was killed before releasing.
    const orphan: Omit<AuditEntry, 'hash'> = {
      offset: 1,
      timestamp: new Date().toISOString(),
      actor: { id: 'dead' },
      action: 'b',
      resource: {},
      details: {},
      prevHash: first.hash,
    };
    await metadata.append(AUDIT_LOG, [
      { ...orphan, hash: hashAuditEntry(orphan) } as unknown as JsonValue,
    ]);
    const head = await metadata.get(AUDIT_HEAD);
    await metadata.put(
      AUDIT_HEAD,
      { next: 1, hash: first.hash, lease: { token: 'dead', expires: Date.now() + 30 } },
      { ifRevision: head!.revision },
    );
    const third = await log.append({ actor: { id: 'y' }, action: 'c', resource: {}, details: {} });
    expect(third.offset).toBe(2);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('the first entry chains to the genesis hash and hashes its canonical JSON', async () => {
    const log = createAuditLog({ metadata: createMemoryMetadataStore() });
    const entry = await log.append({
      actor: { id: 'x' },
      action: 'a',
      resource: { model: 'm' },
      details: { n: 1 },
    });
    expect(entry.prevHash).toBe(GENESIS_HASH);
    const { hash, ...rest } = entry;
    expect(hash).toBe(hashAuditEntry(rest));
  });
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import type { JsonValue } from '../../src/core/json.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { createAuditLog, GENESIS_HASH, hashAuditEntry } from '../../src/registry/audit.js';
import { AUDIT_HEAD, AUDIT_LOG } from '../../src/registry/records.js';
import { createRegistry } from '../../src/registry/registry.js';
import type { AuditEntry } from '../../src/registry/types.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A memory store whose audit log is a plain array the test can edit, as an attacker with disk access would. */
function tamperableStore(): { store: MetadataStore; log: JsonValue[] } {
  const inner = createMemoryMetadataStore();
  const log: JsonValue[] = [];
  const store: MetadataStore = {
    ...inner,
    get: (key) => inner.get(key),
    put: (key, value, opts) => inner.put(key, value, opts),
    delete: (key, opts) => inner.delete(key, opts),
    list: (prefix, opts) => inner.list(prefix, opts),
    async append(name, entries) {
      if (name !== AUDIT_LOG) return inner.append(name, entries);
      const offset = log.length;
      log.push(...structuredClone(entries));
      return { offset };
    },
    async *read(name, opts) {
      if (name !== AUDIT_LOG) {
        yield* inner.read(name, opts);
        return;
      }
      for (let offset = opts?.from ?? 0; offset < log.length; offset++) {
        yield { offset, entry: structuredClone(log[offset]!) };
      }
    },
  };
  return { store, log };
}

async function filledRegistry(metadata: MetadataStore) {
  const artifacts = createMemoryArtifactStore();
  const registry = createRegistry({ metadata, artifacts, actor: { id: 'ana' } });
  const { digest } = await artifacts.put('weights');
  for (let i = 0; i < 4; i++) await registry.registerVersion('m', { artifact: digest });
  await registry.setAlias('m', 'prod', 1);
  await registry.setAlias('m', 'prod', 2);
  return registry; // 1 model:create + 4 version:register + 2 alias:set = 7 entries
}

describe('audit tamper evidence (memory, log rewritten through a test double)', () => {
  it('an intact log verifies', async () => {
    const { store } = tamperableStore();
    const registry = await filledRegistry(store);
    expect(await registry.verifyAudit()).toMatchObject({ ok: true, entries: 7 });
  });

  it('an edited entry fails at its offset', async () => {
    const { store, log } = tamperableStore();
    const registry = await filledRegistry(store);
    (log[3] as { actor: { id: string } }).actor.id = 'mallory';
    expect(await registry.verifyAudit()).toMatchObject({
      ok: false,
      firstBadOffset: 3,
      entries: 3,
    });
  });

  it('an edited entry whose hash was recomputed breaks the link to the next one', async () => {
    const { store, log } = tamperableStore();
    const registry = await filledRegistry(store);
    const entry = log[3] as unknown as AuditEntry;
    entry.details = { outcome: 'ok', forged: true };
    entry.hash = hashAuditEntry(entry);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 4 });
  });

  it('a removed entry fails where it was', async () => {
    const { store, log } = tamperableStore();
    const registry = await filledRegistry(store);
    log.splice(2, 1);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 2 });
  });

  it('reordered entries fail at the first moved one', async () => {
    const { store, log } = tamperableStore();
    const registry = await filledRegistry(store);
    [log[4], log[5]] = [log[5]!, log[4]!];
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 4 });
  });

  it('entries removed from the end are caught by the head document', async () => {
    const { store, log } = tamperableStore();
    const registry = await filledRegistry(store);
    log.length = 5;
    expect(await registry.verifyAudit()).toMatchObject({
      ok: false,
      firstBadOffset: 5,
      entries: 5,
    });
  });

  it('a replaced last entry is caught by the head document', async () => {
    const { store, log } = tamperableStore();
    const registry = await filledRegistry(store);
    const last = log[6] as unknown as AuditEntry;
    last.action = 'alias:delete';
    last.hash = hashAuditEntry(last);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 6 });
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

  it('an entry edited with a recomputed line checksum fails verification at its offset', async () => {
    const { path, reopen } = await setup();
    const lines = readFileSync(path, 'utf8').split('\n');
    const line = lines[2]!;
    const match = /^(\d+) (\d+) [0-9a-f]{8} (.*)$/s.exec(line)!;
    const json = match[3]!.replace('"ana"', '"eve"');
    const head = `${match[1]} ${match[2]} `;
    lines[2] = `${head}${crc32(json, crc32(head)).toString(16).padStart(8, '0')} ${json}`;
    writeFileSync(path, lines.join('\n'));
    expect(await reopen().verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 2 });
  });

  it('an entry edited without fixing the checksum fails verification at its offset', async () => {
    const { path, reopen } = await setup();
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    lines[1] = lines[1]!.replace('"ana"', '"eve"');
    writeFileSync(path, lines.join('\n'));
    expect(await reopen().verifyAudit()).toMatchObject({ ok: false, firstBadOffset: 1 });
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

  it('a holder that appended and died is adopted once its lease expires', async () => {
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

  it('a missing head document is rebuilt from the log', async () => {
    const metadata = createMemoryMetadataStore();
    const log = createAuditLog({ metadata });
    await log.append({ actor: { id: 'x' }, action: 'a', resource: {}, details: {} });
    await metadata.delete(AUDIT_HEAD);
    const second = await log.append({ actor: { id: 'x' }, action: 'b', resource: {}, details: {} });
    expect(second.offset).toBe(1);
    expect(await log.verify()).toMatchObject({ ok: true, entries: 2 });
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

/**
 * Issue 12: `keel.doctor()` verifies the registry's audit chain, reports a broken one with what
 * to do, and rebuilds a missing or stale head only when the log proves it (with an auditKey:
 * only when every MAC verifies, and only with the key given).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import type { JsonValue } from '../../src/core/json.js';
import { createKeel, type Keel } from '../../src/keel.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { AUDIT_HEAD } from '../../src/registry/records.js';
import { forgedAfter, type Mode, modes, tamperableStore } from '../registry/stores.js';

const KEY = 'a secret of at least sixteen bytes';

/** A keel whose audit log the test can edit, with 7 entries (a model, 4 versions, 2 moves). */
async function filled(mode: Mode, auditKey?: string) {
  const { store, log } = tamperableStore(mode);
  const artifacts = createMemoryArtifactStore();
  const open = (key: string | undefined): Keel =>
    createKeel({
      backend: { metadata: store, artifacts },
      actor: { id: 'ana' },
      ...(key === undefined ? {} : { auditKey: key }),
    });
  const keel = open(auditKey);
  const { digest } = await keel.artifacts.put('weights');
  for (let i = 0; i < 4; i++) await keel.registry.registerVersion('m', { artifact: digest });
  await keel.registry.setAlias('m', 'prod', 1);
  await keel.registry.setAlias('m', 'prod', 2);
  return { keel, store, log, open };
}

async function headOf(store: MetadataStore): Promise<JsonValue | undefined> {
  return (await store.get(AUDIT_HEAD))?.value;
}

describe.each(modes)('keel.doctor() and the audit chain (%s)', (mode) => {
  it('a sound chain is checked and counted', async () => {
    const { keel } = await filled(mode);
    const report = await keel.doctor();
    expect(report).toMatchObject({ ok: true, corrupt: [], repaired: [] });
    expect(report.checked.auditEntries).toBe(7);
  });

  it('an edited entry is reported at its offset with what to do, and nothing is written', async () => {
    const { keel, store, log } = await filled(mode);
    (log[3] as { actor: { id: string } }).actor.id = 'eve';
    const head = await headOf(store);
    const events: string[] = [];
    keel.events.on('store:corrupt', (r) => events.push(`${r.key}@${r.offset}`));
    const report = await keel.doctor();
    expect(report.ok).toBe(false);
    expect(report.corrupt).toEqual([
      {
        kind: 'audit',
        key: 'registry/audit',
        offset: 3,
        reason: expect.stringContaining('offset 3'),
        remedy: expect.stringMatching(/restore the audit log from a backup/),
      },
    ]);
    expect(report.repaired).toEqual([]);
    expect(events).toEqual(['registry/audit@3']);
    expect(await headOf(store)).toEqual(head);
    expect(report.reportKey).toMatch(/^quarantine\/\d+\/report$/);
  });

  it('a deleted head is rebuilt from an intact log (dry run first), and the registry writes again', async () => {
    const { keel, store } = await filled(mode);
    const before = await keel.registry.verifyAudit();
    await store.delete(AUDIT_HEAD);
    await expect(keel.registry.setAlias('m', 'prod', 3)).rejects.toMatchObject({
      code: 'KEEL_INTEGRITY',
    });

    const dry = await keel.doctor({ dryRun: true });
    expect(dry.ok).toBe(false);
    expect(dry.corrupt).toEqual([
      expect.objectContaining({
        kind: 'audit',
        offset: 0,
        remedy: expect.stringMatching(/^keel\.doctor\(\) rebuilds the head document/),
      }),
    ]);
    expect(await headOf(store)).toBeUndefined();

    const report = await keel.doctor();
    expect(report.ok).toBe(true);
    expect(report.repaired).toEqual([
      { action: 'rebuilt', key: 'registry/audit', to: 'registry/audit-head' },
    ]);
    expect(report.corrupt[0]!.remedy).toMatch(/without an auditKey.*compare the new headHash/);
    expect(await keel.registry.verifyAudit()).toEqual(before);
    await keel.registry.setAlias('m', 'prod', 3);
    expect(await keel.registry.verifyAudit()).toMatchObject({ ok: true, entries: 8 });
  });

  it('a deleted head of a keyed log is rebuilt and signed only with the key', async () => {
    const { store, open } = await filled(mode, KEY);
    await store.delete(AUDIT_HEAD);
    const unkeyed = await open(undefined).doctor();
    expect(unkeyed.ok).toBe(false);
    expect(unkeyed.repaired).toEqual([]);
    expect(unkeyed.corrupt[0]!.remedy).toMatch(/protected by an auditKey.*pass the same auditKey/);
    expect(await headOf(store)).toBeUndefined();

    const keyed = open(KEY);
    const report = await keyed.doctor();
    expect(report.ok).toBe(true);
    expect(report.repaired).toHaveLength(1);
    expect(await keyed.registry.verifyAudit()).toMatchObject({
      ok: true,
      entries: 7,
      authenticatedFrom: 0,
    });
    // a different key cannot have signed it
    expect(await open('another secret of sixteen bytes').registry.verifyAudit()).toMatchObject({
      ok: false,
    });
  });

  it('a deleted head with a forged entry after it is not rebuilt under the key', async () => {
    const { store, log, open } = await filled(mode, KEY);
    await store.delete(AUDIT_HEAD);
    log.push(forgedAfter(log[log.length - 1]!));
    const report = await open(KEY).doctor();
    expect(report.ok).toBe(false);
    expect(report.repaired).toEqual([]);
    expect(report.corrupt[0]!.remedy).toMatch(/offset 7 has no valid MAC/);
    expect(await headOf(store)).toBeUndefined();
  });

  it('a deleted head over a log whose MACs were stripped is not signed', async () => {
    const { store, log, open } = await filled(mode, KEY);
    await store.delete(AUDIT_HEAD);
    for (const entry of log) delete (entry as { mac?: string }).mac;
    const report = await open(KEY).doctor();
    expect(report.repaired).toEqual([]);
    expect(report.corrupt[0]!.remedy).toMatch(/no entry carries a MAC/);
  });

  it('a stale head: without a key reported (entries appended outside look the same), with it rebuilt', async () => {
    for (const key of [undefined, KEY]) {
      const { keel, store, log, open } = await filled(mode, key);
      const old = await store.get(AUDIT_HEAD);
      await keel.registry.setAlias('m', 'prod', 3);
      await keel.registry.setAlias('m', 'prod', 4);
      // the head restored from an older copy
      await store.put(AUDIT_HEAD, old!.value);
      const report = await open(key).doctor();
      if (key === undefined) {
        expect(report.ok).toBe(false);
        expect(report.repaired).toEqual([]);
        expect(report.corrupt[0]).toMatchObject({ kind: 'audit', offset: 7 });
        expect(report.corrupt[0]!.remedy).toMatch(
          /registry\.audit\(\{ from: 7 \}\).*delete registry\/audit-head and run keel\.doctor\(\) again/,
        );
        // the operator checked the entries: deleting the head lets the doctor rebuild it
        await store.delete(AUDIT_HEAD);
        expect((await open(key).doctor()).ok).toBe(true);
      } else {
        expect(report.ok).toBe(true);
        expect(report.corrupt[0]!.remedy).toMatch(/stale: 2 later entries carry valid MACs/);
      }
      expect(await open(key).registry.verifyAudit()).toMatchObject({ ok: true, entries: 9 });
      expect(log).toHaveLength(9);
    }
  });

  it('an entry appended outside the registry is never adopted without the key', async () => {
    const { store, log, open } = await filled(mode);
    log.push(forgedAfter(log[log.length - 1]!));
    const head = await headOf(store);
    const report = await open(undefined).doctor();
    expect(report.ok).toBe(false);
    expect(report.corrupt[0]).toMatchObject({ kind: 'audit', offset: 7 });
    expect(await headOf(store)).toEqual(head);
  });

  it('entries removed from the end are reported, never rebuilt', async () => {
    const { store, log, open } = await filled(mode);
    log.length = 5;
    const head = await headOf(store);
    const report = await open(undefined).doctor();
    expect(report.ok).toBe(false);
    expect(report.corrupt[0]).toMatchObject({ kind: 'audit', offset: 5 });
    expect(report.corrupt[0]!.remedy).toMatch(/removed from the end/);
    expect(await headOf(store)).toEqual(head);
  });

  it('a head document that is not a head is quarantined and rebuilt from the log', async () => {
    const { store, open } = await filled(mode);
    await store.put(AUDIT_HEAD, { next: 'seven' });
    const keel = open(undefined);
    const dry = await keel.doctor({ dryRun: true });
    expect(dry.corrupt.map((f) => f.kind).sort()).toEqual(['audit', 'document']);
    const report = await keel.doctor();
    expect(report.ok).toBe(true);
    expect(report.repaired.map((r) => r.action)).toEqual(['quarantined', 'rebuilt']);
    const moved = await store.get(report.repaired[0]!.to);
    expect(moved?.value).toMatchObject({ key: AUDIT_HEAD, value: { next: 'seven' } });
    expect(await keel.registry.verifyAudit()).toMatchObject({ ok: true, entries: 7 });
  });
});

describe('keel.doctor() and an unfinished leased write', () => {
  it('a head that records a write in progress is left to the next registry write', async () => {
    const { keel, store, log } = await filled('lease');
    const found = await store.get(AUDIT_HEAD);
    // a write that died holding the lease, and an entry that is not the one it recorded
    const leased = { ...(found!.value as object), lease: { token: 't', expires: 0 }, pending: [] };
    await store.put(AUDIT_HEAD, leased);
    log.push(forgedAfter(log[log.length - 1]!));
    const report = await keel.doctor();
    expect(report.ok).toBe(false);
    expect(report.repaired).toEqual([]);
    expect(report.corrupt[0]!.remedy).toMatch(/registry write in progress/);
    expect(await headOf(store)).toEqual(leased);
  });
});

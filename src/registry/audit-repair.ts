/**
 * @module
 * Rebuilding a missing or stale audit head from the log, for `keel.doctor()`. The head is
 * written again only when the log proves it: every link verifies to the last entry, and on a
 * keyed log every MAC from the first keyed entry to the last one verifies with the key given.
 * Anything else is reported with what to do, never repaired (see docs/governance.md, "What
 * `keel.doctor()` repairs in the audit log").
 */
import { canonicalJson } from '../core/canonical-json.js';
import { isKeelError } from '../core/errors.js';
import type { MetadataStore } from '../metadata/types.js';
import {
  type AuditTarget,
  type ChainWalk,
  readAuditHead,
  sealAuditHead,
  walkAuditLog,
} from './audit-chain.js';
import { type AuditKey, createAuditMac } from './audit-key.js';
import { AUDIT_HEAD, AUDIT_LOG, type AuditHeadDoc } from './records.js';

/** What {@link repairAuditHead} decided. */
export interface AuditHeadRepair {
  /**
   * `sound`: the head matches the log. `rebuilt`: the head was written again from the log (on
   * a dry run: it would be). `refused`: the log does not prove what the head should say.
   */
  outcome: 'sound' | 'rebuilt' | 'refused';
  /** What was found, and for `refused` what to do. */
  reason: string;
  /** The entries the head commits to (unless refused). */
  entries?: number;
  /** Entries the rebuilt head now vouches for that no head recorded before (their MACs checked when keyed). */
  adopted?: number;
}

/**
 * Rebuilds the audit head from the log when it is missing, or stale (a genuine head that
 * records fewer entries than the log holds, on a keyed log whose later entries all carry valid
 * MACs). With `dryRun`, decides without writing.
 *
 * @throws {StorageError} (or a custom store's own error) when the log or the head cannot be read
 *   or written for another reason than damage (a damaged or malformed head document is reported as
 *   `refused`).
 */
export async function repairAuditHead(
  target: AuditTarget,
  opts: { dryRun: boolean },
): Promise<AuditHeadRepair> {
  const { metadata, headKey, mac } = target;
  let head: { doc?: AuditHeadDoc; revision?: string };
  try {
    head = await readAuditHead(metadata, headKey);
  } catch (error) {
    // unreadable (integrity) or not a head (storage: malformed): the doctor quarantines it
    if (!isKeelError(error, 'KEEL_INTEGRITY') && !isKeelError(error, 'KEEL_STORAGE')) throw error;
    return refused(
      `the head document ${headKey} cannot be read (${error.message}); keel.doctor() moves it to quarantine/ and then rebuilds it from the log`,
    );
  }
  const { doc } = head;
  if (doc === undefined) return rebuildMissing(target, opts);

  if (doc.lease !== undefined || doc.pending !== undefined || doc.dirty === true) {
    // pending entries are finished by the next registry write; a rebuilt head would drop them
    return refused(
      `the head document ${headKey} records a registry write in progress (a lease or pending entries): make one registry write with the same auditKey (it finishes or drops them), then run keel.doctor() again`,
    );
  }
  if (mac === undefined && doc.keyedFrom !== undefined) {
    return refused(keyNeeded(doc.keyedFrom));
  }
  if (mac !== undefined) {
    const { mac: claimed, ...body } = doc;
    if (doc.keyedFrom === undefined || !(await mac.check(canonicalJson(body), claimed))) {
      return refused(
        `the head document ${headKey} is not signed with this auditKey (edited, its MAC removed, or another key): keel.doctor() does not sign a head it cannot vouch for. If the key was just introduced, the next registry write signs the head; otherwise restore the head and log from a backup`,
      );
    }
  }
  const walk = await walkAuditLog(metadata, target.log, {
    ...(mac === undefined || doc.keyedFrom === undefined ? {} : { mac, keyedFrom: doc.keyedFrom }),
    anchorAt: doc.next - 1,
  });
  if (walk.problem !== undefined) return brokenChain(walk);
  if (walk.count < doc.next) {
    return refused(
      `the log holds ${walk.count} entries but its head records ${doc.next}: entries were removed from the end, which cannot be rebuilt; restore the log from a backup`,
    );
  }
  if (doc.next > 0 && walk.anchor !== doc.hash) {
    return refused(
      `the entry at offset ${doc.next - 1} is not the one the head records: the log was rewritten; restore it from a backup`,
    );
  }
  const extra = walk.count - doc.next;
  if (extra === 0)
    return { outcome: 'sound', reason: 'the head matches the log', entries: walk.count };
  if (mac === undefined) {
    // Without a key, a stale head and entries appended behind the registry's back look alike.
    return refused(
      `the log has ${extra} entr${extra === 1 ? 'y' : 'ies'} after the last one its head records (offset ${doc.next - 1}), and without an auditKey keel cannot tell a stale head from entries appended outside the registry. Read them (registry.audit({ from: ${doc.next} })); if they are genuine, delete ${headKey} and run keel.doctor() again to rebuild it from the whole log`,
    );
  }
  return write(
    target,
    opts,
    head.revision ?? null,
    {
      next: walk.count,
      hash: walk.lastHash,
      keyedFrom: doc.keyedFrom!,
    },
    extra,
    `the head was stale: ${extra} later entr${extra === 1 ? 'y' : 'ies'} carry valid MACs`,
  );
}

async function rebuildMissing(
  target: AuditTarget,
  opts: { dryRun: boolean },
): Promise<AuditHeadRepair> {
  const { metadata, log, mac } = target;
  const plain = await walkAuditLog(metadata, log);
  if (plain.problem !== undefined) return brokenChain(plain);
  if (plain.count === 0) return { outcome: 'sound', reason: 'the log is empty', entries: 0 };
  const keyedFrom = plain.firstMac;
  if (mac === undefined) {
    if (keyedFrom !== undefined) return refused(keyNeeded(keyedFrom));
    return write(
      target,
      opts,
      null,
      { next: plain.count, hash: plain.lastHash },
      plain.count,
      'the head was missing; without an auditKey, entries appended or removed at the end before it was lost cannot be detected: compare the new headHash with one you published',
    );
  }
  if (keyedFrom === undefined) {
    return refused(
      `the head document is missing and no entry carries a MAC, so the auditKey cannot vouch for any of them: keel.doctor() does not sign them. If the log was never keyed, run keel.doctor() from a keel without auditKey (it rebuilds an unsigned head; the next write with the key starts the keyed range); otherwise the MACs were stripped: restore the log from a backup`,
    );
  }
  const keyed = await walkAuditLog(metadata, log, { mac, keyedFrom });
  if (keyed.problem !== undefined) return brokenChain(keyed);
  return write(
    target,
    opts,
    null,
    { next: keyed.count, hash: keyed.lastHash, keyedFrom },
    keyed.count,
    `the head was missing; entries from offset ${keyedFrom} on carry valid MACs${keyedFrom > 0 ? ' (those before it are only hash-chained)' : ''}`,
  );
}

async function write(
  target: AuditTarget,
  opts: { dryRun: boolean },
  ifRevision: string | null,
  doc: AuditHeadDoc,
  adopted: number,
  reason: string,
): Promise<AuditHeadRepair> {
  if (!opts.dryRun) {
    await target.metadata.put(target.headKey, await sealAuditHead(doc, target.mac), {
      ifRevision,
    });
  }
  return { outcome: 'rebuilt', reason, entries: doc.next, adopted };
}

function brokenChain(walk: ChainWalk): AuditHeadRepair {
  const { offset, reason } = walk.problem!;
  return refused(
    `${reason}. The chain breaks at offset ${offset}, so no head can be rebuilt from it: restore the audit log from a backup (entries before offset ${offset} verify)`,
  );
}

function keyNeeded(keyedFrom: number): string {
  return `the audit log is protected by an auditKey (from offset ${keyedFrom}): pass the same auditKey to createKeel so keel.doctor() can check the MACs and sign the head`;
}

function refused(reason: string): AuditHeadRepair {
  return { outcome: 'refused', reason };
}

/** The repair of the registry's audit head (default log and head) with `key`, for `keel.doctor()`. */
export function auditHeadRepairer(
  metadata: MetadataStore,
  key: AuditKey | undefined,
): (opts: { dryRun: boolean }) => Promise<AuditHeadRepair> {
  const target: AuditTarget = {
    metadata,
    log: AUDIT_LOG,
    headKey: AUDIT_HEAD,
    ...(key === undefined ? {} : { mac: createAuditMac(key) }),
  };
  return (opts) => repairAuditHead(target, opts);
}

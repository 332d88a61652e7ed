/**
 * @module
 * `verifyAudit`: recomputes the audit chain, checks every MAC in the keyed range, and compares
 * the chain's end with what the head document commits to (see docs/governance.md, "What
 * `verifyAudit()` detects").
 */
import { canonicalJson } from '../core/canonical-json.js';
import { type AuditTarget, readAuditHead, walkAuditLog } from './audit-chain.js';
import type { AuditVerification } from './types.js';

/**
 * Verifies the log against its head. The head and the log are two reads: it retries until no
 * commit landed between them (or gives the last answer after 20 tries).
 *
 * @throws {IntegrityError} when the head document is unreadable.
 * @throws {StorageError} (or a custom store's own error) when the head cannot be read.
 */
export async function verifyAuditLog(target: AuditTarget): Promise<AuditVerification> {
  for (let attempt = 0; ; attempt++) {
    const { result, stable } = await verifyOnce(target);
    if (stable || attempt >= 20) return result;
    await pause(attempt);
  }
}

async function verifyOnce(
  target: AuditTarget,
): Promise<{ result: AuditVerification; stable: boolean }> {
  const { metadata, log, headKey, mac } = target;
  const before = await readAuditHead(metadata, headKey);
  const head = before.doc;
  const keyedFrom = mac === undefined ? undefined : head?.keyedFrom;
  const walk = await walkAuditLog(metadata, log, {
    ...(mac === undefined ? {} : { mac }),
    ...(keyedFrom === undefined ? {} : { keyedFrom }),
    ...(head === undefined
      ? {}
      : { anchorAt: head.next - 1, tailFrom: head.next, tailMax: (head.pending?.length ?? 0) + 1 }),
  });
  const count = walk.count;
  const fail = (offset: number, reason: string): AuditVerification => ({
    ok: false,
    entries: count,
    firstBadOffset: offset,
    reason,
    headHash: walk.lastHash,
  });
  if (walk.problem !== undefined) {
    return { result: fail(walk.problem.offset, walk.problem.reason), stable: true };
  }
  const stable = (await readAuditHead(metadata, headKey)).revision === before.revision;
  const judged = (result: AuditVerification) => ({ result, stable });
  if (head === undefined) {
    if (count === 0) return judged({ ok: true, entries: 0, headHash: walk.lastHash });
    return judged(
      fail(
        0,
        `the head document ${headKey} is missing: entries appended or removed at the end cannot be detected; restore it from a backup, or let keel.doctor() rebuild it from the log`,
      ),
    );
  }
  if (mac !== undefined) {
    const { mac: claimed, ...body } = head;
    if (claimed === undefined || keyedFrom === undefined) {
      return judged(
        fail(
          Math.min(count, head.next),
          'the head document carries no MAC: it was written without the auditKey, or its MAC was removed',
        ),
      );
    }
    if (!(await mac.check(canonicalJson(body), claimed))) {
      return judged(
        fail(
          Math.min(count, head.next),
          'the head document does not match its MAC: it was edited, or the auditKey differs',
        ),
      );
    }
  }
  if (count < head.next) {
    return judged(
      fail(
        count,
        `the log ends at offset ${count - 1} but the head document records ${head.next} entries: entries were removed from the end`,
      ),
    );
  }
  // An older keel that crashed mid-append left a lease without pending entries (or a dirty
  // head): whatever it appended is adopted by the next write, as it always was.
  const legacy = head.dirty === true || (head.lease !== undefined && head.pending === undefined);
  if (!legacy) {
    const extra = count - head.next;
    const pending = head.pending ?? [];
    const pendingLanded =
      extra === pending.length && walk.tail.every((hash, i) => hash === pending[i]!.entry.hash);
    if (extra > 0 && !pendingLanded) {
      return judged(
        fail(
          head.next,
          `the log has ${extra} entr${extra === 1 ? 'y' : 'ies'} after the last one its head document records (offset ${head.next - 1}): appended outside the registry, or the head is stale (restored from an older copy)`,
        ),
      );
    }
    if (head.next > 0 && walk.anchor !== head.hash) {
      return judged(
        fail(
          head.next - 1,
          `the entry at offset ${head.next - 1} is not the one the head document recorded`,
        ),
      );
    }
  }
  return judged({
    ok: true,
    entries: count,
    headHash: walk.lastHash,
    ...(keyedFrom === undefined ? {} : { authenticatedFrom: keyedFrom }),
  });
}

function pause(attempt: number): Promise<void> {
  const ms = Math.min(50, 1 + attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

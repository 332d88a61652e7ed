/**
 * @module
 * Committing to the audit log on a store with atomic batches: the change, its entries and
 * the new head are one batch, all or nothing. A head a writer without batches left leased
 * or dirty is settled first.
 */

import { isKeelError } from '../core/errors.js';
import type { BatchOperation } from '../metadata/types.js';
import type { ChangePlan } from './audit.js';
import { type ChainState, GENESIS_HASH } from './audit-chain.js';
import {
  CONTENTION_MS,
  contended,
  foreignTail,
  missingTail,
  notCommitted,
} from './audit-errors.js';
import { type AuditWriter, asJson, pause } from './audit-writer.js';
import type { AuditEntry } from './types.js';

/**
 * Commits the changes `plan` decides with their entries and the head in one batch, retrying
 * (with `plan` run again) while other writers get in first.
 *
 * @param settleLease - takes and gives back a head a writer without batches left leased.
 * @throws {ConflictError} (as a rejection) when other writers kept getting in first for too long.
 * @throws {IntegrityError} (as a rejection) when the log holds entries its head does not record,
 *   or lost entries it does.
 */
export async function commitAtomic<T>(
  w: AuditWriter,
  settleLease: () => Promise<void>,
  plan: () => Promise<ChangePlan<T>>,
): Promise<{ result: T; entries: AuditEntry[] }> {
  const deadline = Date.now() + CONTENTION_MS;
  for (let attempt = 0; ; attempt++) {
    const { doc, revision } = await w.readHead();
    if (doc?.lease !== undefined || doc?.dirty === true) {
      // A writer without batches (an older keel, or this store before it had them) was
      // here: finish or drop what it left, then commit atomically.
      await settleLease();
      continue;
    }
    try {
      await w.checkBeforeWriting(doc);
    } catch (error) {
      if (isKeelError(error, 'KEEL_CONFLICT') && Date.now() < deadline) continue;
      throw error;
    }
    const state: ChainState = { next: doc?.next ?? 0, hash: doc?.hash ?? GENESIS_HASH };
    const planned = await plan();
    if (planned.changes.length === 0) return { result: planned.result, entries: [] };
    const entries = await w.chain(
      planned.changes.map((c) => c.record),
      state,
    );
    const last = entries[entries.length - 1]!;
    const head = await w.seal({
      next: state.next + entries.length,
      hash: last.hash,
      ...w.keyedFromFor(doc),
    });
    const operations: BatchOperation[] = [
      ...planned.changes.flatMap((change) =>
        change.writes.map(
          (write): BatchOperation => ({
            op: 'put',
            key: write.key,
            value: write.value,
            ifRevision: write.ifRevision,
          }),
        ),
      ),
      { op: 'append', log: w.log, entries: entries.map(asJson), expectedOffset: state.next },
      { op: 'put', key: w.headKey, value: head, ifRevision: revision ?? null },
    ];
    try {
      await w.metadata.batch!(operations);
      return { result: planned.result, entries };
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw notCommitted(error, planned.changes);
    }
    // Another writer got in first, or something appended to the log behind the head.
    const now = await w.readHead();
    if (now.revision === revision) {
      if (await w.hasEntriesFrom(state.next)) throw foreignTail(state.next, planned.changes);
      // Or something removed entries the head records: no retry can succeed.
      if (state.next > 0 && !(await w.hasEntriesFrom(state.next - 1))) {
        throw missingTail(state.next, planned.changes);
      }
    }
    if (Date.now() > deadline) throw contended(planned.changes);
    await pause(attempt);
  }
}

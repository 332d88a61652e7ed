/**
 * @module
 * Committing to the audit log on a store without atomic batches: the writer leases the head,
 * records the entries to write in it before the change, writes the change, appends the
 * entries and gives the head back. Whoever takes the head next finishes or drops what a dead
 * holder left, by looking at whether its change landed.
 */
import { digestOfJson, isDigest } from '../core/digest.js';
import { isKeelError, StorageError, TimeoutError } from '../core/errors.js';
import type { ChangePlan, ChangeWrite } from './audit.js';
import { type ChainState, GENESIS_HASH } from './audit-chain.js';
import {
  describe,
  foreignTail,
  leaseExpired,
  messageOf,
  missingTail,
  notCommitted,
} from './audit-errors.js';
import { type AuditWriter, asJson, pause } from './audit-writer.js';
import type { AuditHeadDoc, PendingEntry } from './records.js';
import type { AuditEntry } from './types.js';

/** The head as this writer holds it. */
interface Lease {
  token: string;
  expires: number;
  /** The head's revision while we hold it. */
  revision: string;
  /** Where the chain ends (after any recovery). */
  state: ChainState;
  keyed: { keyedFrom?: number };
}

/** Commits through a leased head; see the module comment. */
export class LeasedCommits {
  readonly #w: AuditWriter;
  readonly #leaseMs: number;

  /** Commits to `writer`'s log, holding its head at most `leaseMs` per change. */
  constructor(writer: AuditWriter, leaseMs: number) {
    this.#w = writer;
    this.#leaseMs = leaseMs;
  }

  /**
   * Takes the head and gives it back, finishing what a dead holder left.
   *
   * @throws {TimeoutError} (as a rejection) when another process holds the head for too long.
   */
  async settle(): Promise<void> {
    const lease = await this.#acquire();
    await this.#release(lease, lease.state);
  }

  /**
   * Commits the changes `plan` decides with their entries.
   *
   * @throws {StorageError} (as a rejection) when a change failed midway and could not be undone.
   * @throws {TimeoutError} (as a rejection) when another process holds the head for too long.
   */
  async commit<T>(
    plan: () => Promise<ChangePlan<T>>,
  ): Promise<{ result: T; entries: AuditEntry[] }> {
    const { metadata, log, headKey } = this.#w;
    for (let attempt = 0; ; attempt++) {
      const lease = await this.#acquire();
      let planned: ChangePlan<T>;
      try {
        planned = await plan();
      } catch (error) {
        await this.#release(lease, lease.state).catch(() => undefined);
        throw error;
      }
      const { changes } = planned;
      if (changes.length === 0) {
        await this.#release(lease, lease.state);
        return { result: planned.result, entries: [] };
      }
      const entries = await this.#w.chain(
        changes.map((c) => c.record),
        lease.state,
      );
      const pending: PendingEntry[] = changes.map((change, i) => {
        const first = change.writes[0];
        return {
          entry: entries[i]!,
          ...(first === undefined
            ? {}
            : { check: { key: first.key, digest: digestOfJson(first.value) } }),
        };
      });
      try {
        lease.revision = (
          await metadata.put(headKey, await this.#w.seal(leasedHead(lease, pending)), {
            ifRevision: lease.revision,
          })
        ).revision;
      } catch (error) {
        // Lost the lease before writing anything: start again.
        if (!isKeelError(error, 'KEEL_CONFLICT') || attempt >= 5) throw error;
        continue;
      }
      const applied: Array<{ write: ChangeWrite; revision: string }> = [];
      let failure: unknown;
      try {
        for (const change of changes) {
          for (const write of change.writes) {
            if (Date.now() >= lease.expires) throw leaseExpired();
            const { revision } = await metadata.put(write.key, write.value, {
              ifRevision: write.ifRevision,
            });
            applied.push({ write, revision });
          }
        }
      } catch (error) {
        failure = error;
      }
      let at: number | undefined;
      if (failure === undefined) {
        try {
          if (Date.now() >= lease.expires) throw leaseExpired();
          at = (await metadata.append(log, entries.map(asJson))).offset;
        } catch (error) {
          if (await this.#appendedAt(lease.state.next, entries[0]!)) at = lease.state.next;
          else failure = error;
        }
      }
      // Something appended while we held the head: leave the pending entries for an investigator.
      if (at !== undefined && at !== lease.state.next) throw foreignTail(lease.state.next, changes);
      if (failure !== undefined) {
        if (!(await this.#undo(applied))) {
          // The pending entries stay in the head: the next writer appends those whose change landed.
          throw new StorageError(
            `[keel] [registry] ${describe(changes)} failed midway and could not be undone (${messageOf(failure)}); the next registry write records the audit entries of whatever landed. Check the store, then read the state again before retrying`,
            { cause: failure },
          );
        }
        await this.#release(lease, lease.state).catch(() => undefined);
        if (isKeelError(failure, 'KEEL_CONFLICT') && attempt < 5) continue;
        throw notCommitted(failure, changes);
      }
      // Committed: the change and its entries are in the store. A head that cannot be moved on
      // is fixed by the next holder (it finds the pending entries appended), not by the caller.
      const last = entries[entries.length - 1]!;
      await this.#release(lease, {
        next: lease.state.next + entries.length,
        hash: last.hash,
      }).catch(() => undefined);
      return { result: planned.result, entries };
    }
  }

  async #acquire(): Promise<Lease> {
    const w = this.#w;
    const deadline = Date.now() + this.#leaseMs * 3 + 5_000;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `[keel] [registry] cannot write to the audit log: another process has held ${w.headKey} for too long; check for a hung process, or raise auditLeaseMs`,
        );
      }
      const { doc, revision } = await w.readHead();
      // Leases compare wall-clock time across processes; the injected clock may be a test clock.
      const now = Date.now();
      if (doc?.lease && doc.lease.expires > now) {
        await pause(attempt);
        continue;
      }
      await w.checkBeforeWriting(doc);
      const base: ChainState = { next: doc?.next ?? 0, hash: doc?.hash ?? GENESIS_HASH };
      const token = randomToken();
      const lease: Lease = {
        token,
        expires: now + this.#leaseMs,
        revision: '',
        state: base,
        keyed: w.keyedFromFor(doc),
      };
      try {
        lease.revision = (
          await w.metadata.put(w.headKey, await w.seal(leasedHead(lease, [])), {
            ifRevision: revision ?? null,
          })
        ).revision;
      } catch (error) {
        if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
        await pause(attempt);
        continue;
      }
      if (doc?.lease !== undefined || doc?.dirty === true) {
        await this.#recover(doc, lease);
      } else if (await w.hasEntriesFrom(base.next)) {
        await this.#release(lease, base).catch(() => undefined);
        throw foreignTail(base.next, []);
      } else if (base.next > 0 && !(await w.hasEntriesFrom(base.next - 1))) {
        await this.#release(lease, base).catch(() => undefined);
        throw missingTail(base.next, []);
      }
      return lease;
    }
  }

  /** Finishes what the previous holder left: its appended or still pending entries. */
  async #recover(previous: AuditHeadDoc, lease: Lease): Promise<void> {
    const w = this.#w;
    const tail = await w.readTail(lease.state.next);
    if (previous.pending === undefined) {
      // An older keel (or a failed append it flagged dirty): adopt whatever it appended.
      for (const entry of tail) {
        const hash = (entry as Partial<AuditEntry> | null)?.hash;
        lease.state = {
          next: lease.state.next + 1,
          hash: isDigest(hash) ? hash : digestOfJson(entry),
        };
      }
    } else if (tail.length > 0) {
      const pending = previous.pending;
      const same =
        tail.length === pending.length &&
        tail.every((entry, i) => (entry as Partial<AuditEntry>).hash === pending[i]!.entry.hash);
      if (!same) throw foreignTail(lease.state.next, []);
      lease.state = { next: lease.state.next + tail.length, hash: pending.at(-1)!.entry.hash };
    } else {
      // Nothing was appended: write the entries of the changes that landed, in order.
      const landed: AuditEntry[] = [];
      for (const item of previous.pending) {
        if (item.check !== undefined) {
          const found = await w.metadata.get(item.check.key);
          if (found === undefined || digestOfJson(found.value) !== item.check.digest) continue;
        }
        const last = landed.at(-1);
        landed.push(
          await w.makeEntry(
            item.entry,
            lease.state.next + landed.length,
            last?.hash ?? lease.state.hash,
            item.entry.timestamp,
          ),
        );
      }
      if (landed.length > 0) {
        const { offset } = await w.metadata.append(w.log, landed.map(asJson));
        if (offset !== lease.state.next) throw foreignTail(lease.state.next, []);
        lease.state = { next: offset + landed.length, hash: landed.at(-1)!.hash };
      }
    }
    // Record the recovered end at once: a crash from here on must not look like a foreign tail.
    lease.revision = (
      await w.metadata.put(w.headKey, await w.seal(leasedHead(lease, [])), {
        ifRevision: lease.revision,
      })
    ).revision;
  }

  async #release(lease: Lease, state: ChainState): Promise<void> {
    try {
      await this.#w.metadata.put(
        this.#w.headKey,
        await this.#w.seal({ ...state, ...lease.keyed }),
        {
          ifRevision: lease.revision,
        },
      );
    } catch (error) {
      // The lease expired and another process took over; it finishes what is pending.
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
  }

  /** Undoes applied writes, newest first; false when one of them could not be undone. */
  async #undo(applied: Array<{ write: ChangeWrite; revision: string }>): Promise<boolean> {
    const { metadata } = this.#w;
    for (const { write, revision } of [...applied].reverse()) {
      try {
        if (write.ifRevision === null) {
          await metadata.delete(write.key, { ifRevision: revision });
        } else {
          await metadata.put(write.key, write.previous ?? null, { ifRevision: revision });
        }
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Whether `entry` is in the log at `at` (an append that threw may still have landed). */
  async #appendedAt(at: number, entry: AuditEntry): Promise<boolean> {
    try {
      for await (const { entry: found } of this.#w.metadata.read(this.#w.log, { from: at })) {
        return (found as Partial<AuditEntry> | null)?.hash === entry.hash;
      }
    } catch {
      // An unreadable log did not take the entry.
    }
    return false;
  }
}

/** The head while `lease` holds it, recording the `pending` entries. */
function leasedHead(lease: Lease, pending: PendingEntry[]): AuditHeadDoc {
  return {
    ...lease.state,
    ...lease.keyed,
    lease: { token: lease.token, expires: lease.expires },
    pending,
  };
}

function randomToken(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

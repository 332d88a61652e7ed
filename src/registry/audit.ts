/**
 * @module
 * The registry's tamper-evident audit log: entries chained by sha256 (`prevHash` -> `hash`)
 * in one MetadataStore log, a head document that commits to the last entry, and `commit`,
 * which writes a registry change together with the entry that describes it. On a store with
 * `capabilities.atomicBatch` the change, the entry and the head are one batch (all or
 * nothing). Without it, the head is leased, the entries to write are recorded in the head
 * before the change, and whoever takes the head next finishes or drops them by looking at
 * whether the change landed (see docs/governance.md for what each mode guarantees).
 */
import { canonicalJson } from '../core/canonical-json.js';
import { type Clock, isoNow, systemClock } from '../core/clock.js';
import { type Digest, digestOfJson, isDigest } from '../core/digest.js';
import {
  ConflictError,
  IntegrityError,
  isKeelError,
  StorageError,
  TimeoutError,
  ValidationError,
} from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { Actor } from '../core/schemas.js';
import type { BatchOperation, MetadataStore } from '../metadata/types.js';
import {
  type AuditTarget,
  type ChainState,
  GENESIS_HASH,
  hashAuditEntry,
  readAuditHead,
  sealAuditHead,
} from './audit-chain.js';
import {
  CONTENTION_MS,
  contended,
  describe,
  foreignTail,
  leaseExpired,
  messageOf,
  missingTail,
  notCommitted,
} from './audit-errors.js';
import { type AuditKey, createAuditMac } from './audit-key.js';
import { verifyAuditLog } from './audit-verify.js';
import { AUDIT_HEAD, AUDIT_LOG, type AuditHeadDoc, type PendingEntry } from './records.js';
import type { AuditEntry, AuditResource, AuditVerification } from './types.js';

export { GENESIS_HASH, hashAuditEntry } from './audit-chain.js';

/** What a caller records; offset, time and hashes are filled in by the log. */
export interface AuditRecord {
  actor: Actor;
  action: string;
  resource: AuditResource;
  details: { [key: string]: JsonValue };
}

/** One document write of a registry change. */
export interface ChangeWrite {
  key: string;
  value: JsonValue;
  /** `null`: the document is created (it must not exist). A revision: compare-and-swap. */
  ifRevision: string | null;
  /** The value replaced (with a revision): put back if the change has to be undone. */
  previous?: JsonValue;
}

/**
 * One change and the audit record that describes it. Its first write is the one that
 * decides whether the change happened (a later write, such as a counter hint, may lag).
 * A change without writes (a denial, a refusal) is only its record.
 */
export interface Change {
  writes: ChangeWrite[];
  record: AuditRecord;
}

/** What a plan decided: the changes to commit (none: nothing to do) and what to return. */
export interface ChangePlan<T> {
  changes: Change[];
  result: T;
}

/** A hash-chained, append-only audit log over a MetadataStore. */
export interface AuditLog {
  /**
   * Commits the changes `plan` decides together with their audit entries. `plan` reads the
   * current state and may run again when another writer got in first; it must not write.
   * Throws what `plan` throws (nothing written), or, when the store refuses the writes, an
   * error saying that nothing was changed.
   */
  commit<T>(plan: () => Promise<ChangePlan<T>>): Promise<{ result: T; entries: AuditEntry[] }>;
  /** Appends one entry that describes no document change (a denial, a refusal, a gc run). */
  append(record: AuditRecord): Promise<AuditEntry>;
  /** Streams entries from `from` (default 0) as stored, without checking them. */
  entries(from?: number): AsyncIterable<AuditEntry>;
  /** Recomputes the chain and compares its end with the head document. */
  verify(): Promise<AuditVerification>;
}

/** Options of {@link createAuditLog}. */
export interface AuditLogOptions {
  metadata: MetadataStore;
  /** Source of entry timestamps. */
  clock?: Clock;
  /**
   * Without atomic batches: how long a writer may hold the head before another process takes
   * over (ms, default 10 000). Must exceed the slowest change the store can write.
   */
  leaseMs?: number;
  /** HMAC key: entries and the head carry a MAC that `verify` checks. */
  key?: AuditKey;
  /** Log name (default `registry/audit`). */
  log?: string;
  /** Head document key (default `registry/audit-head`). */
  head?: string;
}

/**
 * Creates the audit log.
 *
 * @throws ValidationError when `key` is given but is not at least 16 bytes.
 * @example
 * ```ts
 * const audit = createAuditLog({ metadata });
 * await audit.append({ actor: { id: 'ana' }, action: 'alias:set', resource: { model: 'churn' }, details: { outcome: 'ok' } });
 * (await audit.verify()).ok // true
 * ```
 */
export function createAuditLog(opts: AuditLogOptions): AuditLog {
  const { metadata } = opts;
  const clock = opts.clock ?? systemClock;
  const leaseMs = opts.leaseMs ?? 10_000;
  const log = opts.log ?? AUDIT_LOG;
  const headKey = opts.head ?? AUDIT_HEAD;
  const mac = opts.key === undefined ? undefined : createAuditMac(opts.key);
  const atomic =
    metadata.capabilities?.atomicBatch === true && typeof metadata.batch === 'function';
  // Commits of one log object wait for each other instead of racing for the head.
  let queue: Promise<unknown> = Promise.resolve();

  const target: AuditTarget = { metadata, log, headKey, ...(mac === undefined ? {} : { mac }) };
  const readHead = () => readAuditHead(metadata, headKey);

  async function readTail(from: number): Promise<JsonValue[]> {
    const out: JsonValue[] = [];
    for await (const { entry } of metadata.read(log, { from })) out.push(entry);
    return out;
  }

  async function hasEntriesFrom(from: number): Promise<boolean> {
    for await (const _ of metadata.read(log, { from })) return true;
    return false;
  }

  const seal = (doc: AuditHeadDoc): Promise<JsonValue> => sealAuditHead(doc, mac);

  /** Where keyed entries start once this log writes: kept, or from now on. */
  function keyedFromFor(doc: AuditHeadDoc | undefined): { keyedFrom?: number } {
    if (mac === undefined) return {};
    return { keyedFrom: doc?.keyedFrom ?? doc?.next ?? 0 };
  }

  /** Refuses to build on a head this log cannot vouch for, or on a log without a head. */
  async function checkBeforeWriting(doc: AuditHeadDoc | undefined): Promise<void> {
    if (doc === undefined) {
      if (await hasEntriesFrom(0)) {
        // Another process may have committed its first batch (head and entries together)
        // between our read of the head and of the log: that is a lost race, not a lost head.
        if ((await metadata.get(headKey)) !== undefined) {
          throw new ConflictError(
            `[keel] [registry] the audit head ${headKey} appeared while it was being read: another process committed first; read again and retry`,
          );
        }
        throw new IntegrityError(
          `[keel] [registry] the audit log ${log} has entries but its head document ${headKey} is missing, so appended or removed entries could not be told apart; restore ${headKey} from a backup, or run keel.doctor(), which rebuilds it from the log when the chain verifies`,
          { details: { log, head: headKey } },
        );
      }
      return;
    }
    if (mac === undefined) {
      if (doc.keyedFrom !== undefined) {
        throw new ValidationError(
          `[keel] [registry] the audit log ${log} is protected by an auditKey (from offset ${doc.keyedFrom}): pass the same auditKey to createRegistry or createKeel`,
        );
      }
      return;
    }
    if (doc.mac !== undefined || doc.keyedFrom !== undefined) {
      const { mac: claimed, ...body } = doc;
      if (!(await mac.check(canonicalJson(body), claimed))) {
        throw new IntegrityError(
          `[keel] [registry] the audit head ${headKey} does not carry a valid MAC for this auditKey: the key differs from the one the log was written with, or the head was edited; run verifyAudit() and investigate`,
          { details: { head: headKey } },
        );
      }
    }
  }

  async function chain(records: AuditRecord[], state: ChainState): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    let { next, hash } = state;
    for (const record of records) {
      const entry = await makeEntry(record, next, hash, isoNow(clock));
      out.push(entry);
      next++;
      hash = entry.hash;
    }
    return out;
  }

  async function makeEntry(
    record: AuditRecord,
    offset: number,
    prevHash: Digest,
    timestamp: string,
  ): Promise<AuditEntry> {
    const unhashed = {
      offset,
      timestamp,
      actor: record.actor,
      action: record.action,
      resource: record.resource,
      details: record.details,
      prevHash,
    };
    const hash = hashAuditEntry(unhashed);
    return mac === undefined
      ? { ...unhashed, hash }
      : { ...unhashed, hash, mac: await mac.sign(hash) };
  }

  // ---- with atomic batches: the change, its entries and the head in one batch ----

  async function commitAtomic<T>(
    plan: () => Promise<ChangePlan<T>>,
  ): Promise<{ result: T; entries: AuditEntry[] }> {
    const deadline = Date.now() + CONTENTION_MS;
    for (let attempt = 0; ; attempt++) {
      const { doc, revision } = await readHead();
      if (doc?.lease !== undefined || doc?.dirty === true) {
        // A writer without batches (an older keel, or this store before it had them) was
        // here: finish or drop what it left, then commit atomically.
        await settleLease();
        continue;
      }
      try {
        await checkBeforeWriting(doc);
      } catch (error) {
        if (isKeelError(error, 'KEEL_CONFLICT') && Date.now() < deadline) continue;
        throw error;
      }
      const state: ChainState = { next: doc?.next ?? 0, hash: doc?.hash ?? GENESIS_HASH };
      const planned = await plan();
      if (planned.changes.length === 0) return { result: planned.result, entries: [] };
      const entries = await chain(
        planned.changes.map((c) => c.record),
        state,
      );
      const last = entries[entries.length - 1]!;
      const head = await seal({
        next: state.next + entries.length,
        hash: last.hash,
        ...keyedFromFor(doc),
      });
      const operations: BatchOperation[] = [
        ...planned.changes.flatMap((change) =>
          change.writes.map(
            (w): BatchOperation => ({
              op: 'put',
              key: w.key,
              value: w.value,
              ifRevision: w.ifRevision,
            }),
          ),
        ),
        { op: 'append', log, entries: entries.map(asJson), expectedOffset: state.next },
        { op: 'put', key: headKey, value: head, ifRevision: revision ?? null },
      ];
      try {
        await metadata.batch!(operations);
        return { result: planned.result, entries };
      } catch (error) {
        if (!isKeelError(error, 'KEEL_CONFLICT')) throw notCommitted(error, planned.changes);
      }
      // Another writer got in first, or something appended to the log behind the head.
      const now = await readHead();
      if (now.revision === revision) {
        if (await hasEntriesFrom(state.next)) throw foreignTail(state.next, planned.changes);
        // Or something removed entries the head records: no retry can succeed.
        if (state.next > 0 && !(await hasEntriesFrom(state.next - 1))) {
          throw missingTail(state.next, planned.changes);
        }
      }
      if (Date.now() > deadline) throw contended(planned.changes);
      await pause(attempt);
    }
  }

  // ---- without atomic batches: a leased head that records the pending entries ----

  async function acquire(): Promise<Lease> {
    const deadline = Date.now() + leaseMs * 3 + 5_000;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `[keel] [registry] cannot write to the audit log: another process has held ${headKey} for too long; check for a hung process, or raise auditLeaseMs`,
        );
      }
      const { doc, revision } = await readHead();
      // Leases compare wall-clock time across processes; the injected clock may be a test clock.
      const now = Date.now();
      if (doc?.lease && doc.lease.expires > now) {
        await pause(attempt);
        continue;
      }
      await checkBeforeWriting(doc);
      const base: ChainState = { next: doc?.next ?? 0, hash: doc?.hash ?? GENESIS_HASH };
      const token = randomToken();
      const lease: Lease = {
        token,
        expires: now + leaseMs,
        revision: '',
        state: base,
        keyed: keyedFromFor(doc),
      };
      try {
        lease.revision = (
          await metadata.put(headKey, await seal(leasedHead(lease, [])), {
            ifRevision: revision ?? null,
          })
        ).revision;
      } catch (error) {
        if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
        await pause(attempt);
        continue;
      }
      if (doc?.lease !== undefined || doc?.dirty === true) {
        await recover(doc, lease);
      } else if (await hasEntriesFrom(base.next)) {
        await release(lease, base).catch(() => undefined);
        throw foreignTail(base.next, []);
      } else if (base.next > 0 && !(await hasEntriesFrom(base.next - 1))) {
        await release(lease, base).catch(() => undefined);
        throw missingTail(base.next, []);
      }
      return lease;
    }
  }

  function leasedHead(lease: Lease, pending: PendingEntry[]): AuditHeadDoc {
    return {
      ...lease.state,
      ...lease.keyed,
      lease: { token: lease.token, expires: lease.expires },
      pending,
    };
  }

  /** Finishes what the previous holder left: its appended or still pending entries. */
  async function recover(previous: AuditHeadDoc, lease: Lease): Promise<void> {
    const tail = await readTail(lease.state.next);
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
          const found = await metadata.get(item.check.key);
          if (found === undefined || digestOfJson(found.value) !== item.check.digest) continue;
        }
        const last = landed.at(-1);
        landed.push(
          await makeEntry(
            item.entry,
            lease.state.next + landed.length,
            last?.hash ?? lease.state.hash,
            item.entry.timestamp,
          ),
        );
      }
      if (landed.length > 0) {
        const { offset } = await metadata.append(log, landed.map(asJson));
        if (offset !== lease.state.next) throw foreignTail(lease.state.next, []);
        lease.state = { next: offset + landed.length, hash: landed.at(-1)!.hash };
      }
    }
    // Record the recovered end at once: a crash from here on must not look like a foreign tail.
    lease.revision = (
      await metadata.put(headKey, await seal(leasedHead(lease, [])), {
        ifRevision: lease.revision,
      })
    ).revision;
  }

  async function release(lease: Lease, state: ChainState): Promise<void> {
    try {
      await metadata.put(headKey, await seal({ ...state, ...lease.keyed }), {
        ifRevision: lease.revision,
      });
    } catch (error) {
      // The lease expired and another process took over; it finishes what is pending.
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
  }

  /** Takes the head and gives it back, finishing what a dead holder left. */
  async function settleLease(): Promise<void> {
    const lease = await acquire();
    await release(lease, lease.state);
  }

  /** Undoes applied writes, newest first; false when one of them could not be undone. */
  async function undo(applied: Array<{ write: ChangeWrite; revision: string }>): Promise<boolean> {
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

  async function commitLeased<T>(
    plan: () => Promise<ChangePlan<T>>,
  ): Promise<{ result: T; entries: AuditEntry[] }> {
    for (let attempt = 0; ; attempt++) {
      const lease = await acquire();
      let planned: ChangePlan<T>;
      try {
        planned = await plan();
      } catch (error) {
        await release(lease, lease.state).catch(() => undefined);
        throw error;
      }
      const { changes } = planned;
      if (changes.length === 0) {
        await release(lease, lease.state);
        return { result: planned.result, entries: [] };
      }
      const entries = await chain(
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
          await metadata.put(headKey, await seal(leasedHead(lease, pending)), {
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
          if (await appendedAt(lease.state.next, entries[0]!)) at = lease.state.next;
          else failure = error;
        }
      }
      // Something appended while we held the head: leave the pending entries for an investigator.
      if (at !== undefined && at !== lease.state.next) throw foreignTail(lease.state.next, changes);
      if (failure !== undefined) {
        if (!(await undo(applied))) {
          // The pending entries stay in the head: the next writer appends those whose change landed.
          throw new StorageError(
            `[keel] [registry] ${describe(changes)} failed midway and could not be undone (${messageOf(failure)}); the next registry write records the audit entries of whatever landed. Check the store, then read the state again before retrying`,
            { cause: failure },
          );
        }
        await release(lease, lease.state).catch(() => undefined);
        if (isKeelError(failure, 'KEEL_CONFLICT') && attempt < 5) continue;
        throw notCommitted(failure, changes);
      }
      // Committed: the change and its entries are in the store. A head that cannot be moved on
      // is fixed by the next holder (it finds the pending entries appended), not by the caller.
      const last = entries[entries.length - 1]!;
      await release(lease, { next: lease.state.next + entries.length, hash: last.hash }).catch(
        () => undefined,
      );
      return { result: planned.result, entries };
    }
  }

  /** Whether `entry` is in the log at `at` (an append that threw may still have landed). */
  async function appendedAt(at: number, entry: AuditEntry): Promise<boolean> {
    try {
      for await (const { entry: found } of metadata.read(log, { from: at })) {
        return (found as Partial<AuditEntry> | null)?.hash === entry.hash;
      }
    } catch {
      // An unreadable log did not take the entry.
    }
    return false;
  }

  function commit<T>(
    plan: () => Promise<ChangePlan<T>>,
  ): Promise<{ result: T; entries: AuditEntry[] }> {
    const run = queue.then(() => (atomic ? commitAtomic(plan) : commitLeased(plan)));
    queue = run.catch(() => undefined);
    return run;
  }

  return {
    commit,
    async append(record) {
      const { entries } = await commit(async () => ({
        changes: [{ writes: [], record }],
        result: undefined,
      }));
      return entries[0]!;
    },
    async *entries(from = 0) {
      for await (const { entry } of metadata.read(log, { from }))
        yield entry as unknown as AuditEntry;
    },
    verify() {
      return verifyAuditLog(target);
    },
  };
}

interface Lease {
  token: string;
  expires: number;
  /** The head's revision while we hold it. */
  revision: string;
  /** Where the chain ends (after any recovery). */
  state: ChainState;
  keyed: { keyedFrom?: number };
}

function asJson(value: unknown): JsonValue {
  return value as JsonValue;
}

function pause(attempt: number): Promise<void> {
  const ms = Math.min(50, 1 + attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomToken(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

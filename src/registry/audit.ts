/**
 * @module
 * The registry's tamper-evident audit log: entries chained by sha256 (`prevHash` -> `hash`)
 * in one MetadataStore log, appended under a lease on a head document so that the chain
 * stays linear when several processes append, and a verifier that finds the first bad offset.
 */
import { type Clock, isoNow, systemClock } from '../core/clock.js';
import { type Digest, digestOfJson, isDigest } from '../core/digest.js';
import { IntegrityError, isKeelError, TimeoutError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { Actor } from '../core/schemas.js';
import type { MetadataStore } from '../metadata/types.js';
import { AUDIT_HEAD, AUDIT_LOG, type AuditHeadDoc, asAuditHead } from './records.js';
import type { AuditEntry, AuditResource, AuditVerification } from './types.js';

/** The `prevHash` of the first entry. */
export const GENESIS_HASH: Digest = `sha256:${'0'.repeat(64)}`;

/** What a caller records; offset, time and hashes are filled in by the log. */
export interface AuditRecord {
  actor: Actor;
  action: string;
  resource: AuditResource;
  details: { [key: string]: JsonValue };
}

/** A hash-chained, append-only audit log over a MetadataStore. */
export interface AuditLog {
  /** Appends one entry at the end of the chain and returns it. */
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
   * How long an appender may hold the head before another process takes over (ms, default
   * 10 000). Must exceed the slowest append the store can take.
   */
  leaseMs?: number;
  /** Log name (default `registry/audit`). */
  log?: string;
  /** Head document key (default `registry/audit-head`). */
  head?: string;
}

/** The hash of an entry: sha256 of the canonical JSON of every field but `hash`. */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'>): Digest {
  return digestOfJson({
    offset: entry.offset,
    timestamp: entry.timestamp,
    actor: entry.actor,
    action: entry.action,
    resource: entry.resource,
    details: entry.details,
    prevHash: entry.prevHash,
  });
}

/**
 * Creates the audit log. Appends from one process are serialized in memory; appends from
 * several processes take a lease on the head document (compare-and-swap), append, then
 * advance the head, so each entry's `prevHash` is the entry really before it. A process that
 * dies holding the lease is taken over once the lease expires; the new holder first adopts
 * whatever the dead one managed to append.
 *
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
  let queue: Promise<unknown> = Promise.resolve();

  async function acquire(): Promise<{ state: ChainState; revision: string }> {
    const deadline = Date.now() + leaseMs * 3 + 5_000;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) {
        throw new TimeoutError(
          `[keel] [registry] cannot append to the audit log: another process has held ${headKey} for too long; check for a hung process, or raise auditLeaseMs`,
        );
      }
      const current = await metadata.get(headKey);
      const doc = current ? asAuditHead(current.value, headKey) : undefined;
      // Leases compare wall-clock time across processes; the injected clock may be a test clock.
      const now = Date.now();
      if (doc?.lease && doc.lease.expires > now) {
        await pause(attempt);
        continue;
      }
      const base: ChainState = { next: doc?.next ?? 0, hash: doc?.hash ?? GENESIS_HASH };
      const leased: AuditHeadDoc = {
        ...base,
        lease: { token: randomToken(), expires: now + leaseMs },
      };
      try {
        const { revision } = await metadata.put(headKey, asJson(leased), {
          ifRevision: current?.revision ?? null,
        });
        // No head, an expired lease or a failed append: the log may hold entries the head lacks.
        const state =
          !doc || doc.lease !== undefined || doc.dirty === true ? await adopt(base) : base;
        return { state, revision };
      } catch (error) {
        if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
        await pause(attempt);
      }
    }
  }

  async function adopt(base: ChainState): Promise<ChainState> {
    let state = base;
    for await (const { offset, entry } of metadata.read(log, { from: base.next })) {
      const hash = (entry as Partial<AuditEntry> | null)?.hash;
      state = { next: offset + 1, hash: isDigest(hash) ? hash : digestOfJson(entry) };
    }
    return state;
  }

  async function release(revision: string, state: ChainState, dirty: boolean): Promise<void> {
    const doc: AuditHeadDoc = dirty ? { ...state, dirty: true } : { ...state };
    try {
      await metadata.put(headKey, asJson(doc), { ifRevision: revision });
    } catch (error) {
      // Our lease expired and another process took over; it adopts our entry from the log.
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
  }

  async function appendNow(record: AuditRecord): Promise<AuditEntry> {
    const { state, revision } = await acquire();
    const unhashed: Omit<AuditEntry, 'hash'> = {
      offset: state.next,
      timestamp: isoNow(clock),
      actor: record.actor,
      action: record.action,
      resource: record.resource,
      details: record.details,
      prevHash: state.hash,
    };
    const entry: AuditEntry = { ...unhashed, hash: hashAuditEntry(unhashed) };
    let offset: number;
    try {
      ({ offset } = await metadata.append(log, [asJson(entry)]));
    } catch (error) {
      // The append may or may not have landed: the next holder re-reads the log tail.
      await release(revision, state, true).catch(() => undefined);
      throw error;
    }
    if (offset !== entry.offset) {
      await release(revision, { next: offset + 1, hash: entry.hash }, true);
      throw new IntegrityError(
        `[keel] [registry] the audit log ${log} has entries its head did not record (expected offset ${entry.offset}, got ${offset}); something appended outside the registry: run verifyAudit() and investigate`,
        { details: { expected: entry.offset, actual: offset } },
      );
    }
    await release(revision, { next: offset + 1, hash: entry.hash }, false);
    return entry;
  }

  return {
    append(record) {
      const run = queue.then(() => appendNow(record));
      queue = run.catch(() => undefined);
      return run;
    },
    async *entries(from = 0) {
      for await (const { entry } of metadata.read(log, { from }))
        yield entry as unknown as AuditEntry;
    },
    async verify() {
      // The head is read first: the log only grows, so it must reach at least as far.
      const headDoc = await metadata.get(headKey);
      const head = headDoc ? asAuditHead(headDoc.value, headKey) : undefined;
      let previous: Digest = GENESIS_HASH;
      let count = 0;
      try {
        for await (const { offset, entry } of metadata.read(log)) {
          const problem = entryProblem(entry, offset, previous);
          if (problem !== undefined) {
            return {
              ok: false,
              entries: count,
              firstBadOffset: offset,
              reason: problem,
              headHash: previous,
            };
          }
          previous = (entry as unknown as AuditEntry).hash;
          count++;
          if (head && offset === head.next - 1 && head.lease === undefined && head.dirty !== true) {
            if (previous !== head.hash) {
              return {
                ok: false,
                entries: count,
                firstBadOffset: offset,
                reason: `the entry at offset ${offset} is not the one the head document recorded`,
                headHash: previous,
              };
            }
          }
        }
      } catch (error) {
        // The store itself refuses the log past this point (e.g. a record whose checksum broke).
        if (!isKeelError(error, 'KEEL_INTEGRITY')) throw error;
        return {
          ok: false,
          entries: count,
          firstBadOffset: count,
          reason: `the store cannot read the log at offset ${count}: ${error.message}`,
          headHash: previous,
        };
      }
      if (head && count < head.next) {
        return {
          ok: false,
          entries: count,
          firstBadOffset: count,
          reason: `the log ends at offset ${count - 1} but the head document records ${head.next} entries: entries were removed from the end`,
          headHash: previous,
        };
      }
      return { ok: true, entries: count, headHash: previous };
    },
  };
}

interface ChainState {
  next: number;
  hash: Digest;
}

function entryProblem(entry: JsonValue, offset: number, previous: Digest): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return `the entry at offset ${offset} is not an object`;
  }
  const candidate = entry as unknown as AuditEntry;
  if (candidate.offset !== offset) {
    return `the entry at offset ${offset} says it is entry ${String(candidate.offset)}: entries were removed or reordered`;
  }
  if (candidate.prevHash !== previous) {
    return `the entry at offset ${offset} does not chain to the entry before it: entries were removed, reordered or edited`;
  }
  let hash: Digest;
  try {
    hash = hashAuditEntry(candidate);
  } catch {
    return `the entry at offset ${offset} cannot be hashed: it was edited`;
  }
  if (candidate.hash !== hash)
    return `the entry at offset ${offset} does not match its hash: it was edited`;
  return undefined;
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

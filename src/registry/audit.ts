/**
 * @module
 * The registry's tamper-evident audit log: entries chained by sha256 (`prevHash` -> `hash`)
 * in one MetadataStore log, a head document that commits to the last entry, and `commit`,
 * which writes a registry change together with the entry that describes it. On a store with
 * `capabilities.atomicBatch` the change, the entry and the head are one batch (all or
 * nothing). Without it, the head is leased, the entries to write are recorded in the head
 * before the change, and whoever takes the head next finishes or drops them by looking at
 * whether the change landed (see docs/governance.md for what each mode guarantees). The
 * batch mode lives in `audit-atomic.ts`, the leased mode in `audit-lease.ts`, what they share
 * in `audit-writer.ts`.
 */
import { type Clock, systemClock } from '../core/clock.js';
import type { JsonValue } from '../core/json.js';
import type { Actor } from '../core/schemas.js';
import type { MetadataStore } from '../metadata/types.js';
import { commitAtomic } from './audit-atomic.js';
import { type AuditKey, createAuditMac } from './audit-key.js';
import { LeasedCommits } from './audit-lease.js';
import { verifyAuditLog } from './audit-verify.js';
import { AuditWriter } from './audit-writer.js';
import { AUDIT_HEAD, AUDIT_LOG } from './records.js';
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
 * @throws {ValidationError} when `key` is given but is not at least 16 bytes.
 * @example
 * ```ts
 * const audit = createAuditLog({ metadata });
 * await audit.append({ actor: { id: 'ana' }, action: 'alias:set', resource: { model: 'churn' }, details: { outcome: 'ok' } });
 * (await audit.verify()).ok // true
 * ```
 */
export function createAuditLog(opts: AuditLogOptions): AuditLog {
  const { metadata } = opts;
  const mac = opts.key === undefined ? undefined : createAuditMac(opts.key);
  const writer = new AuditWriter(
    metadata,
    opts.log ?? AUDIT_LOG,
    opts.head ?? AUDIT_HEAD,
    mac,
    opts.clock ?? systemClock,
  );
  const leased = new LeasedCommits(writer, opts.leaseMs ?? 10_000);
  const atomic =
    metadata.capabilities?.atomicBatch === true && typeof metadata.batch === 'function';
  // Commits of one log object wait for each other instead of racing for the head.
  let queue: Promise<unknown> = Promise.resolve();

  function commit<T>(
    plan: () => Promise<ChangePlan<T>>,
  ): Promise<{ result: T; entries: AuditEntry[] }> {
    const run = queue.then(() =>
      atomic ? commitAtomic(writer, () => leased.settle(), plan) : leased.commit(plan),
    );
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
      for await (const { entry } of metadata.read(writer.log, { from }))
        yield entry as unknown as AuditEntry;
    },
    verify() {
      return verifyAuditLog(writer.target);
    },
  };
}

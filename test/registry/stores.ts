/**
 * Test doubles over the memory store for the registry's audit tests: a store whose audit log
 * is a plain array the test edits (as someone with disk access would), a store without the
 * atomic batch capability, a store that fails (or "dies") at its Nth write, and a forged entry.
 */
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { ConflictError, StorageError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/json.js';
import type { BatchResult, MetadataStore } from '../../src/metadata/types.js';
import { hashAuditEntry } from '../../src/registry/audit.js';
import { AUDIT_LOG } from '../../src/registry/records.js';
import type { AuditEntry } from '../../src/registry/types.js';

/** How the registry commits on a store: one atomic batch, or under the leased head. */
export type Mode = 'batch' | 'lease';
export const modes: Mode[] = ['batch', 'lease'];

/** Every method of `inner`, without `batch` when `mode` is `lease`. */
export function inMode(inner: MetadataStore, mode: Mode): MetadataStore {
  const store: MetadataStore = {
    capabilities: { ...inner.capabilities, atomicBatch: mode === 'batch' },
    get: (key) => inner.get(key),
    put: (key, value, opts) => inner.put(key, value, opts),
    delete: (key, opts) => inner.delete(key, opts),
    list: (prefix, opts) => inner.list(prefix, opts),
    append: (log, entries) => inner.append(log, entries),
    read: (log, opts) => inner.read(log, opts),
  };
  if (mode === 'batch') store.batch = (operations) => inner.batch!(operations);
  return store;
}

/** A memory store whose audit log is `log`, an array the test may edit. */
export function tamperableStore(mode: Mode): { store: MetadataStore; log: JsonValue[] } {
  const inner = createMemoryMetadataStore();
  const log: JsonValue[] = [];
  const store = inMode(inner, mode);
  store.append = async (name, entries) => {
    if (name !== AUDIT_LOG) return inner.append(name, entries);
    const offset = log.length;
    log.push(...structuredClone(entries));
    return { offset };
  };
  store.read = async function* (name, opts) {
    if (name !== AUDIT_LOG) {
      yield* inner.read(name, opts);
      return;
    }
    for (let offset = opts?.from ?? 0; offset < log.length; offset++) {
      yield { offset, entry: structuredClone(log[offset]!) };
    }
  };
  if (mode === 'batch') {
    store.batch = async (operations) => {
      const audit = operations.find((op) => op.op === 'append' && op.log === AUDIT_LOG);
      if (audit?.op === 'append' && audit.expectedOffset !== undefined) {
        if (audit.expectedOffset !== log.length) {
          throw new ConflictError(`[keel] log has ${log.length} entries`);
        }
      }
      const rest = operations.filter((op) => op !== audit);
      const results = rest.length > 0 ? await inner.batch!(rest) : [];
      if (audit?.op !== 'append') return results;
      const offset = log.length;
      log.push(...structuredClone(audit.entries));
      const out: BatchResult[] = [...results];
      out.splice(operations.indexOf(audit), 0, { op: 'append', log: AUDIT_LOG, offset });
      return out;
    };
  }
  return { store, log };
}

/** Counts writes; `failAt` makes the Nth fail, and with `die` every write after it too. */
export interface FailingStore {
  store: MetadataStore;
  /** The store underneath, as a restarted process would see it. */
  inner: MetadataStore;
  /** Writes attempted so far (put, delete, append, batch). */
  writes(): number;
  /** Arms the failure: the `n`th write from now fails; with `die`, every later one too. */
  failAt(n: number, opts?: { die?: boolean }): void;
}

/** Wraps a memory store (in `mode`) so that writes can be made to fail. */
export function failingStore(mode: Mode): FailingStore {
  const inner = createMemoryMetadataStore();
  const base = inMode(inner, mode);
  let count = 0;
  let failing: { at: number; die: boolean } | undefined;
  const maybeFail = (what: string): void => {
    count++;
    if (failing === undefined) return;
    if (count === failing.at || (failing.die && count > failing.at)) {
      throw new StorageError(`[keel] [test] injected failure of ${what} (write ${count})`);
    }
  };
  const store: MetadataStore = {
    ...base,
    async put(key, value, opts) {
      maybeFail(`put ${key}`);
      return base.put(key, value, opts);
    },
    async delete(key, opts) {
      maybeFail(`delete ${key}`);
      return base.delete(key, opts);
    },
    async append(log, entries) {
      maybeFail(`append ${log}`);
      return base.append(log, entries);
    },
  };
  if (base.batch) {
    store.batch = async (operations) => {
      maybeFail('batch');
      return base.batch!(operations);
    };
  }
  return {
    store,
    inner: base,
    writes: () => count,
    failAt(n, opts = {}) {
      failing = { at: count + n, die: opts.die ?? false };
    },
  };
}

/** A correctly chained entry after `last`, as someone appending to the log by hand would write it. */
export function forgedAfter(
  last: JsonValue,
  details: { [k: string]: JsonValue } = { outcome: 'ok' },
): JsonValue {
  const previous = last as unknown as AuditEntry;
  const unhashed: Omit<AuditEntry, 'hash'> = {
    offset: previous.offset + 1,
    timestamp: new Date().toISOString(),
    actor: { id: 'mallory' },
    action: 'alias:set',
    resource: { model: 'm', alias: 'prod', version: 4 },
    details,
    prevHash: previous.hash,
  };
  return { ...unhashed, hash: hashAuditEntry(unhashed) } as unknown as JsonValue;
}

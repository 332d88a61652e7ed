/**
 * @module
 * In-memory MetadataStore: documents with revisions and append-only logs, for tests and
 * short-lived processes. Values are copied in and out, exactly as a durable store would.
 */
import type { JsonValue } from '../../core/json.js';
import { readProperty } from '../../core/validate.js';
import {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  assertWatchArguments,
  checkOffset,
  checkRevision,
  compareKeys,
  copyBatch,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  readFrom,
} from '../../metadata/keys.js';
import type {
  BatchResult,
  DocumentChange,
  MetadataStore,
  Versioned,
} from '../../metadata/types.js';

/**
 * Creates a MetadataStore that keeps everything in memory.
 *
 * @example
 * ```ts
 * const meta = createMemoryMetadataStore();
 * const { revision } = await meta.put('models/churn', { description: 'x' }, { ifRevision: null });
 * ```
 *
 * Never throws.
 */
export function createMemoryMetadataStore(): MetadataStore {
  const documents = new Map<string, Versioned>();
  const logs = new Map<string, JsonValue[]>();
  let sortedKeys: string[] | undefined;
  let counter = 0;
  const nextRevision = (): string => `${(++counter).toString(36)}-${randomSuffix()}`;
  const watchers = new Set<{ prefix: string; onChange: (change: DocumentChange) => void }>();
  const changed = (key: string): void => {
    for (const watcher of watchers) {
      if (!key.startsWith(watcher.prefix)) continue;
      // Like a remote notification, the listener runs after the write returned, and its
      // errors never reach the writer.
      queueMicrotask(() => {
        try {
          watcher.onChange({ key });
        } catch {}
      });
    }
  };
  const setDocument = (key: string, value: JsonValue): string => {
    const revision = nextRevision();
    if (!documents.has(key)) sortedKeys = undefined;
    documents.set(key, { value, revision });
    changed(key);
    return revision;
  };
  const deleteDocument = (key: string): boolean => {
    if (!documents.delete(key)) return false;
    sortedKeys = undefined;
    changed(key);
    return true;
  };
  const appendEntries = (log: string, entries: JsonValue[]): number => {
    let records = logs.get(log);
    if (!records) {
      records = [];
      logs.set(log, records);
    }
    const offset = records.length;
    records.push(...entries);
    return offset;
  };

  return {
    capabilities: { sharedAcrossProcesses: false, atomicBatch: true, watch: true, listLogs: true },
    async get(key) {
      assertKey(key);
      const doc = documents.get(key);
      return doc ? { value: structuredClone(doc.value), revision: doc.revision } : undefined;
    },
    async put(key, value, opts) {
      assertKey(key);
      assertRevisionOption(readProperty(opts, 'ifRevision', 'put options'), true);
      const copy = copyJsonValue(value);
      checkRevision('memory', key, documents.get(key)?.revision, opts?.ifRevision);
      return { revision: setDocument(key, copy) };
    },
    async delete(key, opts) {
      assertKey(key);
      assertRevisionOption(readProperty(opts, 'ifRevision', 'delete options'), false);
      const doc = documents.get(key);
      if (!doc) {
        if (opts?.ifRevision !== undefined)
          checkRevision('memory', key, undefined, opts.ifRevision);
        return false;
      }
      checkRevision('memory', key, doc.revision, opts?.ifRevision);
      return deleteDocument(key);
    },
    async *list(prefix, opts) {
      assertPrefix(prefix);
      const limit = listLimit(opts);
      sortedKeys ??= [...documents.keys()].sort(compareKeys);
      const keys = sortedKeys;
      let index = lowerBound(
        keys,
        opts?.after !== undefined && compareKeys(opts.after, prefix) >= 0 ? opts.after : prefix,
      );
      let count = 0;
      for (; index < keys.length && count < limit; index++) {
        const key = keys[index]!;
        if (!key.startsWith(prefix)) {
          if (compareKeys(key, prefix) > 0) break;
          continue;
        }
        if (opts?.after !== undefined && compareKeys(key, opts.after) <= 0) continue;
        const doc = documents.get(key);
        if (!doc) continue;
        count++;
        yield { key, value: structuredClone(doc.value), revision: doc.revision };
      }
    },
    async append(log, entries) {
      assertKey(log, 'log name');
      const copies = copyLogEntries(entries);
      return { offset: appendEntries(log, copies) };
    },
    async *read(log, opts) {
      assertKey(log, 'log name');
      const from = readFrom(opts);
      const records = logs.get(log) ?? [];
      for (let offset = from; offset < records.length; offset++) {
        yield { offset, entry: structuredClone(records[offset]!) };
      }
    },
    async *listLogs(prefix, opts) {
      assertPrefix(prefix);
      const limit = listLimit(opts);
      const after = opts?.after;
      const names = [...logs.keys()]
        .filter(
          (name) =>
            name.startsWith(prefix) && (after === undefined || compareKeys(name, after) > 0),
        )
        .sort(compareKeys);
      yield* names.slice(0, limit);
    },
    async batch(operations) {
      const ops = copyBatch(operations);
      // Check every condition first: nothing is applied unless all hold.
      for (const op of ops) {
        if (op.op === 'append') {
          checkOffset('memory', op.log, logs.get(op.log)?.length ?? 0, op.expectedOffset);
        } else if (op.op === 'put' || op.ifRevision !== undefined) {
          checkRevision('memory', op.key, documents.get(op.key)?.revision, op.ifRevision);
        }
      }
      return ops.map((op): BatchResult => {
        if (op.op === 'put')
          return { op: 'put', key: op.key, revision: setDocument(op.key, op.value) };
        if (op.op === 'delete')
          return { op: 'delete', key: op.key, deleted: deleteDocument(op.key) };
        return { op: 'append', log: op.log, offset: appendEntries(op.log, op.entries) };
      });
    },
    watch(prefix, onChange) {
      assertWatchArguments(prefix, onChange);
      const watcher = { prefix, onChange };
      watchers.add(watcher);
      return () => {
        watchers.delete(watcher);
      };
    },
  };
}

function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, target) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function randomSuffix(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * @module
 * In-memory MetadataStore: documents with revisions and append-only logs, for tests and
 * short-lived processes. Values are copied in and out, exactly as a durable store would.
 */
import type { JsonValue } from '../../core/json.js';
import {
  assertKey,
  assertPrefix,
  assertRevisionOption,
  checkRevision,
  compareKeys,
  copyJsonValue,
  copyLogEntries,
  listLimit,
  readFrom,
} from '../../metadata/keys.js';
import type { MetadataStore, Versioned } from '../../metadata/types.js';

/**
 * Creates a MetadataStore that keeps everything in memory.
 *
 * @example
 * ```ts
 * const meta = createMemoryMetadataStore();
 * const { revision } = await meta.put('models/churn', { description: 'x' }, { ifRevision: null });
 * ```
 */
export function createMemoryMetadataStore(): MetadataStore {
  const documents = new Map<string, Versioned>();
  const logs = new Map<string, JsonValue[]>();
  let sortedKeys: string[] | undefined;
  let counter = 0;
  const nextRevision = (): string => `${(++counter).toString(36)}-${randomSuffix()}`;

  return {
    capabilities: { sharedAcrossProcesses: false },
    async get(key) {
      assertKey(key);
      const doc = documents.get(key);
      return doc ? { value: structuredClone(doc.value), revision: doc.revision } : undefined;
    },
    async put(key, value, opts) {
      assertKey(key);
      assertRevisionOption(opts?.ifRevision, true);
      const copy = copyJsonValue(value);
      checkRevision('memory', key, documents.get(key)?.revision, opts?.ifRevision);
      const revision = nextRevision();
      if (!documents.has(key)) sortedKeys = undefined;
      documents.set(key, { value: copy, revision });
      return { revision };
    },
    async delete(key, opts) {
      assertKey(key);
      assertRevisionOption(opts?.ifRevision, false);
      const doc = documents.get(key);
      if (!doc) {
        if (opts?.ifRevision !== undefined)
          checkRevision('memory', key, undefined, opts.ifRevision);
        return false;
      }
      checkRevision('memory', key, doc.revision, opts?.ifRevision);
      documents.delete(key);
      sortedKeys = undefined;
      return true;
    },
    async *list(prefix, opts) {
      assertPrefix(prefix);
      const limit = listLimit(opts);
      sortedKeys ??= [...documents.keys()].sort(compareKeys);
      const keys = sortedKeys;
      let index = lowerBound(
        keys,
        opts?.after !== undefined && opts.after >= prefix ? opts.after : prefix,
      );
      let count = 0;
      for (; index < keys.length && count < limit; index++) {
        const key = keys[index]!;
        if (!key.startsWith(prefix)) {
          if (key > prefix) break;
          continue;
        }
        if (opts?.after !== undefined && key <= opts.after) continue;
        const doc = documents.get(key);
        if (!doc) continue;
        count++;
        yield { key, value: structuredClone(doc.value), revision: doc.revision };
      }
    },
    async append(log, entries) {
      assertKey(log, 'log name');
      const copies = copyLogEntries(entries);
      let records = logs.get(log);
      if (!records) {
        records = [];
        logs.set(log, records);
      }
      const offset = records.length;
      records.push(...copies);
      return { offset };
    },
    async *read(log, opts) {
      assertKey(log, 'log name');
      const from = readFrom(opts);
      const records = logs.get(log) ?? [];
      for (let offset = from; offset < records.length; offset++) {
        yield { offset, entry: structuredClone(records[offset]!) };
      }
    },
  };
}

function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function randomSuffix(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

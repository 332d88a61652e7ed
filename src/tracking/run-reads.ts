/**
 * @module
 * Reading run documents for the search cache: a listing that skips (and reports) the corrupt
 * ones and goes on after them, and a bounded-concurrency loop for reads one by one.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import { trackingKeys } from './records.js';
import type { CorruptRecord } from './types.js';

/**
 * Lists every run document into `onDocument`; a document the store cannot read goes to
 * `onCorrupt` and the listing resumes after its key. Returns how many documents were read.
 */
export async function listRunDocuments(
  metadata: MetadataStore,
  onDocument: (key: string, value: JsonValue) => void,
  onCorrupt: (record: CorruptRecord) => void,
): Promise<number> {
  let read = 0;
  let after: string | undefined;
  for (;;) {
    try {
      const opts = after === undefined ? undefined : { after };
      for await (const { key, value } of metadata.list(trackingKeys.runsPrefix, opts)) {
        after = key;
        onDocument(key, value);
        read++;
      }
      return read;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      const key = error.details?.key;
      const resumable =
        typeof key === 'string' &&
        key.startsWith(trackingKeys.runsPrefix) &&
        (after === undefined || key > after);
      onCorrupt({ key: resumable ? key : trackingKeys.runsPrefix, reason: error.message });
      // a store that does not say which document failed cannot be listed past it: the
      // runs the journal names are still read one by one
      if (!resumable) return read;
      after = key;
    }
  }
}

/** Calls `fn` on every item, at most `limit` at once. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

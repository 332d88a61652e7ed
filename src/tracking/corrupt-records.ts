/**
 * @module
 * The corrupt records a search cache skipped (run documents, journal entries, snapshot
 * documents): kept while they stay unreadable, and each told once to `onCorrupt`.
 */
import type { CorruptRecord } from './types.js';

/** The corrupt records one process met. */
export class CorruptRecords {
  /** By {@link corruptId}; cleared once readable again. */
  private readonly records = new Map<string, CorruptRecord>();
  /** Every record already told: each is told once. */
  private readonly told = new Set<string>();

  constructor(private readonly onCorrupt: (record: CorruptRecord) => void) {}

  /** Records a corrupt record; tells `onCorrupt` the first time it is seen. */
  report(record: CorruptRecord): void {
    const id = corruptId(record);
    this.records.set(id, record);
    if (this.told.has(id)) return;
    this.told.add(id);
    this.onCorrupt(record);
  }

  /** Forgets the records whose key `matches` (they were read again, or are gone). */
  forget(matches: (key: string) => boolean): void {
    for (const [id, record] of this.records) if (matches(record.key)) this.records.delete(id);
  }

  /** Forgets the record of document `key`. */
  forgetKey(key: string): void {
    if (this.records.size > 0) this.records.delete(key);
  }

  /** The records kept (copies). */
  list(): CorruptRecord[] {
    return Array.from(this.records.values(), (record) => ({ ...record }));
  }
}

/** Identifies a corrupt record: one per document, one per log offset. */
function corruptId(record: CorruptRecord): string {
  return record.offset === undefined ? record.key : `${record.key}@${record.offset}`;
}

/**
 * @module
 * The search cache: every run document this process knows, kept fresh by following the
 * journal log (`[runId, seq]` appended before every run-document write, by any process).
 * A search reads only the journal entries appended since the last search and re-reads
 * just the runs they name, instead of every run document.
 *
 * Because the journal entry is written before the document, a reader can see an entry whose
 * document write has not landed yet; such runs stay "pending" and are re-read on each
 * refresh until their document reaches the announced sequence number (or, when the writer
 * died in between, until {@link PENDING_GIVE_UP_MS} passed).
 */
import type { Clock } from '../core/clock.js';
import type { MetadataStore } from '../metadata/types.js';
import { type RunDocument, runFromJson, trackingKeys } from './records.js';
import type { Run } from './types.js';

/** How long a journal entry whose document never arrives is re-checked. */
export const PENDING_GIVE_UP_MS: number = 10 * 60_000;

/** With more unknown runs than this, a refresh lists every run document instead of reading each. */
const LIST_THRESHOLD = 256;

/** Run documents reads run concurrently, at most this many at once. */
const READ_CONCURRENCY = 32;

/** A cache of run documents that follows the journal. */
export class RunIndex {
  private offset = 0;
  private readonly runs = new Map<string, RunDocument>();
  private readonly pending = new Map<string, { seq: number; since: number }>();
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** Records a document version this process read or wrote (older versions are ignored). */
  remember(doc: RunDocument): void {
    const current = this.runs.get(doc.run.id);
    if (current === undefined || current.seq < doc.seq) this.runs.set(doc.run.id, doc);
    const pending = this.pending.get(doc.run.id);
    if (pending !== undefined && doc.seq >= pending.seq) this.pending.delete(doc.run.id);
  }

  /** Catches up with the journal, then returns every known run (shared objects: copy before handing out). */
  async snapshot(): Promise<Run[]> {
    const next = this.refreshing.then(() => this.refresh());
    this.refreshing = next.catch(() => {});
    await next;
    return Array.from(this.runs.values(), (doc) => doc.run);
  }

  private async refresh(): Promise<void> {
    const now = this.clock.now();
    for await (const { offset, entry } of this.metadata.read(trackingKeys.journal, {
      from: this.offset,
    })) {
      this.offset = offset + 1;
      if (!Array.isArray(entry)) continue;
      const [runId, seq] = entry;
      if (typeof runId !== 'string' || typeof seq !== 'number') continue;
      if ((this.runs.get(runId)?.seq ?? -1) >= seq) continue;
      const pending = this.pending.get(runId);
      if (pending === undefined || pending.seq < seq)
        this.pending.set(runId, { seq, since: pending?.since ?? now });
    }
    if (this.pending.size > LIST_THRESHOLD) {
      // many unknown runs (a first search): one listing reads them faster than one get each
      for await (const { key, value } of this.metadata.list(trackingKeys.runsPrefix)) {
        this.remember(runFromJson(key, value));
      }
    }
    const ids = [...this.pending.keys()];
    await forEachLimited(ids, READ_CONCURRENCY, async (runId) => {
      const key = trackingKeys.run(runId);
      const stored = await this.metadata.get(key);
      if (stored !== undefined) this.remember(runFromJson(key, stored.value));
      const pending = this.pending.get(runId);
      if (pending !== undefined && now - pending.since > PENDING_GIVE_UP_MS)
        this.pending.delete(runId);
    });
  }
}

async function forEachLimited<T>(
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

/**
 * @module
 * The search cache: every run document this process knows, kept fresh by following the
 * journal log (`[runId, seq]` appended before every run-document write, by any process).
 * A search reads only the journal entries appended since the last search and re-reads
 * just the runs they name, instead of every run document. It also answers lineage
 * queries: the runs that consumed or produced a digest, by the refs of their documents.
 *
 * Because the journal entry is written before the document, a reader can see an entry whose
 * document write has not landed yet; such runs stay "pending" and are re-read on each
 * refresh until their document reaches the announced sequence number (or, when the writer
 * died in between, until {@link PENDING_GIVE_UP_MS} passed).
 */
import type { Clock } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
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
  // digest -> ids of the runs whose documents list it (refs are only ever added to a run)
  private readonly produced = new Map<string, Set<string>>();
  private readonly consumed = new Map<string, Set<string>>();
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** Records a document version this process read or wrote (older versions are ignored). */
  remember(doc: RunDocument): void {
    const current = this.runs.get(doc.run.id);
    if (current === undefined || current.seq < doc.seq) {
      this.runs.set(doc.run.id, doc);
      for (const ref of doc.run.outputs) addTo(this.produced, ref.digest, doc.run.id);
      for (const ref of doc.run.inputs) addTo(this.consumed, ref.digest, doc.run.id);
    }
    const pending = this.pending.get(doc.run.id);
    if (pending !== undefined && doc.seq >= pending.seq) this.pending.delete(doc.run.id);
  }

  /** Whether this process has seen run `runId` (runs are never deleted, so it exists). */
  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Catches up with the journal, then returns every known run (shared objects: copy before handing out). */
  async snapshot(): Promise<Run[]> {
    await this.catchUp();
    return Array.from(this.runs.values(), (doc) => doc.run);
  }

  /**
   * Catches up with the journal, then returns the runs that list `digest` among their
   * outputs (`producedBy`) and inputs (`consumedBy`), by run id (shared objects).
   */
  async lineage(digest: Digest): Promise<{ producedBy: Run[]; consumedBy: Run[] }> {
    await this.catchUp();
    const pick = (ids: Set<string> | undefined, role: 'outputs' | 'inputs'): Run[] => {
      const runs: Run[] = [];
      for (const id of [...(ids ?? [])].sort()) {
        const run = this.runs.get(id)?.run;
        if (run?.[role].some((ref) => ref.digest === digest)) runs.push(run);
      }
      return runs;
    };
    return {
      producedBy: pick(this.produced.get(digest), 'outputs'),
      consumedBy: pick(this.consumed.get(digest), 'inputs'),
    };
  }

  private async catchUp(): Promise<void> {
    const next = this.refreshing.then(() => this.refresh());
    this.refreshing = next.catch(() => {});
    await next;
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

function addTo(index: Map<string, Set<string>>, digest: string, runId: string): void {
  let ids = index.get(digest);
  if (ids === undefined) {
    ids = new Set();
    index.set(digest, ids);
  }
  ids.add(runId);
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

/**
 * @module
 * The search cache: what this process knows of every run, kept fresh by following the journal
 * (`[runId, seq]` appended before every run-document write, by any process). A search reads
 * only the journal entries appended since the last search and re-reads just the runs they
 * name, instead of every run document. It also answers lineage queries: the runs that
 * consumed or produced a digest, by the refs of their documents.
 *
 * Because the journal entry is written before the document, a reader can see an entry whose
 * document write has not landed yet; such runs stay "pending" and are re-read on each
 * refresh until their document reaches the announced sequence number (or, when the writer
 * died in between, until {@link PENDING_GIVE_UP_MS} passed).
 *
 * The journal is compacted (ADR 0017, journal-compaction.ts): now and then a process stores
 * what it knows as a search snapshot and starts a new journal log from it, named by the
 * journal head document. A new process starts from the snapshot the head names: it loads
 * the run ids and only the columns its searches read ({@link SearchBase}), reads the rest of
 * the log before (from where the snapshot is complete) and then the new log. Runs are held
 * whole only when this process read or wrote them since; the runs on a result page that come
 * from the snapshot are read from the store. A process that follows the journal when it is
 * compacted reads its old log to the end and goes on with the new one.
 *
 * One bad record does not take search down: a run document that cannot be read or parsed is
 * skipped and reported (`corrupt`, and once through `onCorrupt`); a journal that cannot be
 * read past some point is reported and, while it stays so, every refresh lists the run
 * documents instead (slower, still complete); a damaged snapshot is reported and the runs
 * are listed instead. `keel.doctor()` repairs the journal: it cannot mend a log in place, so
 * it starts a new journal generation with one entry per run.
 *
 * The parts: following the journal in journal-reader.ts, checked reads of run documents in
 * run-reads.ts, lineage queries in run-lineage.ts, the compaction in journal-compaction.ts.
 */
import type { Clock } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { MetadataStore } from '../metadata/types.js';
import { CorruptRecords } from './corrupt-records.js';
import type { FieldValue } from './filter/evaluate.js';
import { type CompactionHook, compactJournal } from './journal-compaction.js';
import { JOURNALS_PREFIX, type JournalHead } from './journal-head.js';
import { JournalReader } from './journal-reader.js';
import { type RunDocument, trackingKeys } from './records.js';
import { RunCache } from './run-cache.js';
import { runsOf } from './run-lineage.js';
import { CORRUPT, forEachLimited, READ_CONCURRENCY, RunReads } from './run-reads.js';
import { type ScanQuery, scanBase, scanRuns, TopRows } from './search-scan.js';
import { loadSnapshot, type SearchBase, SnapshotGone } from './search-snapshot.js';
import type { CorruptRecord, Run } from './types.js';

export { HEAD_CHECK_MS } from './journal-reader.js';

/** How long a journal entry whose document never arrives is re-checked. */
export const PENDING_GIVE_UP_MS: number = 10 * 60_000;

/** With more unknown runs than this, a refresh lists every run document instead of reading each. */
const LIST_THRESHOLD = 256;

/**
 * A log is compacted once it holds at least `runs >> COMPACT_SHIFT` entries: a compaction
 * costs in proportion to the runs (about 1.2 s at 100 000 on fs), so it stays a constant
 * share of each write, while a new process reads at most that many entries (and their
 * runs' documents) after the snapshot.
 */
export const COMPACT_SHIFT = 6;

/** A search result: the run and its sort values. */
export interface SearchHit {
  run: Run;
  values: FieldValue[];
}

/** A cache of run documents that follows the journal. */
export class RunIndex {
  private started = false;
  /** What is known of the runs. */
  private readonly cache = new RunCache();
  private refreshing: Promise<void> = Promise.resolve();
  private readonly corrupt: CorruptRecords;
  private readonly reads: RunReads;
  private readonly journalReader: JournalReader;
  /** Whether this process's last journal append failed on a corrupt record. */
  private appendBroken = false;
  /** Set when the runs must be listed (a new journal that does not name them all): on the next refresh. */
  private relist = false;
  /** Set once a refresh completed: the cache then holds every run. */
  private refreshed = false;
  /** The compaction under way in this process. */
  private compaction: Promise<boolean> | undefined;
  /** Calls of {@link RunIndex.compact} under way: no compaction starts on its own meanwhile. */
  private explicit = 0;
  private writesSinceCheck = 0;
  /** Snapshots found damaged or incomplete here: never started from again. */
  private readonly unusable = new Set<string>();

  /**
   * `snapshotEvery`: compact the journal once its log holds at least this many entries (and
   * at least a sixty-fourth as many as there are runs, so that the cost per write stays
   * constant), and start from the snapshot the journal head names; 0 never does either.
   * `onCompaction` is called before each step of a compaction (tests).
   */
  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    private readonly snapshotEvery = 0,
    onCorrupt: (record: CorruptRecord) => void = () => {},
    private readonly onCompaction: CompactionHook | undefined = undefined,
  ) {
    this.corrupt = new CorruptRecords(onCorrupt);
    this.reads = new RunReads(metadata, this.cache, this.corrupt);
    this.journalReader = new JournalReader(
      metadata,
      clock,
      (runId, seq, now) => this.cache.announce(runId, seq, now),
      (record) => this.reportCorrupt(record),
    );
  }

  /**
   * Records a corrupt record met by a read of this process (or a write: a journal that
   * cannot be appended to) and tells `onCorrupt` the first time it is seen.
   */
  reportCorrupt(record: CorruptRecord): void {
    this.corrupt.report(record);
  }

  /**
   * Notes how a journal append of this process went: after one failed on a corrupt record
   * (and until one succeeds) refreshes list the run documents, as the journal misses writes.
   */
  noteAppend(failure?: CorruptRecord): void {
    if (failure === undefined) {
      this.appendBroken = false;
      return;
    }
    this.appendBroken = true;
    this.reportCorrupt(failure);
  }

  /** The corrupt records the last refresh skipped (copies). */
  corruptRecords(): CorruptRecord[] {
    return this.corrupt.list();
  }

  /**
   * Counts a run-document write of this process; after enough of them, the cache catches up
   * with the journal, which compacts it when it is long enough, in the background (a
   * failure only costs speed).
   */
  noteWrite(): void {
    if (this.snapshotEvery === 0) return;
    this.writesSinceCheck++;
    if (this.compaction !== undefined || this.writesSinceCheck < this.snapshotEvery) return;
    this.writesSinceCheck = 0;
    this.catchUp().catch(() => {});
  }

  /** Records a document version this process read or wrote (older versions are ignored). */
  remember(doc: RunDocument): void {
    this.reads.remember(doc);
  }

  /**
   * The journal log to append to: the newest head's. Reads the head document when `force`
   * or when it was last read {@link HEAD_CHECK_MS} ago.
   */
  journal(force = false): Promise<string> {
    return this.journalReader.journal(force);
  }

  /**
   * Whether a refresh completed, so the cache holds every run and a search can use it (before
   * that, a store that runs queries answers searches itself: push-down.ts).
   */
  get loaded(): boolean {
    return this.refreshed;
  }

  /** Whether this process has seen run `runId` (runs are never deleted, so it exists). */
  has(runId: string): boolean {
    return this.cache.has(runId);
  }

  /**
   * Catches up with the journal, then returns the first `query.keep` runs matching the query,
   * in order (shared objects: copy before handing out).
   */
  async search(query: ScanQuery): Promise<SearchHit[]> {
    for (let attempt = 1; ; attempt++) {
      await this.catchUp();
      const top = new TopRows(query);
      scanRuns(this.cache.heldRuns(), query, top);
      const base = this.cache.base;
      if (base !== undefined && !(await this.scanned(base, query, top))) continue;
      const rows = top.rows.flatMap(({ hit }) => ('row' in hit ? [hit.row] : []));
      const docs = base === undefined ? new Map() : await this.reads.fetchRows(base, rows);
      // a run written since the catch-up is taken again, as it is now (a few tries)
      if (docs.size < rows.length && attempt < 3) continue;
      return top.rows.flatMap(({ hit, values }) => {
        const run = 'run' in hit ? hit.run : docs.get(hit.row)?.run;
        return run === undefined ? [] : [{ run, values }];
      });
    }
  }

  /**
   * Catches up with the journal, then returns the runs that list `digest` among their
   * outputs (`producedBy`) and inputs (`consumedBy`), by run id (shared objects).
   */
  lineage(digest: Digest): Promise<{ producedBy: Run[]; consumedBy: Run[] }> {
    return runsOf(digest, {
      cache: this.cache,
      catchUp: () => this.catchUp(),
      dropBase: (base, error) => this.dropBase(base, error),
      fetchRows: (base, rows) => this.reads.fetchRows(base, rows),
    });
  }

  /**
   * Compacts the journal now (ADR 0017) from what this process knows after catching up.
   * Returns whether it did (false when another process compacted first, or one is under way
   * here). `keel` compacts on its own (`searchSnapshotEvery`); this is for tests and tools.
   */
  async compact(): Promise<boolean> {
    this.explicit++;
    try {
      await this.catchUp();
      while (this.compaction !== undefined) {
        await this.compaction.catch(() => false);
        await this.catchUp();
      }
      return await this.compactNow();
    } finally {
      this.explicit--;
    }
  }

  private async catchUp(): Promise<void> {
    const next = this.refreshing.then(() => this.refresh());
    this.refreshing = next.catch(() => {});
    await next;
  }

  private async refresh(): Promise<void> {
    const journal = this.journalReader;
    const head = await journal.readLatest();
    if (!this.started) {
      this.started = true;
      await this.restart(head);
    } else if (head.log !== journal.head.log) {
      await this.follow(head);
    } else {
      journal.head = head;
    }
    const now = this.clock.now();
    const restart = (next: JournalHead) => this.restart(next);
    let read = 0;
    let journalReadable = await journal.readLogs(now, restart);
    if (!journalReadable) {
      // keel.doctor() may have started a new journal since
      const again = await journal.readLatest();
      if (again.log !== journal.head.log) {
        await this.follow(again);
        journalReadable = await journal.readLogs(now, restart);
      }
    }
    if (journalReadable && journal.broken && !this.appendBroken) {
      // the journal was repaired (keel.doctor()): follow it again
      journal.broken = false;
      this.corrupt.forget(isJournal);
    }
    const pending = this.cache.pending;
    if (
      this.relist ||
      journal.broken ||
      this.appendBroken ||
      (pending.size > LIST_THRESHOLD && pending.size * 2 > this.cache.count())
    ) {
      // many unknown runs (a first search): one listing reads them faster than one get each;
      // with a broken journal, only a listing finds the runs written past the damage
      this.relist = false;
      read += await this.reads.listRuns();
    }
    const ids = [...pending.keys()];
    read += ids.length;
    await forEachLimited(ids, READ_CONCURRENCY, async (runId) => {
      const key = trackingKeys.run(runId);
      const stored = await this.reads.readChecked(key);
      if (stored === undefined) this.corrupt.forgetKey(key);
      else if (stored !== CORRUPT) this.reads.rememberChecked(key, stored.value);
      const entry = pending.get(runId);
      if (entry !== undefined && now - entry.since > PENDING_GIVE_UP_MS) pending.delete(runId);
    });
    // the next process should not have to read all that again
    if (
      this.snapshotEvery > 0 &&
      this.explicit === 0 &&
      this.compaction === undefined &&
      journal.tail === undefined &&
      !journal.broken &&
      !this.appendBroken &&
      ((read > LIST_THRESHOLD && this.cache.base === undefined) ||
        journal.at.offset >= this.threshold())
    ) {
      this.compactNow().catch(() => {});
    }
    this.refreshed = true;
  }

  /** Follows a new head: reads the rest of the log before it first when that is the one followed. */
  private async follow(head: JournalHead): Promise<void> {
    if (!this.journalReader.continueWith(head)) await this.restart(head);
  }

  /**
   * Starts following `head` afresh, keeping what is known: from its snapshot when it names a
   * loadable one, else by listing every run (unless it is the first journal, which names
   * them all).
   */
  private async restart(head: JournalHead): Promise<void> {
    this.journalReader.startAt(head);
    this.appendBroken = false;
    this.corrupt.forget(isJournal);
    if (
      this.snapshotEvery > 0 &&
      head.snapshot !== undefined &&
      !this.unusable.has(head.snapshot)
    ) {
      try {
        this.cache.adopt(await loadSnapshot(this.metadata, head.snapshot));
        return;
      } catch (error) {
        if (isKeelError(error, ErrorCodes.integrity))
          this.reportCorrupt({ key: error.details?.key as string, reason: error.message });
        else if (!(error instanceof SnapshotGone)) throw error;
        this.unusable.add(head.snapshot);
      }
    }
    // without a snapshot, only a listing finds the runs a new journal does not name
    if (head.generation > 0 || this.cache.base !== undefined) {
      this.cache.dropBase();
      this.relist = true;
    }
  }

  /** Forgets a snapshot that cannot be read any more, and starts over from the current head. */
  private async dropBase(base: SearchBase, error: unknown): Promise<void> {
    if (isKeelError(error, ErrorCodes.integrity))
      this.reportCorrupt({ key: error.details?.key as string, reason: error.message });
    else if (!(error instanceof SnapshotGone)) throw error;
    if (this.cache.base !== base) return;
    this.unusable.add(base.id);
    this.cache.dropBase();
    this.started = false;
  }

  /** Scans the snapshot rows; false when the snapshot had to be dropped (search again). */
  private async scanned(base: SearchBase, query: ScanQuery, top: TopRows): Promise<boolean> {
    try {
      await scanBase(base, query, top);
      return true;
    } catch (error) {
      await this.dropBase(base, error);
      return false;
    }
  }

  /** The journal entries after which a process compacts (see the constructor). */
  private threshold(): number {
    return Math.max(this.snapshotEvery, this.cache.count() >> COMPACT_SHIFT);
  }

  /** Compacts from what is known now (one consistent state: nothing awaits while it is taken). */
  private async compactNow(): Promise<boolean> {
    if (this.compaction !== undefined || this.journalReader.tail !== undefined) return false;
    const run = async (): Promise<boolean> => {
      const next = await compactJournal(
        this.metadata,
        {
          head: this.journalReader.head,
          from: this.journalReader.at.offset,
          rows: this.cache.snapshotRows(),
          base: this.cache.base,
          pending: this.cache.pendingEntries(),
        },
        new Date(this.clock.now()).toISOString(),
        this.onCompaction,
      );
      if (next === undefined) return false;
      // start from the snapshot just stored: the documents it holds need not be kept here
      // (a failure only costs memory)
      const base = await loadSnapshot(this.metadata, next.snapshot!).catch(() => undefined);
      if (base !== undefined && this.snapshotEvery > 0) this.cache.adopt(base);
      return true;
    };
    this.compaction = run();
    try {
      return await this.compaction;
    } finally {
      this.compaction = undefined;
    }
  }
}

function isJournal(key: string): boolean {
  return key === trackingKeys.journal || key.startsWith(JOURNALS_PREFIX);
}

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
 */
import type { Clock } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore, Versioned } from '../metadata/types.js';
import { CorruptRecords } from './corrupt-records.js';
import type { FieldValue } from './filter/evaluate.js';
import { type CompactionHook, compactJournal } from './journal-compaction.js';
import { FIRST_HEAD, JOURNALS_PREFIX, type JournalHead, readHead } from './journal-head.js';
import { type RunDocument, runFromJson, trackingKeys } from './records.js';
import { RunCache } from './run-cache.js';
import { forEachLimited, listRunDocuments } from './run-reads.js';
import { type ScanQuery, scanBase, scanRuns, TopRows } from './search-scan.js';
import { loadSnapshot, type SearchBase, SnapshotGone } from './search-snapshot.js';
import type { CorruptRecord, Run } from './types.js';

/** How long a journal entry whose document never arrives is re-checked. */
export const PENDING_GIVE_UP_MS: number = 10 * 60_000;

/** With more unknown runs than this, a refresh lists every run document instead of reading each. */
const LIST_THRESHOLD = 256;

/** Run documents reads run concurrently, at most this many at once. */
const READ_CONCURRENCY = 32;

/**
 * A log is compacted once it holds at least `runs >> COMPACT_SHIFT` entries: a compaction
 * costs in proportion to the runs (about 1.2 s at 100 000 on fs), so it stays a constant
 * share of each write, while a new process reads at most that many entries (and their
 * runs' documents) after the snapshot.
 */
export const COMPACT_SHIFT = 6;

/**
 * How often, at most, a write re-reads the journal head before its append (it always reads
 * it after: see run-store.ts). `keel.doctor()` waits twice this before it announces again
 * the runs written meanwhile.
 */
export const HEAD_CHECK_MS = 1000;

/** What {@link RunIndex} reads of a document the store finds corrupt. */
const CORRUPT: unique symbol = Symbol('corrupt');

/** A place in a journal log: the next entry to read. */
interface LogPosition {
  log: string;
  offset: number;
}

/** A search result: the run and its sort values. */
export interface SearchHit {
  run: Run;
  values: FieldValue[];
}

/** A cache of run documents that follows the journal. */
export class RunIndex {
  /** The newest journal head seen: writes are announced in its log. */
  private latest: JournalHead = FIRST_HEAD;
  private headCheckedAt = Number.NEGATIVE_INFINITY;
  /** The head whose log this process follows, and the next entry to read there. */
  private head: JournalHead = FIRST_HEAD;
  private at: LogPosition = { log: FIRST_HEAD.log, offset: 0 };
  /** The rest of the log before `head.log`, read once before it (after a compaction). */
  private tail: LogPosition | undefined;
  /** Whether the head must be read again once `tail` was read (it may have been removed meanwhile). */
  private checkAfterTail = false;
  private started = false;
  /** What is known of the runs. */
  private readonly cache = new RunCache();
  private refreshing: Promise<void> = Promise.resolve();
  private readonly corrupt: CorruptRecords;
  /** Whether the last journal read stopped at a corrupt record. */
  private journalBroken = false;
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
    this.corrupt.forgetKey(trackingKeys.run(doc.run.id));
    this.cache.remember(doc);
  }

  /**
   * The journal log to append to: the newest head's. Reads the head document when `force`
   * or when it was last read {@link HEAD_CHECK_MS} ago.
   */
  async journal(force = false): Promise<string> {
    if (force || this.clock.now() - this.headCheckedAt >= HEAD_CHECK_MS) await this.readLatest();
    return this.latest.log;
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
      const docs = base === undefined ? new Map() : await this.fetchRows(base, rows);
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
  async lineage(digest: Digest): Promise<{ producedBy: Run[]; consumedBy: Run[] }> {
    for (let attempt = 1; ; attempt++) {
      await this.catchUp();
      const base = this.cache.base;
      let refs: Awaited<ReturnType<SearchBase['refs']>> | undefined;
      if (base !== undefined) {
        try {
          refs = await base.refs();
        } catch (error) {
          await this.dropBase(base, error);
          continue;
        }
      }
      let stale = false;
      const pick = async (
        ids: Set<string> | undefined,
        rows: number[] | undefined,
        role: 'outputs' | 'inputs',
      ): Promise<Run[]> => {
        const found: Run[] = [];
        for (const id of ids ?? []) {
          const run = this.cache.held(id);
          if (run !== undefined) found.push(run);
        }
        if (base !== undefined && rows !== undefined) {
          const live = rows.filter((row) => base.superseded[row] === 0);
          const docs = await this.fetchRows(base, live);
          // a run written since the catch-up is taken again, as it is now (a few tries)
          if (docs.size < live.length) stale = true;
          for (const doc of docs.values()) found.push(doc.run);
        }
        return found
          .filter((run) => run[role].some((ref) => ref.digest === digest))
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      };
      const producedBy = await pick(
        this.cache.heldRefs(digest, 'outputs'),
        refs?.produced.get(digest),
        'outputs',
      );
      const consumedBy = await pick(
        this.cache.heldRefs(digest, 'inputs'),
        refs?.consumed.get(digest),
        'inputs',
      );
      if (stale && attempt < 3) continue;
      return { producedBy, consumedBy };
    }
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

  /** Reads the journal head; remembers it as the newest. */
  private async readLatest(): Promise<JournalHead> {
    this.headCheckedAt = this.clock.now();
    const head = await readHead(this.metadata);
    this.latest = head;
    return head;
  }

  private async refresh(): Promise<void> {
    const head = await this.readLatest();
    if (!this.started) {
      this.started = true;
      await this.restart(head);
    } else if (head.log !== this.head.log) {
      await this.follow(head);
    } else {
      this.head = head;
    }
    const now = this.clock.now();
    let read = 0;
    let journalReadable = await this.readLogs(now);
    if (!journalReadable) {
      // keel.doctor() may have started a new journal since
      const again = await this.readLatest();
      if (again.log !== this.head.log) {
        await this.follow(again);
        journalReadable = await this.readLogs(now);
      }
    }
    if (journalReadable && this.journalBroken && !this.appendBroken) {
      // the journal was repaired (keel.doctor()): follow it again
      this.journalBroken = false;
      this.corrupt.forget(isJournal);
    }
    const pending = this.cache.pending;
    if (
      this.relist ||
      this.journalBroken ||
      this.appendBroken ||
      (pending.size > LIST_THRESHOLD && pending.size * 2 > this.cache.count())
    ) {
      // many unknown runs (a first search): one listing reads them faster than one get each;
      // with a broken journal, only a listing finds the runs written past the damage
      this.relist = false;
      read += await this.listRuns();
    }
    const ids = [...pending.keys()];
    read += ids.length;
    await forEachLimited(ids, READ_CONCURRENCY, async (runId) => {
      const key = trackingKeys.run(runId);
      const stored = await this.readChecked(key);
      if (stored === undefined) this.corrupt.forgetKey(key);
      else if (stored !== CORRUPT) this.rememberChecked(key, stored.value);
      const entry = pending.get(runId);
      if (entry !== undefined && now - entry.since > PENDING_GIVE_UP_MS) pending.delete(runId);
    });
    // the next process should not have to read all that again
    if (
      this.snapshotEvery > 0 &&
      this.explicit === 0 &&
      this.compaction === undefined &&
      this.tail === undefined &&
      !this.journalBroken &&
      !this.appendBroken &&
      ((read > LIST_THRESHOLD && this.cache.base === undefined) ||
        this.at.offset >= this.threshold())
    ) {
      this.compactNow().catch(() => {});
    }
    this.refreshed = true;
  }

  /** Follows a new head: reads the rest of the log before it first when that is the one followed. */
  private async follow(head: JournalHead): Promise<void> {
    if (this.tail === undefined && head.previous?.log === this.at.log && !this.journalBroken) {
      this.tail = this.at;
      this.checkAfterTail = true;
      this.head = head;
      this.at = { log: head.log, offset: 0 };
      return;
    }
    await this.restart(head);
  }

  /**
   * Starts following `head` afresh, keeping what is known: from its snapshot when it names a
   * loadable one, else by listing every run (unless it is the first journal, which names
   * them all).
   */
  private async restart(head: JournalHead): Promise<void> {
    this.head = head;
    this.at = { log: head.log, offset: 0 };
    this.tail =
      head.previous === undefined
        ? undefined
        : { log: head.previous.log, offset: head.previous.from };
    this.checkAfterTail = this.tail !== undefined;
    this.journalBroken = false;
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

  /**
   * The documents of snapshot rows, by row, when they are still at the snapshot's sequence
   * number; a newer one is remembered instead (and the row left out).
   */
  private async fetchRows(
    base: SearchBase,
    rows: readonly number[],
  ): Promise<Map<number, RunDocument>> {
    const docs = new Map<number, RunDocument>();
    await forEachLimited(rows, READ_CONCURRENCY, async (row) => {
      let doc = this.cache.fetchedRow(base, row);
      if (doc === undefined) {
        const key = trackingKeys.run(base.idAt(row));
        const stored = await this.readChecked(key);
        if (stored === undefined || stored === CORRUPT) return;
        try {
          doc = runFromJson(key, stored.value);
        } catch (error) {
          if (!isKeelError(error, ErrorCodes.integrity)) throw error;
          this.reportCorrupt({ key, reason: error.message });
          return;
        }
      }
      if (doc.seq !== base.seqs[row]) {
        this.remember(doc);
        return;
      }
      this.cache.keepFetched(doc);
      docs.set(row, doc);
    });
    return docs;
  }

  /** Reads the rest of the log before the followed one (once), then the followed one. */
  private async readLogs(now: number): Promise<boolean> {
    if (this.tail !== undefined) {
      if (!(await this.readLog(this.tail, now))) return false;
      this.tail = undefined;
      if (this.checkAfterTail) {
        this.checkAfterTail = false;
        // a compaction since may have removed that log while it was read: start over then
        const head = await this.readLatest();
        if (head.log !== this.head.log) {
          await this.restart(head);
          return this.readLogs(now);
        }
      }
    }
    return this.readLog(this.at, now);
  }

  /** Follows one log from `position` (advanced); on a corrupt record, reports it and returns false. */
  private async readLog(position: LogPosition, now: number): Promise<boolean> {
    try {
      for await (const { offset, entry } of this.metadata.read(position.log, {
        from: position.offset,
      })) {
        position.offset = offset + 1;
        if (!Array.isArray(entry)) continue;
        const [runId, seq] = entry;
        if (typeof runId !== 'string' || typeof seq !== 'number') continue;
        this.cache.announce(runId, seq, now);
      }
      return true;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.journalBroken = true;
      const offset = error.details?.offset;
      this.reportCorrupt({
        key: position.log,
        offset: typeof offset === 'number' ? offset : position.offset,
        reason: error.message,
      });
      return false;
    }
  }

  /** The journal entries after which a process compacts (see the constructor). */
  private threshold(): number {
    return Math.max(this.snapshotEvery, this.cache.count() >> COMPACT_SHIFT);
  }

  /** Compacts from what is known now (one consistent state: nothing awaits while it is taken). */
  private async compactNow(): Promise<boolean> {
    if (this.compaction !== undefined || this.tail !== undefined) return false;
    const run = async (): Promise<boolean> => {
      const next = await compactJournal(
        this.metadata,
        {
          head: this.head,
          from: this.at.offset,
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

  /** Reads every run document (the damaged ones reported). Returns how many were read. */
  private listRuns(): Promise<number> {
    // a listing sees every document: the damaged ones it does not meet again are gone
    this.corrupt.forget((key) => key.startsWith(trackingKeys.runsPrefix));
    return listRunDocuments(
      this.metadata,
      (key, value) => this.rememberChecked(key, value),
      (record) => this.reportCorrupt(record),
    );
  }

  /** The stored document, or {@link CORRUPT} (reported) when the store finds it corrupt. */
  private async readChecked(key: string): Promise<Versioned | undefined | typeof CORRUPT> {
    try {
      return await this.metadata.get(key);
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.reportCorrupt({ key, reason: error.message });
      return CORRUPT;
    }
  }

  /** Remembers a stored run document, or reports it when it is not a valid one. */
  private rememberChecked(key: string, value: JsonValue): void {
    let doc: RunDocument;
    try {
      doc = runFromJson(key, value);
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.reportCorrupt({ key, reason: error.message });
      return;
    }
    this.remember(doc);
  }
}

function isJournal(key: string): boolean {
  return key === trackingKeys.journal || key.startsWith(JOURNALS_PREFIX);
}

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
 *
 * The first search of a process would have to read every run document. So, now and then,
 * the cache is stored whole as one document (`tracking/search-snapshot`): the journal offset
 * it is complete up to, the journal entry just before that offset, the runs and the pending
 * entries. A new process starts from it when the journal still holds that same entry at that
 * place (else it ignores it), and then follows the journal from there as usual: the snapshot
 * can be old, never wrong, because the journal stays the source of truth.
 *
 * One bad record does not take search down: a run document that cannot be read or parsed is
 * skipped and reported (`corrupt`, and once through `onCorrupt`); a journal that cannot be
 * read past some point is reported and, while it stays so, every refresh lists the run
 * documents instead (slower, still complete). `keel.doctor()` repairs both: it cannot mend
 * a log in place, so it starts a new journal generation, named by the `tracking/journal-head`
 * document, with one entry per run. A process re-reads that document when its journal fails
 * and at most once per {@link HEAD_CHECK_MS} otherwise, and then follows the new journal.
 */
import type { Clock } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ErrorCodes, isKeelError } from '../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../core/json.js';
import type { MetadataStore, Versioned } from '../metadata/types.js';
import { type RunDocument, runFromJson, runToJson, trackingKeys } from './records.js';
import type { CorruptRecord, Run } from './types.js';

/** How long a journal entry whose document never arrives is re-checked. */
export const PENDING_GIVE_UP_MS: number = 10 * 60_000;

/** With more unknown runs than this, a refresh lists every run document instead of reading each. */
const LIST_THRESHOLD = 256;

/** Run documents reads run concurrently, at most this many at once. */
const READ_CONCURRENCY = 32;

/** How often a process looks whether `keel.doctor()` started a new journal generation. */
export const HEAD_CHECK_MS = 1000;

/** The document naming the journal log in use, once `keel.doctor()` replaced the first one. */
export const JOURNAL_HEAD_KEY = 'tracking/journal-head';

/** The `format` of the journal head document. */
export const JOURNAL_HEAD_FORMAT = 'keel.journal-head/1';

/** The log of journal generation `generation` (0 is the original `tracking/journal`). */
export function journalLog(generation: number): string {
  return generation === 0 ? trackingKeys.journal : `tracking/journals/${generation}`;
}

/** The journal generation a stored head document names (0 when absent or not a head). */
export function journalGeneration(value: JsonValue | undefined): number {
  const doc = value as { format?: unknown; generation?: unknown } | null | undefined;
  return doc?.format === JOURNAL_HEAD_FORMAT &&
    typeof doc.generation === 'number' &&
    Number.isSafeInteger(doc.generation) &&
    doc.generation > 0
    ? doc.generation
    : 0;
}

/** What {@link RunIndex} reads of a document the store finds corrupt. */
const CORRUPT: unique symbol = Symbol('corrupt');

/** The `format` of a stored search snapshot. */
export const SEARCH_SNAPSHOT_FORMAT = 'keel.search-snapshot/1';

/** A cache of run documents that follows the journal. */
export class RunIndex {
  private offset = 0;
  /** The journal entry at `offset - 1`, which a snapshot names to be recognized. */
  private lastEntry: JsonValue | undefined;
  private snapshotTried = false;
  /** The journal offset of the last snapshot this process wrote or loaded. */
  private snapshotOffset = 0;
  private writesSinceSnapshot = 0;
  private snapshotting = false;
  private readonly runs = new Map<string, RunDocument>();
  private readonly pending = new Map<string, { seq: number; since: number }>();
  // digest -> ids of the runs whose documents list it (refs are only ever added to a run)
  private readonly produced = new Map<string, Set<string>>();
  private readonly consumed = new Map<string, Set<string>>();
  private refreshing: Promise<void> = Promise.resolve();
  /** Records skipped because they are corrupt, by {@link corruptId}; cleared once readable again. */
  private readonly corrupt = new Map<string, CorruptRecord>();
  /** Every corrupt record already told to `onCorrupt`: each is told once. */
  private readonly told = new Set<string>();
  /** Whether the last journal read stopped at a corrupt record. */
  private journalBroken = false;
  /** Whether this process's last journal append failed on a corrupt record. */
  private appendBroken = false;
  /** The journal generation followed, and when the head document was last read. */
  private generation = 0;
  private headCheckedAt = Number.NEGATIVE_INFINITY;
  /** Set when a new journal generation was found: the next refresh lists every run document. */
  private relist = false;

  /**
   * `snapshotEvery`: store a snapshot after at least this many journal entries (and at least
   * a quarter as many as there are runs, so that the cost per write stays constant); 0 never.
   */
  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    private readonly snapshotEvery = 0,
    private readonly onCorrupt: (record: CorruptRecord) => void = () => {},
  ) {}

  /**
   * Records a corrupt record met by a read of this process (or a write: a journal that
   * cannot be appended to) and tells `onCorrupt` the first time it is seen.
   */
  reportCorrupt(record: CorruptRecord): void {
    const id = corruptId(record);
    this.corrupt.set(id, record);
    if (this.told.has(id)) return;
    this.told.add(id);
    this.onCorrupt(record);
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
    return Array.from(this.corrupt.values(), (record) => ({ ...record }));
  }

  /**
   * Counts a run-document write of this process; after enough of them, the cache catches up
   * with the journal and stores a snapshot, in the background (a failure only costs speed).
   */
  noteWrite(): void {
    if (this.snapshotEvery === 0) return;
    this.writesSinceSnapshot++;
    if (this.snapshotting || this.writesSinceSnapshot < this.threshold()) return;
    this.writesSinceSnapshot = 0;
    this.catchUp()
      .then(() => this.saveSnapshot())
      .catch(() => {});
  }

  /** Records a document version this process read or wrote (older versions are ignored). */
  remember(doc: RunDocument): void {
    if (this.corrupt.size > 0) this.corrupt.delete(trackingKeys.run(doc.run.id));
    const current = this.runs.get(doc.run.id);
    if (current === undefined || current.seq < doc.seq) {
      this.runs.set(doc.run.id, doc);
      for (const ref of doc.run.outputs) addTo(this.produced, ref.digest, doc.run.id);
      for (const ref of doc.run.inputs) addTo(this.consumed, ref.digest, doc.run.id);
    }
    const pending = this.pending.get(doc.run.id);
    if (pending !== undefined && doc.seq >= pending.seq) this.pending.delete(doc.run.id);
  }

  /**
   * The journal log to follow and append to. Reads the head document when `force` or when
   * it was last read {@link HEAD_CHECK_MS} ago; a newer generation is followed from its start.
   * Returns whether the generation changed.
   */
  async checkJournal(force = false): Promise<boolean> {
    const now = this.clock.now();
    if (!force && now - this.headCheckedAt < HEAD_CHECK_MS) return false;
    this.headCheckedAt = now;
    const stored = await this.metadata.get(JOURNAL_HEAD_KEY).catch((error: unknown) => {
      if (isKeelError(error, ErrorCodes.integrity)) return undefined;
      throw error;
    });
    const generation = journalGeneration(stored?.value);
    if (generation <= this.generation) return false;
    this.generation = generation;
    // the new journal names every run again: known runs are skipped by their sequence number
    this.offset = 0;
    this.lastEntry = undefined;
    this.snapshotOffset = 0;
    this.journalBroken = false;
    this.appendBroken = false;
    // runs may have been quarantined: the next refresh lists what is there now
    this.relist = true;
    for (const [id, record] of this.corrupt) if (isJournal(record.key)) this.corrupt.delete(id);
    return true;
  }

  /** The journal log this process follows. */
  journal(): string {
    return journalLog(this.generation);
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
    await this.checkJournal();
    if (!this.snapshotTried && this.offset === 0 && this.snapshotEvery > 0) {
      this.snapshotTried = true;
      await this.loadSnapshot().catch(() => {});
    }
    const now = this.clock.now();
    let read = 0;
    let journalReadable = await this.readJournal(now);
    if (!journalReadable && (await this.checkJournal(true)))
      journalReadable = await this.readJournal(now);
    if (journalReadable && this.journalBroken && !this.appendBroken) {
      // the journal was repaired (keel.doctor()): follow it again
      this.journalBroken = false;
      for (const [id, record] of this.corrupt) if (isJournal(record.key)) this.corrupt.delete(id);
    }
    if (
      this.relist ||
      this.journalBroken ||
      this.appendBroken ||
      (this.pending.size > LIST_THRESHOLD && this.pending.size * 2 > this.runs.size)
    ) {
      // many unknown runs (a first search): one listing reads them faster than one get each;
      // with a broken journal, only a listing finds the runs written past the damage
      this.relist = false;
      read += await this.listRuns();
    }
    const ids = [...this.pending.keys()];
    read += ids.length;
    await forEachLimited(ids, READ_CONCURRENCY, async (runId) => {
      const key = trackingKeys.run(runId);
      const stored = await this.readChecked(key);
      if (stored === undefined) this.corrupt.delete(key);
      else if (stored !== CORRUPT) this.rememberChecked(key, stored.value);
      const pending = this.pending.get(runId);
      if (pending !== undefined && now - pending.since > PENDING_GIVE_UP_MS)
        this.pending.delete(runId);
    });
    // the next process should not have to read all that again
    if (
      this.snapshotEvery > 0 &&
      !this.snapshotting &&
      (read > LIST_THRESHOLD || this.offset - this.snapshotOffset >= this.threshold())
    ) {
      this.saveSnapshot().catch(() => {});
    }
  }

  /** Follows the journal; on a corrupt record, reports it and returns false. */
  private async readJournal(now: number): Promise<boolean> {
    const log = this.journal();
    try {
      for await (const { offset, entry } of this.metadata.read(log, { from: this.offset })) {
        this.offset = offset + 1;
        this.lastEntry = entry;
        if (!Array.isArray(entry)) continue;
        const [runId, seq] = entry;
        if (typeof runId !== 'string' || typeof seq !== 'number') continue;
        if ((this.runs.get(runId)?.seq ?? -1) >= seq) continue;
        const pending = this.pending.get(runId);
        if (pending === undefined || pending.seq < seq)
          this.pending.set(runId, { seq, since: pending?.since ?? now });
      }
      return true;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      this.journalBroken = true;
      const offset = error.details?.offset;
      this.reportCorrupt({
        key: log,
        offset: typeof offset === 'number' ? offset : this.offset,
        reason: error.message,
      });
      return false;
    }
  }

  /**
   * Reads every run document, skipping (and reporting) the corrupt ones: a listing that
   * throws on a document resumes after its key. Returns how many documents were read.
   */
  private async listRuns(): Promise<number> {
    let read = 0;
    let after: string | undefined;
    // a listing sees every document: the damaged ones it does not meet again are gone
    for (const [id, record] of this.corrupt)
      if (record.key.startsWith(trackingKeys.runsPrefix)) this.corrupt.delete(id);
    for (;;) {
      try {
        const opts = after === undefined ? undefined : { after };
        for await (const { key, value } of this.metadata.list(trackingKeys.runsPrefix, opts)) {
          after = key;
          this.rememberChecked(key, value);
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
        this.reportCorrupt({
          key: resumable ? key : trackingKeys.runsPrefix,
          reason: error.message,
        });
        // a store that does not say which document failed cannot be listed past it: the
        // runs the journal names are still read one by one
        if (!resumable) return read;
        after = key;
      }
    }
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

  private threshold(): number {
    // a snapshot costs in proportion to the runs: at most every runs/4 writes keeps it a
    // small constant per write, and the journal a new process must catch up on short
    return Math.max(this.snapshotEvery, this.runs.size >> 2);
  }

  /** Stores the cache as it is now (one consistent state: nothing awaits while it is taken). */
  private async saveSnapshot(): Promise<void> {
    if (this.snapshotting || this.offset === 0 || this.offset === this.snapshotOffset) return;
    this.snapshotting = true;
    try {
      const offset = this.offset;
      const value: JsonValue = {
        format: SEARCH_SNAPSHOT_FORMAT,
        journal: this.journal(),
        offset,
        check: this.lastEntry ?? null,
        pending: Array.from(this.pending, ([id, { seq, since }]) => [id, seq, since]),
        // one string: far cheaper for a store to parse safely than 10 000 nested objects
        runs: JSON.stringify(Array.from(this.runs.values(), runToJson)),
      };
      await this.metadata.put(trackingKeys.searchSnapshot, value);
      this.snapshotOffset = Math.max(this.snapshotOffset, offset);
      this.writesSinceSnapshot = 0;
    } finally {
      this.snapshotting = false;
    }
  }

  /** Starts from the stored snapshot when the journal confirms it; otherwise leaves all as is. */
  private async loadSnapshot(): Promise<void> {
    const stored = await this.metadata.get(trackingKeys.searchSnapshot);
    const snapshot = stored === undefined ? undefined : snapshotOf(stored.value);
    if (snapshot === undefined) return;
    let confirmed = false;
    // a snapshot taken on another journal generation says nothing about this one
    if ((snapshot.journal ?? trackingKeys.journal) !== this.journal()) return;
    for await (const { offset, entry } of this.metadata.read(this.journal(), {
      from: snapshot.offset - 1,
    })) {
      confirmed =
        offset === snapshot.offset - 1 && JSON.stringify(entry) === JSON.stringify(snapshot.check);
      break;
    }
    if (!confirmed || this.offset !== 0) return;
    const docs: RunDocument[] = [];
    const list = snapshot.runs.includes('"__proto__"')
      ? parseJsonSafe(snapshot.runs)
      : (JSON.parse(snapshot.runs) as JsonValue);
    if (!Array.isArray(list)) return;
    for (const item of list) {
      const id = (item as { id?: unknown } | null)?.id;
      docs.push(runFromJson(trackingKeys.run(typeof id === 'string' ? id : '?'), item));
    }
    for (const doc of docs) this.remember(doc);
    for (const [runId, seq, since] of snapshot.pending) {
      if ((this.runs.get(runId)?.seq ?? -1) >= seq) continue;
      const known = this.pending.get(runId);
      if (known === undefined || known.seq < seq) this.pending.set(runId, { seq, since });
    }
    this.offset = snapshot.offset;
    this.lastEntry = snapshot.check;
    this.snapshotOffset = snapshot.offset;
  }
}

function isJournal(key: string): boolean {
  return key === trackingKeys.journal || key.startsWith('tracking/journals/');
}

/** Identifies a corrupt record: one per document, one per log offset. */
function corruptId(record: CorruptRecord): string {
  return record.offset === undefined ? record.key : `${record.key}@${record.offset}`;
}

interface Snapshot {
  journal?: string;
  offset: number;
  check: JsonValue;
  pending: [string, number, number][];
  runs: string;
}

function snapshotOf(value: JsonValue): Snapshot | undefined {
  const doc = value as Partial<Record<keyof Snapshot | 'format', unknown>> | null;
  if (
    doc === null ||
    typeof doc !== 'object' ||
    doc.format !== SEARCH_SNAPSHOT_FORMAT ||
    typeof doc.offset !== 'number' ||
    !Number.isSafeInteger(doc.offset) ||
    doc.offset < 1 ||
    doc.check === undefined ||
    (doc.journal !== undefined && typeof doc.journal !== 'string') ||
    typeof doc.runs !== 'string' ||
    !Array.isArray(doc.pending) ||
    !doc.pending.every(
      (p: unknown) =>
        Array.isArray(p) &&
        typeof p[0] === 'string' &&
        typeof p[1] === 'number' &&
        typeof p[2] === 'number',
    )
  ) {
    return undefined;
  }
  return doc as Snapshot;
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

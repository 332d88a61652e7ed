/**
 * @module
 * What one process knows of the runs (the state behind its search cache): the rows of the
 * search snapshot it started from, the run documents it read or wrote since (held whole, they
 * supersede their rows), and the journal entries whose document it has not seen yet. For each
 * run the higher sequence number wins, so a snapshot can be adopted at any time.
 */
import type { RunDocument } from './records.js';
import type { PendingEntry, SearchBase, SnapshotRow } from './search-snapshot.js';
import type { Run } from './types.js';

/** Documents of snapshot rows kept after a search read them (the runs of recent pages). */
const FETCHED_CACHE = 1024;

/** The runs one process knows. */
export class RunCache {
  private current: SearchBase | undefined;
  /** Run documents read or written since the snapshot, newer than its rows. */
  private readonly runs = new Map<string, RunDocument>();
  /** Journal entries whose document has not been seen at their sequence number yet. */
  readonly pending: Map<string, { seq: number; since: number }> = new Map();
  /** Documents of snapshot rows read for result pages, at the snapshot's sequence number. */
  private readonly fetched = new Map<string, RunDocument>();
  // digest -> ids of the held runs whose documents list it (refs are only ever added to a run)
  private readonly produced = new Map<string, Set<string>>();
  private readonly consumed = new Map<string, Set<string>>();

  /** The snapshot started from, if any. */
  get base(): SearchBase | undefined {
    return this.current;
  }

  /** Records a document version (older than what is known: ignored). */
  remember(doc: RunDocument): void {
    const id = doc.run.id;
    const base = this.current;
    const row = base?.rowOf(id) ?? -1;
    if (row < 0 || doc.seq >= base!.seqs[row]!) {
      const held = this.runs.get(id);
      if (held === undefined || held.seq < doc.seq) {
        this.runs.set(id, doc);
        if (row >= 0) base!.superseded[row] = 1;
        for (const ref of doc.run.outputs) addTo(this.produced, ref.digest, id);
        for (const ref of doc.run.inputs) addTo(this.consumed, ref.digest, id);
      }
    }
    const pending = this.pending.get(id);
    if (pending !== undefined && doc.seq >= pending.seq) this.pending.delete(id);
  }

  /** Notes a journal entry: the run is pending until its document reaches `seq`. */
  announce(runId: string, seq: number, now: number): void {
    if (this.knownSeq(runId) >= seq) return;
    const pending = this.pending.get(runId);
    if (pending === undefined || pending.seq < seq)
      this.pending.set(runId, { seq, since: pending?.since ?? now });
  }

  /** The newest sequence number known of run `runId` (-1 when unknown). */
  knownSeq(runId: string): number {
    const own = this.runs.get(runId)?.seq ?? -1;
    const row = this.current?.rowOf(runId) ?? -1;
    return row < 0 ? own : Math.max(own, this.current!.seqs[row]!);
  }

  /** Whether run `runId` is known. */
  has(runId: string): boolean {
    return this.runs.has(runId) || (this.current?.rowOf(runId) ?? -1) >= 0;
  }

  /** About how many runs are known. */
  count(): number {
    return this.runs.size + (this.current?.count ?? 0);
  }

  /** The runs held whole, in the order they were met. */
  heldRuns(): Run[] {
    return Array.from(this.runs.values(), (doc) => doc.run);
  }

  /** The held run `runId`. */
  held(runId: string): Run | undefined {
    return this.runs.get(runId)?.run;
  }

  /** The ids of held runs whose documents list `digest` (as output or input). */
  heldRefs(digest: string, role: 'outputs' | 'inputs'): Set<string> | undefined {
    return (role === 'outputs' ? this.produced : this.consumed).get(digest);
  }

  /**
   * Starts from snapshot `base`: documents held that it has too (or newer) are dropped, the
   * others supersede their rows.
   */
  adopt(base: SearchBase): void {
    this.current = base;
    this.fetched.clear();
    for (const [id, doc] of this.runs) {
      const row = base.rowOf(id);
      if (row < 0) continue;
      if (doc.seq > base.seqs[row]!) base.superseded[row] = 1;
      else this.runs.delete(id);
    }
    for (const [id, seq, since] of base.pending) {
      if (this.knownSeq(id) >= seq) continue;
      const known = this.pending.get(id);
      if (known === undefined || known.seq < seq) this.pending.set(id, { seq, since });
    }
    for (const [id, { seq }] of this.pending) if (this.knownSeq(id) >= seq) this.pending.delete(id);
  }

  /** Forgets the snapshot (its runs must then be listed again). */
  dropBase(): void {
    this.current = undefined;
    this.fetched.clear();
  }

  /** A document of snapshot row `row` read earlier, when still at the row's sequence number. */
  fetchedRow(base: SearchBase, row: number): RunDocument | undefined {
    const doc = this.fetched.get(base.idAt(row));
    return doc?.seq === base.seqs[row] ? doc : undefined;
  }

  /** Keeps a document read for a page (the most recent {@link FETCHED_CACHE}). */
  keepFetched(doc: RunDocument): void {
    this.fetched.delete(doc.run.id);
    this.fetched.set(doc.run.id, doc);
    if (this.fetched.size > FETCHED_CACHE) this.fetched.delete(this.fetched.keys().next().value!);
  }

  /** The pending entries, as a snapshot stores them. */
  pendingEntries(): PendingEntry[] {
    return Array.from(this.pending, ([id, { seq, since }]) => [id, seq, since]);
  }

  /** Every run known, sorted by id: the snapshot's rows not superseded and the documents held. */
  snapshotRows(): SnapshotRow[] {
    const own = [...this.runs.values()].sort((a, b) => (a.run.id < b.run.id ? -1 : 1));
    const base = this.current;
    const count = base?.count ?? 0;
    const rows: SnapshotRow[] = [];
    let row = 0;
    const takeBaseUntil = (id: string | undefined): void => {
      for (; row < count; row++) {
        const baseId = base!.idAt(row);
        if (id !== undefined && baseId >= id) return;
        if (base!.superseded[row] === 0) rows.push({ id: baseId, seq: base!.seqs[row]!, row });
      }
    };
    for (const doc of own) {
      takeBaseUntil(doc.run.id);
      if (row < count && base!.idAt(row) === doc.run.id) row++;
      rows.push({ id: doc.run.id, seq: doc.seq, run: doc.run });
    }
    takeBaseUntil(undefined);
    return rows;
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

/**
 * @module
 * The calibrated monitor's window: the hot path copies a row's values into per-column rings
 * (a few nanoseconds per column), and `advance` later bins the new rows against the
 * reference's bins and updates the window's counts incrementally (adding the new rows,
 * subtracting the evicted ones), in slices that a scheduler can spread over ticks.
 */
import type { ColumnModel } from './columns.js';

const NONE = 255;
const MISSING = 254;
/** Every this many rows, the two ways of reading a row are timed on a few rows. */
const SAMPLE_EVERY = 16_384;
const SAMPLE_ROWS = 32;

/** Rows that did not fit the reference, since the monitor started. */
export interface Mismatches {
  /** Rows that were not objects, or had a reference column absent or of the wrong type. */
  rows: number;
  /** Per column: values absent or of the wrong type (numbers vs labels). */
  columns: Float64Array;
}

/** A sliding window of binned rows with running counts per column. */
export class BinnedWindow {
  /** The monitored columns, in window order. */
  readonly columns: readonly ColumnModel[];
  /** Rows in the window. */
  readonly size: number;
  /** Rows recorded so far (the hot path's counter). */
  recorded = 0;
  /** Rows binned into the counts so far. */
  processed = 0;
  /** Inputs that did not fit the reference columns. */
  readonly mismatched: Mismatches;
  /** Per column, per bin: window rows in the bin. */
  readonly counts: Float64Array[];
  /** Per column: window rows with the value missing (or mismatched). */
  readonly missing: Float64Array;

  readonly #numeric: (Float64Array | undefined)[];
  readonly #labels: (unknown[] | undefined)[];
  readonly #bins: Uint8Array[];
  readonly #index: Map<string, number>;
  /** The key order of the last rows seen, and each key's column (-1: not a reference column). */
  #keys: string[] = [];
  #keyColumns: number[] = [];
  readonly #seen: Float64Array;
  readonly #names: string[];
  readonly #grids: (BinGrid | undefined)[];
  #byKeys = true;
  #random = 0x9e3779b9 | 0;
  #timeCurrent = 0;
  #timeOther = 0;

  /** @param columns the monitored columns; @param size rows in the window (>= 1). */
  constructor(columns: readonly ColumnModel[], size: number) {
    this.columns = columns;
    this.size = size;
    const k = columns.length;
    this.mismatched = { rows: 0, columns: new Float64Array(k) };
    this.counts = columns.map((c) => new Float64Array(c.a.length));
    this.missing = new Float64Array(k);
    this.#numeric = columns.map((c) =>
      c.type === 'numerical' ? new Float64Array(size) : undefined,
    );
    this.#labels = columns.map((c) =>
      c.type === 'categorical' ? new Array<unknown>(size).fill(undefined) : undefined,
    );
    this.#bins = columns.map(() => new Uint8Array(size).fill(NONE));
    this.#index = new Map(columns.map((c, j) => [c.name, j]));
    this.#seen = new Float64Array(k).fill(-1);
    this.#names = columns.map((c) => c.name);
    this.#grids = columns.map((c) => (c.edges ? binGrid(c.edges) : undefined));
  }

  /** Rows in the counts: min(processed, size). */
  get rows(): number {
    return Math.min(this.processed, this.size);
  }

  /** Rows recorded but not binned yet (at most `size` of them still matter). */
  get pending(): number {
    return this.recorded - this.processed;
  }

  /**
   * The hot path: copies the row's reference columns into the rings. Values of the wrong type
   * are counted and kept as missing. Never throws for a row of any shape.
   */
  record(input: unknown): void {
    const r = this.recorded;
    const slot = r % this.size;
    this.recorded = r + 1;
    const k = this.columns.length;
    if (typeof input !== 'object' || input === null) {
      this.mismatched.rows++;
      for (let j = 0; j < k; j++) this.#store(j, slot, undefined);
      return;
    }
    const row = input as Record<string, unknown>;
    // Which way of reading is faster depends on how V8 stores the row (see #read*): every
    // SAMPLE_EVERY rows, a few rows are timed each way and the faster one is kept.
    const phase = r % SAMPLE_EVERY;
    let bad: boolean;
    if (phase < 2 * SAMPLE_ROWS && k >= 8) {
      const byKeys = phase < SAMPLE_ROWS ? this.#byKeys : !this.#byKeys;
      const start = performance.now();
      bad = byKeys ? this.#readByKeys(row, r, slot) : this.#readByName(row, slot);
      const took = performance.now() - start;
      if (phase < SAMPLE_ROWS) this.#timeCurrent += took;
      else this.#timeOther += took;
      if (phase === 2 * SAMPLE_ROWS - 1) {
        if (this.#timeOther < 0.8 * this.#timeCurrent) this.#byKeys = !this.#byKeys;
        this.#timeCurrent = 0;
        this.#timeOther = 0;
      }
    } else {
      bad = this.#byKeys ? this.#readByKeys(row, r, slot) : this.#readByName(row, slot);
    }
    if (bad) this.mismatched.rows++;
  }

  /**
   * Reads a row through a for-in over its own keys: for rows V8 keeps in fast mode (object
   * literals, JSON.parse) the values come from the enumeration cache, several times faster than
   * a keyed lookup per column. The key order of the previous rows is remembered, so matching a
   * key to its column is one pointer comparison.
   */
  #readByKeys(row: Record<string, unknown>, r: number, slot: number): boolean {
    const k = this.columns.length;
    const seen = this.#seen;
    let found = 0;
    let bad = false;
    let i = 0;
    for (const key in row) {
      let j: number;
      if (i < this.#keys.length && this.#keys[i] === key) j = this.#keyColumns[i]!;
      else {
        j = this.#index.get(key) ?? -1;
        this.#keys[i] = key;
        this.#keyColumns[i] = j;
      }
      i++;
      if (j < 0) continue;
      seen[j] = r;
      found++;
      const value = row[key];
      if (value === undefined) {
        this.mismatched.columns[j]!++;
        bad = true;
      }
      if (this.#store(j, slot, value)) bad = true;
    }
    if (found < k) {
      // Absent keys, or values behind getters: look those columns up by name.
      for (let j = 0; j < k; j++) {
        if (seen[j] === r) continue;
        if (this.#readOne(row, j, slot)) bad = true;
      }
    }
    return bad;
  }

  /**
   * Reads a row by column name: the faster way for rows in V8's dictionary mode (objects
   * built key by key in a loop), where a for-in has to collect and sort the keys first.
   */
  #readByName(row: Record<string, unknown>, slot: number): boolean {
    let bad = false;
    for (let j = 0; j < this.columns.length; j++) if (this.#readOne(row, j, slot)) bad = true;
    return bad;
  }

  #readOne(row: Record<string, unknown>, j: number, slot: number): boolean {
    const value = row[this.#names[j]!];
    if (value === undefined) {
      this.mismatched.columns[j]!++;
      this.#store(j, slot, value);
      return true;
    }
    return this.#store(j, slot, value);
  }

  /**
   * Bins up to `limit` pending rows into the counts, oldest first, and returns how many rows are
   * still pending. Rows pushed out of the window before they were binned are skipped.
   */
  advance(limit: number): number {
    if (this.recorded - this.processed >= this.size) {
      // Everything counted has left the window: start the counts afresh.
      this.#reset();
      this.processed = this.recorded - this.size;
    }
    const end = Math.min(this.recorded, this.processed + Math.max(1, limit));
    const k = this.columns.length;
    for (let j = 0; j < k; j++) this.#advanceColumn(j, this.processed, end);
    this.processed = end;
    return this.recorded - this.processed;
  }

  /** The rows of the window as columns (oldest first), with missing values as `null`. */
  snapshot(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    const n = Math.min(this.recorded, this.size);
    const start = this.recorded - n;
    this.columns.forEach((c, j) => {
      const column = new Array<unknown>(n);
      const numbers = this.#numeric[j];
      const labels = this.#labels[j];
      for (let i = 0; i < n; i++) {
        const slot = (start + i) % this.size;
        column[i] = numbers ? (Number.isNaN(numbers[slot]!) ? null : numbers[slot]) : labels![slot];
      }
      out[c.name] = column;
    });
    return out;
  }

  /** Stores one value; true when it has the wrong type for the column (counted). */
  #store(j: number, slot: number, value: unknown): boolean {
    const numbers = this.#numeric[j];
    if (numbers !== undefined) {
      if (typeof value === 'number') {
        numbers[slot] = value;
        return false;
      }
      numbers[slot] = Number.NaN;
    } else {
      const labels = this.#labels[j]!;
      if (typeof value === 'string') {
        labels[slot] = value;
        return false;
      }
      if (typeof value === 'boolean') {
        labels[slot] = value ? 'true' : 'false';
        return false;
      }
      labels[slot] = undefined;
    }
    if (value === null || value === undefined) return false;
    this.mismatched.columns[j]!++;
    return true;
  }

  #advanceColumn(j: number, from: number, to: number): void {
    const model = this.columns[j]!;
    const bins = this.#bins[j]!;
    const counts = this.counts[j]!;
    const size = this.size;
    const numbers = this.#numeric[j];
    const grid = this.#grids[j];
    const other = model.a.length - 1;
    let missing = this.missing[j]!;
    let slot = from % size;
    // One specialised loop per kind of column: the hot loop has no branch on the kind.
    if (numbers !== undefined && grid !== undefined) {
      const edges = model.edges!;
      const { low, high, scale, table } = grid;
      const last = edges.length;
      for (let r = from; r < to; r++) {
        const old = bins[slot]!;
        if (old < NONE - 1) counts[old]!--;
        else if (old === MISSING) missing--;
        const x = numbers[slot]!;
        let bin: number;
        if (x - x !== 0) bin = MISSING;
        else if (x > high) bin = last;
        else {
          // The grid gives the first candidate bin; a short scan finishes (usually 0-1 steps).
          bin = x <= low ? 0 : table[((x - low) * scale) | 0]!;
          while (edges[bin]! < x) bin++;
          if (edges[bin] === x) bin = this.#breakTie(model, bin);
        }
        bins[slot] = bin;
        if (bin === MISSING) missing++;
        else counts[bin]!++;
        if (++slot === size) slot = 0;
      }
    } else {
      const labels = this.#labels[j];
      const values = model.values;
      const index = model.index;
      for (let r = from; r < to; r++) {
        const old = bins[slot]!;
        if (old < NONE - 1) counts[old]!--;
        else if (old === MISSING) missing--;
        let bin: number;
        if (numbers !== undefined) {
          const x = numbers[slot]!;
          bin = x - x !== 0 ? MISSING : other;
          for (let b = 0; b < values!.length; b++) if (values![b] === x) bin = b;
        } else {
          const label = labels![slot];
          bin = label === undefined ? MISSING : (index!.get(label as string) ?? other);
        }
        bins[slot] = bin;
        if (bin === MISSING) missing++;
        else counts[bin]!++;
        if (++slot === size) slot = 0;
      }
    }
    this.missing[j] = missing;
  }

  /**
   * The bin of a value equal to edge `i`: a gap drawn uniformly among those around its tie
   * block, then the bin of that gap (random tie-breaking keeps the null law exact).
   */
  #breakTie(model: ColumnModel, i: number): number {
    const { cuts, below, tied } = model.ties!;
    // xorshift32: cheap, and seeded, so that a stream is binned the same way every run.
    let x = this.#random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#random = x;
    const gap = below[i]! + Math.floor(((x >>> 0) / 4294967296) * (tied[i]! + 1));
    let bin = i;
    while (bin < cuts.length && cuts[bin]! <= gap) bin++;
    return bin;
  }

  #reset(): void {
    for (let j = 0; j < this.columns.length; j++) {
      this.#bins[j]!.fill(NONE);
      this.counts[j]!.fill(0);
      this.missing[j] = 0;
    }
  }
}

/** A lookup table from a uniform grid over the edges' range to the first candidate bin. */
interface BinGrid {
  low: number;
  high: number;
  scale: number;
  table: Uint8Array;
}

function binGrid(edges: Float64Array): BinGrid {
  const low = edges[0]!;
  const high = edges[edges.length - 1]!;
  // Enough cells that few hold more than two edges (at most 4096).
  let cells = 64;
  while (cells < 4096 && maxEdgesPerCell(edges, cells) > 2) cells *= 2;
  const scale = high > low ? cells / (high - low) : 0;
  // table[c] = the edges whose cell, computed exactly as a lookup computes it, is before c:
  // the arithmetic is monotone, so all of them are < any value that falls in cell c.
  const table = new Uint8Array(cells + 1);
  for (let i = 0; i < edges.length; i++) {
    const c = ((edges[i]! - low) * scale) | 0;
    for (let d = c + 1; d <= cells; d++) table[d]!++;
  }
  return { low, high, scale, table };
}

function maxEdgesPerCell(edges: Float64Array, cells: number): number {
  const low = edges[0]!;
  const scale = cells / (edges[edges.length - 1]! - low);
  if (!(scale > 0) || !Number.isFinite(scale)) return 0;
  let most = 0;
  let run = 0;
  let cell = -1;
  for (let i = 0; i < edges.length; i++) {
    const c = ((edges[i]! - low) * scale) | 0;
    run = c === cell ? run + 1 : 1;
    cell = c;
    if (run > most) most = run;
  }
  return most;
}

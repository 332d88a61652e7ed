/**
 * @module
 * The calibrated monitor's window: the hot path copies a row's values into rings (one
 * compiled property read per column, see row-reader.ts), and `advance` later bins the new rows against the
 * reference's bins and updates the window's counts incrementally (adding the new rows,
 * subtracting the evicted ones), in slices that a scheduler can spread over ticks.
 */

import { type BinGrid, binGrid, HAS_EDGE } from './bin-grid.js';
import type { ColumnModel } from './columns.js';
import { type RowReader, rowReader } from './row-reader.js';

const NONE = 255;
const MISSING = 254;

/** Rows that did not fit the reference, since the monitor started. */
export interface Mismatches {
  /** Rows that were not objects, or had a reference column absent or of the wrong type. */
  rows: number;
  /** Per column: values absent or of the wrong type (numbers vs labels). */
  columns: Float64Array;
}

/**
 * What a check reads from a window: the binned counts and where they stand in the stream. A
 * {@link BinnedWindow} is one; a monitor group's merged window (group-window.ts) is another.
 */
export interface CountedWindow {
  /** The monitored columns, in window order. */
  readonly columns: readonly ColumnModel[];
  /** Rows the window holds when full. */
  readonly size: number;
  /** Rows recorded so far. */
  readonly recorded: number;
  /** Rows binned into the counts so far (the stream position checks are measured in). */
  readonly processed: number;
  /** Rows in the counts. */
  readonly rows: number;
  /** Per column, per bin: window rows in the bin. */
  readonly counts: readonly Float64Array[];
  /** Per column: window rows with the value missing (or mismatched). */
  readonly missing: Float64Array;
  /** Inputs that did not fit the reference columns. */
  readonly mismatched: Mismatches;
  /** Keeps one input row (the hot path). */
  record(input: unknown): void;
  /** Bins up to `limit` pending rows; returns how many are still pending. */
  advance(limit: number): number;
}

/** A sliding window of binned rows with running counts per column. */
export class BinnedWindow implements CountedWindow {
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

  /** Numeric columns' values, row after row (`size` rows of `#numericWidth` values). */
  readonly #numbers: Float64Array;
  readonly #numericWidth: number;
  /** Label columns' values, row after row (`size` rows of `#labelWidth` values). */
  readonly #labels: unknown[];
  readonly #labelWidth: number;
  /** Per column: its position among the numeric or the label columns. */
  readonly #position: Int32Array;
  readonly #bins: Uint8Array[];
  readonly #grids: (BinGrid | undefined)[];
  readonly #read: RowReader;
  /** The ring slot of the next row. */
  #slot = 0;
  #random = 0x9e3779b9 | 0;

  /**
   * @param columns the monitored columns; @param size rows in the window (>= 1);
   * @param compile read rows with a reader compiled for the columns when the runtime allows
   *   code generation (false: the slower loop, for tests).
   */
  constructor(columns: readonly ColumnModel[], size: number, compile?: boolean) {
    this.columns = columns;
    this.size = size;
    const k = columns.length;
    this.mismatched = { rows: 0, columns: new Float64Array(k) };
    this.counts = columns.map((c) => new Float64Array(c.a.length));
    this.missing = new Float64Array(k);
    this.#position = new Int32Array(k);
    let numeric = 0;
    let labels = 0;
    columns.forEach((c, j) => {
      this.#position[j] = c.type === 'numerical' ? numeric++ : labels++;
    });
    this.#numericWidth = numeric;
    this.#labelWidth = labels;
    this.#numbers = new Float64Array(size * numeric);
    this.#labels = new Array<unknown>(size * labels).fill(undefined);
    this.#bins = columns.map(() => new Uint8Array(size).fill(NONE));
    this.#grids = columns.map((c) => c.grid ?? (c.edges ? binGrid(c.edges) : undefined));
    const readerColumns = columns.map((c) => ({ name: c.name, numeric: c.type === 'numerical' }));
    this.#read =
      compile === undefined ? rowReader(readerColumns) : rowReader(readerColumns, compile);
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
   * are counted and kept as missing. Never throws for a row of any shape (a getter that throws
   * aside).
   */
  record(input: unknown): void {
    const slot = this.#slot;
    this.#slot = slot + 1 === this.size ? 0 : slot + 1;
    this.recorded++;
    const numberAt = slot * this.#numericWidth;
    const labelAt = slot * this.#labelWidth;
    if (typeof input !== 'object' || input === null) {
      this.mismatched.rows++;
      this.#numbers.fill(Number.NaN, numberAt, numberAt + this.#numericWidth);
      this.#labels.fill(undefined, labelAt, labelAt + this.#labelWidth);
      return;
    }
    const row = input as Record<string, unknown>;
    if (this.#read(row, this.#numbers, numberAt, this.#labels, labelAt, this.mismatched.columns)) {
      this.mismatched.rows++;
    }
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
      const p = this.#position[j]!;
      for (let i = 0; i < n; i++) {
        const slot = (start + i) % this.size;
        if (c.type === 'numerical') {
          const x = this.#numbers[slot * this.#numericWidth + p]!;
          column[i] = Number.isNaN(x) ? null : x;
        } else column[i] = this.#labels[slot * this.#labelWidth + p];
      }
      out[c.name] = column;
    });
    return out;
  }

  #advanceColumn(j: number, from: number, to: number): void {
    const model = this.columns[j]!;
    const bins = this.#bins[j]!;
    const counts = this.counts[j]!;
    const size = this.size;
    const grid = this.#grids[j];
    const other = model.a.length - 1;
    const p = this.#position[j]!;
    const numeric = model.type === 'numerical';
    const width = numeric ? this.#numericWidth : this.#labelWidth;
    let missing = this.missing[j]!;
    let slot = from % size;
    let at = slot * width + p;
    // One specialised loop per kind of column: the hot loop has no branch on the kind.
    if (grid !== undefined) {
      const numbers = this.#numbers;
      const edges = model.edges!;
      const { low, high, scale, table } = grid;
      const last = edges.length;
      const { cuts, below, tied } = model.ties!;
      // A local: an imported constant is read from its module cell in the loop.
      const flag = HAS_EDGE;
      let random = this.#random;
      for (let r = from; r < to; r++) {
        const old = bins[slot]!;
        if (old < MISSING) counts[old]!--;
        else if (old === MISSING) missing--;
        const x = numbers[at]!;
        let bin: number;
        if (x - x !== 0) bin = MISSING;
        else if (x > high) bin = last;
        else {
          // The grid cell gives the bin, unless an edge falls in the cell: then it gives the
          // first candidate, and a short scan (at most two edges) finishes.
          const cell = x <= low ? flag : table[((x - low) * scale) | 0]!;
          if (cell < flag) bin = cell;
          else {
            bin = cell - flag;
            while (edges[bin]! < x) bin++;
            if (edges[bin] === x) {
              // A tie: a gap drawn uniformly among those around the tie block, then its bin
              // (random tie-breaking keeps the null law exact). xorshift32: cheap, and seeded,
              // so that a stream is binned the same way every run.
              random ^= random << 13;
              random ^= random >>> 17;
              random ^= random << 5;
              const gap =
                below[bin]! + Math.floor(((random >>> 0) / 4294967296) * (tied[bin]! + 1));
              while (bin < last && cuts[bin]! <= gap) bin++;
            }
          }
        }
        bins[slot] = bin;
        if (bin === MISSING) missing++;
        else counts[bin]!++;
        at += width;
        if (++slot === size) {
          slot = 0;
          at = p;
        }
      }
      this.#random = random;
    } else if (numeric) {
      const numbers = this.#numbers;
      const values = model.values!;
      for (let r = from; r < to; r++) {
        const old = bins[slot]!;
        if (old < MISSING) counts[old]!--;
        else if (old === MISSING) missing--;
        const x = numbers[at]!;
        let bin = x - x !== 0 ? MISSING : other;
        for (let b = 0; b < values.length; b++) if (values[b] === x) bin = b;
        bins[slot] = bin;
        if (bin === MISSING) missing++;
        else counts[bin]!++;
        at += width;
        if (++slot === size) {
          slot = 0;
          at = p;
        }
      }
    } else {
      const labels = this.#labels;
      const index = model.index!;
      for (let r = from; r < to; r++) {
        const old = bins[slot]!;
        if (old < MISSING) counts[old]!--;
        else if (old === MISSING) missing--;
        const label = labels[at];
        const bin = label === undefined ? MISSING : (index.get(label as string) ?? other);
        bins[slot] = bin;
        if (bin === MISSING) missing++;
        else counts[bin]!++;
        at += width;
        if (++slot === size) {
          slot = 0;
          at = p;
        }
      }
    }
    this.missing[j] = missing;
  }

  #reset(): void {
    for (let j = 0; j < this.columns.length; j++) {
      this.#bins[j]!.fill(NONE);
      this.counts[j]!.fill(0);
      this.missing[j] = 0;
    }
  }
}

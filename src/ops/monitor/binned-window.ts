/**
 * @module
 * The calibrated monitor's window: the hot path bins a row's numbers against the reference's
 * bins (value-bins.ts, row-reader.ts), keeps the codes in a ring and counts them in the current
 * block's histogram (labels are kept as they are, and binned by `advance`); `advance` later
 * moves the window's counts forward, a whole block at a time where it can (adding the block's
 * histogram, subtracting the one of the block that left) and row by row elsewhere, in slices
 * that a scheduler can spread over ticks.
 */
import { gcd } from '../../drift/distributions/smirnov2.js';
import type { ColumnModel } from './columns.js';
import { type RowReader, rowReader } from './row-reader.js';
import { ValueBins } from './value-bins.js';
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

/** Options of {@link BinnedWindow}. */
export interface BinnedWindowOptions {
  /**
   * Rows per block: the window moves a block at a time when it is advanced across whole blocks
   * (0 or a size that does not divide the window's: row by row only). See {@link blockRows}.
   */
  block?: number;
  /**
   * Read rows with a reader compiled for the columns when the runtime allows code generation
   * (false: the slower loop, for tests).
   */
  compile?: boolean;
  /** The stream position of the first row recorded (the rows before it were never seen). */
  start?: number;
}

/** Blocks kept at most: the window and as many rows again, in blocks of at least this many. */
const MAX_BLOCKS = 64;
/** Smaller blocks cost more to fold (every bin of every column) than their rows one by one. */
const MIN_BLOCK = 32;

/**
 * Rows per block for a window of `size` rows checked every `checkEvery` rows: their greatest
 * common divisor, so that a check on time finds the window on block boundaries; 0 (row by row)
 * when that is under 32 rows or would need more than 64 blocks.
 *
 * @example
 * ```ts
 * blockRows(1000, 100); // 100
 * ```
 */
export function blockRows(size: number, checkEvery: number): number {
  const block = gcd(size, checkEvery);
  return block >= MIN_BLOCK && (2 * size) / block + 1 <= MAX_BLOCKS ? block : 0;
}

/** A sliding window of binned rows with running counts per column. */
export class BinnedWindow implements CountedWindow {
  /** The monitored columns, in window order. */
  readonly columns: readonly ColumnModel[];
  /** Rows in the window. */
  readonly size: number;
  /** Rows recorded so far (the hot path's counter). */
  recorded = 0;
  /** Rows counted into the window's counts so far. */
  processed = 0;
  /** Inputs that did not fit the reference columns. */
  readonly mismatched: Mismatches;
  /** Per column, per bin: window rows in the bin. */
  readonly counts: Float64Array[];
  /** Per column: window rows with the value missing (or mismatched). */
  readonly missing: Float64Array;

  /** Per column: the window's counts with the missing values' after the bins. */
  readonly #tallies: Float64Array[];
  /** Bin codes of the last `2 size` rows, row after row (a row leaves the counts `size` later). */
  readonly #codes: Uint8Array;
  readonly #ringRows: number;
  /** Label columns' values of the last `2 size` rows, row after row, until they are binned. */
  readonly #labels: unknown[];
  /** Per label column (in label order): its column. */
  readonly #labelColumns: Int32Array;
  /** Per column: where its bins start in a block's histogram. */
  readonly #offsets: Int32Array;
  /** Bins of all columns (a block's histogram). */
  readonly #width: number;
  /** Rows per block (0: no blocks). */
  readonly #block: number;
  /** The blocks' histograms, in a ring (one scratch histogram when there are no blocks). */
  readonly #blocks: Uint32Array;
  readonly #blockCount: number;
  /** Where the current block's histogram starts, and its rows so far. */
  #blockAt = 0;
  #inBlock = 0;
  /** The first row of the counts (later than 0 once they restarted after a long gap). */
  #countedFrom = 0;
  readonly #values: ValueBins;
  readonly #read: RowReader;
  /** The ring slot of the next row. */
  #slot = 0;

  /** @param columns the monitored columns; @param size rows in the window (>= 1). */
  constructor(columns: readonly ColumnModel[], size: number, options: BinnedWindowOptions = {}) {
    this.columns = columns;
    this.size = size;
    const k = columns.length;
    this.mismatched = { rows: 0, columns: new Float64Array(k) };
    this.#values = new ValueBins(columns);
    this.#tallies = columns.map((c) => new Float64Array(c.a.length + 1));
    this.counts = this.#tallies.map((t) => t.subarray(0, t.length - 1));
    this.missing = new Float64Array(k);
    this.#offsets = new Int32Array(k);
    let width = 0;
    columns.forEach((c, j) => {
      this.#offsets[j] = width;
      width += c.a.length + 1;
    });
    this.#width = width;
    this.#ringRows = 2 * size;
    this.#codes = new Uint8Array(this.#ringRows * k);
    this.#labelColumns = Int32Array.from(
      columns.flatMap((c, j) => (c.type === 'numerical' ? [] : [j])),
    );
    this.#labels = new Array<unknown>(this.#ringRows * this.#labelColumns.length).fill(undefined);
    const block = options.block ?? 0;
    this.#block = block > 0 && size % block === 0 ? block : 0;
    this.#blockCount = this.#block > 0 ? (2 * size) / this.#block + 1 : 1;
    this.#blocks = new Uint32Array(this.#blockCount * width);
    const start = options.start ?? 0;
    this.recorded = start;
    this.processed = start;
    this.#countedFrom = start;
    this.#slot = start % this.#ringRows;
    if (this.#block > 0) {
      this.#inBlock = start % this.#block;
      // A block begun before the start is never folded: its first rows were never seen.
      this.#blockAt = (Math.floor(start / this.#block) % this.#blockCount) * width;
    }
    this.#read =
      options.compile === undefined
        ? rowReader(this.#values, this.#offsets)
        : rowReader(this.#values, this.#offsets, options.compile);
  }

  /** Rows in the counts. */
  get rows(): number {
    return Math.min(this.processed - this.#countedFrom, this.size);
  }

  /** Rows recorded but not counted yet (at most `size` of them still matter). */
  get pending(): number {
    return this.recorded - this.processed;
  }

  /**
   * The hot path: bins the row's reference columns into the ring and the current block. Values
   * of the wrong type are counted and kept as missing. Never throws for a row of any shape (a
   * getter that throws aside).
   */
  record(input: unknown): void {
    if (this.#block > 0 && this.#inBlock === this.#block) {
      const at = this.#blockAt + this.#width;
      this.#blockAt = at === this.#blocks.length ? 0 : at;
      this.#blocks.fill(0, this.#blockAt, this.#blockAt + this.#width);
      this.#inBlock = 0;
    }
    this.#inBlock++;
    const slot = this.#slot;
    this.#slot = slot + 1 === this.#ringRows ? 0 : slot + 1;
    this.#values.row = this.recorded++;
    const k = this.columns.length;
    const labelAt = slot * this.#labelColumns.length;
    if (typeof input !== 'object' || input === null) {
      this.mismatched.rows++;
      for (let j = 0; j < k; j++) {
        // Label columns are binned (as missing) when the window moves.
        if (this.columns[j]!.type !== 'numerical') continue;
        const code = this.#values.missing[j]!;
        this.#codes[slot * k + j] = code;
        this.#blocks[this.#blockAt + this.#offsets[j]! + code]!++;
      }
      this.#labels.fill(undefined, labelAt, labelAt + this.#labelColumns.length);
      return;
    }
    const row = input as Record<string, unknown>;
    const read = this.#read(
      row,
      this.#codes,
      slot * k,
      this.#blocks,
      this.#blockAt,
      this.#labels,
      labelAt,
      this.mismatched.columns,
    );
    if (read) this.mismatched.rows++;
  }

  /**
   * Counts up to `limit` pending rows (at least a block's) into the window, oldest first, and
   * returns how many rows are still pending. Rows pushed out of the window before they were
   * counted are skipped.
   */
  advance(limit: number): number {
    const size = this.size;
    if (this.recorded - this.processed >= size) {
      // Everything counted has left the window: start the counts afresh.
      for (const t of this.#tallies) t.fill(0);
      this.processed = this.recorded - size;
      this.#countedFrom = this.processed;
    }
    const block = this.#block;
    // At least a block: folding one costs less than counting its rows.
    const end = Math.min(this.recorded, this.processed + Math.max(1, limit, block));
    if (this.#labelColumns.length > 0) this.#binLabels(end);
    let row = this.processed;
    while (row < end) {
      if (block > 0 && row % block === 0 && row + block <= end && this.#foldBlock(row)) {
        row += block;
        continue;
      }
      const next = block > 0 ? Math.min(end, (Math.floor(row / block) + 1) * block) : end;
      this.#countRows(row, next);
      row = next;
    }
    this.processed = end;
    for (let j = 0; j < this.columns.length; j++) {
      const t = this.#tallies[j]!;
      this.missing[j] = t[t.length - 1]!;
    }
    return this.recorded - this.processed;
  }

  /**
   * Adds the block starting at row `first` to the counts and takes out the block that leaves
   * the window with it; false (nothing done) when only part of that block is in the counts.
   */
  #foldBlock(first: number): boolean {
    const leaving = first - this.size;
    const removes = leaving >= this.#countedFrom;
    if (!removes && leaving + this.#block > this.#countedFrom) return false;
    const width = this.#width;
    const blocks = this.#blocks;
    const at = ((first / this.#block) % this.#blockCount) * width;
    const out = removes ? ((leaving / this.#block) % this.#blockCount) * width : -1;
    for (let j = 0; j < this.columns.length; j++) {
      const t = this.#tallies[j]!;
      const o = this.#offsets[j]!;
      const a = at + o;
      if (removes) {
        const r = out + o;
        for (let b = 0; b < t.length; b++) t[b]! += blocks[a + b]! - blocks[r + b]!;
      } else for (let b = 0; b < t.length; b++) t[b]! += blocks[a + b]!;
    }
    return true;
  }

  /**
   * Bins the label columns of the rows from `processed` (every row before it is binned, or no
   * longer needed) up to `end` into the codes and their blocks' histograms.
   */
  #binLabels(end: number): void {
    const from = this.processed;
    const values = this.#values;
    const k = this.columns.length;
    const width = this.#labelColumns.length;
    const ring = this.#ringRows;
    const block = this.#block;
    const codes = this.#codes;
    const blocks = this.#blocks;
    for (let q = 0; q < width; q++) {
      const j = this.#labelColumns[q]!;
      const missing = values.missing[j]!;
      const offset = this.#offsets[j]!;
      for (let r = from; r < end; r++) {
        const slot = r % ring;
        const label = this.#labels[slot * width + q];
        const code = label === undefined ? missing : values.label(j, label as string);
        codes[slot * k + j] = code;
        if (block > 0) {
          blocks[(Math.floor(r / block) % this.#blockCount) * this.#width + offset + code]!++;
        }
      }
    }
  }

  /** Counts rows [from, to) one by one, taking out the rows that leave the window. */
  #countRows(from: number, to: number): void {
    const k = this.columns.length;
    const codes = this.#codes;
    const ring = this.#ringRows;
    const size = this.size;
    // Rows leave from `size` rows back, once they were counted.
    const leaveFrom = Math.max(from, this.#countedFrom + size);
    for (let j = 0; j < k; j++) {
      const t = this.#tallies[j]!;
      let slot = from % ring;
      for (let r = from; r < to; r++) {
        t[codes[slot * k + j]!]!++;
        if (++slot === ring) slot = 0;
      }
      if (leaveFrom >= to) continue;
      slot = (leaveFrom - size) % ring;
      for (let r = leaveFrom; r < to; r++) {
        t[codes[slot * k + j]!]!--;
        if (++slot === ring) slot = 0;
      }
    }
  }
}

/**
 * @module
 * Bounded ring buffers for live statistics: a numeric ring (latencies) and a columnar window
 * of recent rows (monitor inputs). Memory is fixed at creation; the oldest entries are
 * overwritten.
 */
import { percentileSorted } from '../gates/stats.js';

/** A fixed-capacity ring of numbers. */
export class NumberRing {
  readonly #values: Float64Array;
  #next = 0;
  #size = 0;

  /** @param capacity how many of the most recent values are kept (>= 1). */
  constructor(capacity: number) {
    this.#values = new Float64Array(Math.max(1, Math.floor(capacity)));
  }

  /** Values currently held. */
  get size(): number {
    return this.#size;
  }

  /** The capacity given at creation. */
  get capacity(): number {
    return this.#values.length;
  }

  /** Appends `value`, overwriting the oldest when full. */
  push(value: number): void {
    this.#values[this.#next] = value;
    this.#next = this.#next + 1 === this.#values.length ? 0 : this.#next + 1;
    if (this.#size < this.#values.length) this.#size++;
  }

  /** The held values, oldest first, as a new array. */
  toArray(): Float64Array {
    const n = this.#size;
    const out = new Float64Array(n);
    const start = n < this.#values.length ? 0 : this.#next;
    for (let i = 0; i < n; i++) out[i] = this.#values[(start + i) % this.#values.length]!;
    return out;
  }

  /**
   * The `p`-th percentiles (0..100) of the held values, NumPy's linear method; NaN when
   * empty. One sort for all of them.
   */
  percentiles(ps: readonly number[]): number[] {
    const sorted = this.toArray().sort();
    return ps.map((p) => percentileSorted(sorted, p));
  }

  /** Forgets every value. */
  clear(): void {
    this.#next = 0;
    this.#size = 0;
  }
}

/**
 * The most recent rows, stored per column (one preallocated array per column), so a drift
 * check reads columns without reshaping rows.
 */
export class ColumnWindow {
  readonly #columns: Map<string, unknown[]>;
  readonly #capacity: number;
  #next = 0;
  #size = 0;

  /** @param columns the column names to keep; @param capacity rows kept (>= 1). */
  constructor(columns: readonly string[], capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#columns = new Map(columns.map((c) => [c, new Array<unknown>(this.#capacity)]));
  }

  /** Rows currently held. */
  get size(): number {
    return this.#size;
  }

  /** The column names, in creation order. */
  get columns(): string[] {
    return [...this.#columns.keys()];
  }

  /** Starts a row and returns its slot; fill it with {@link set}. */
  claim(): number {
    const slot = this.#next;
    this.#next = slot + 1 === this.#capacity ? 0 : slot + 1;
    if (this.#size < this.#capacity) this.#size++;
    return slot;
  }

  /** Writes `value` into `column` at `slot` (a slot from {@link claim}). */
  set(column: string, slot: number, value: unknown): void {
    const values = this.#columns.get(column);
    if (values) values[slot] = value;
  }

  /** The held rows as columns (oldest first), as new arrays. */
  snapshot(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    const n = this.#size;
    const start = n < this.#capacity ? 0 : this.#next;
    for (const [name, values] of this.#columns) {
      const column = new Array<unknown>(n);
      for (let i = 0; i < n; i++) column[i] = values[(start + i) % this.#capacity];
      out[name] = column;
    }
    return out;
  }

  /** Forgets every row. */
  clear(): void {
    this.#next = 0;
    this.#size = 0;
    for (const values of this.#columns.values()) values.fill(undefined);
  }
}

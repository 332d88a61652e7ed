/**
 * @module
 * Builds the columns `detectDrift` reads, one value at a time or in blocks, without rows:
 * numbers go into a growing `Float64Array` (missing = NaN); a column that meets a label
 * becomes an array of labels (missing = null).
 */

/** What becomes of the numbers already read when a label turns up in a column. */
export type LabelAfterNumbers =
  /** CSV: every cell is text, so the column is categorical and its numbers become their text. */
  | 'text'
  /** JSON, Parquet, Arrow: the values keep their types and `detectDrift` reports the column as mixed. */
  | 'keep';

/** One column under construction. */
export class ColumnBuilder {
  private numbers: Float64Array = new Float64Array(1024);
  private labels: unknown[] | undefined;
  private size = 0;

  constructor(private readonly afterNumbers: LabelAfterNumbers) {}

  /** How many values the column has. */
  get length(): number {
    return this.size;
  }

  /** Appends a number. */
  number(value: number): void {
    if (this.labels) this.labels.push(this.afterNumbers === 'text' ? String(value) : value);
    else {
      if (this.size === this.numbers.length) this.grow(this.size * 2);
      this.numbers[this.size] = value;
    }
    this.size++;
  }

  /** Appends numbers in a block (a typed array read from a columnar file). */
  numbersFrom(values: ArrayLike<number>): void {
    if (this.labels) {
      for (let i = 0; i < values.length; i++) this.number(values[i]!);
      return;
    }
    if (this.size + values.length > this.numbers.length) {
      this.grow(Math.max(this.numbers.length * 2, this.size + values.length));
    }
    this.numbers.set(values, this.size);
    this.size += values.length;
  }

  /** Appends a label (a string or a boolean). */
  label(value: string | boolean): void {
    if (!this.labels) this.toLabels();
    this.labels!.push(value);
    this.size++;
  }

  /** Appends a missing value. */
  missing(): void {
    if (this.labels) this.labels.push(null);
    else {
      if (this.size === this.numbers.length) this.grow(this.size * 2);
      this.numbers[this.size] = Number.NaN;
    }
    this.size++;
  }

  /**
   * Appends a decoded value of a typed file: a number (a bigint as the nearest double, a date
   * as epoch milliseconds), a label, or missing (null, undefined). False, appending nothing,
   * for any other value.
   */
  value(value: unknown): boolean {
    if (value === null || value === undefined) this.missing();
    else if (typeof value === 'number') this.number(value);
    else if (typeof value === 'bigint') this.number(Number(value));
    else if (typeof value === 'string' || typeof value === 'boolean') this.label(value);
    else if (value instanceof Date) this.number(value.getTime());
    else return false;
    return true;
  }

  /** Appends missing values until the column has `length` values. */
  padTo(length: number): void {
    while (this.size < length) this.missing();
  }

  /** The finished column: a `Float64Array` of exactly its length, or its labels. */
  build(): Float64Array | unknown[] {
    return this.labels ?? this.numbers.subarray(0, this.size);
  }

  private grow(capacity: number): void {
    const next = new Float64Array(capacity);
    next.set(this.numbers.subarray(0, this.size));
    this.numbers = next;
  }

  private toLabels(): void {
    const labels: unknown[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const n = this.numbers[i]!;
      labels[i] = Number.isNaN(n) ? null : this.afterNumbers === 'text' ? String(n) : n;
    }
    this.labels = labels;
    this.numbers = new Float64Array(0);
  }
}

/** Columns by name in first-seen order, all padded to the same length. */
export class ColumnSet {
  private readonly builders = new Map<string, ColumnBuilder>();

  constructor(private readonly afterNumbers: LabelAfterNumbers) {}

  /** The column `name`, created (padded with missing values up to `rows`) when new. */
  column(name: string, rows: number): ColumnBuilder {
    let builder = this.builders.get(name);
    if (!builder) {
      builder = new ColumnBuilder(this.afterNumbers);
      builder.padTo(rows);
      this.builders.set(name, builder);
    }
    return builder;
  }

  /** Every column name so far. */
  get names(): string[] {
    return [...this.builders.keys()];
  }

  /** Pads every column to `rows` values (a row that left a column out). */
  padTo(rows: number): void {
    for (const builder of this.builders.values()) builder.padTo(rows);
  }

  /** The table: an object of columns (own properties, whatever the names). */
  build(rows: number): Record<string, ArrayLike<unknown>> {
    this.padTo(rows);
    return Object.fromEntries([...this.builders].map(([name, b]) => [name, b.build()]));
  }
}

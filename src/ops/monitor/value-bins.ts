/**
 * @module
 * Which bin a value of a monitored column falls in: a number by its column's lookup grid (edges
 * compared only in the cells that hold one, a value tied with an edge spread at random over the
 * tie block), a number used as a label or a label by value, and a missing or mistyped value in
 * a bin of its own after the column's bins (its code is the column's number of bins).
 */
import { type BinGrid, binGrid, HAS_EDGE } from './bin-grid.js';
import type { ColumnModel } from './columns.js';

/** The bins of every monitored column, and the position that breaks ties. */
export class ValueBins {
  /** The monitored columns, in window order. */
  readonly columns: readonly ColumnModel[];
  /** Per column: its lookup grid (numerical columns with edges). */
  readonly grids: readonly (BinGrid | undefined)[];
  /** Per column: its bin edges (numerical columns with edges). */
  readonly edges: readonly (Float64Array | undefined)[];
  /** Per column: the code of a missing value (the column's number of bins). */
  readonly missing: Uint8Array;
  /**
   * The stream position of the row being binned: a tie is broken by a hash of the position and
   * the column, so that a row is binned the same way whatever came before it, in every run.
   */
  row = 0;

  constructor(columns: readonly ColumnModel[]) {
    this.columns = columns;
    this.grids = columns.map((c) => c.grid ?? (c.edges ? binGrid(c.edges) : undefined));
    this.edges = columns.map((c) => c.edges);
    this.missing = Uint8Array.from(columns, (c) => c.a.length);
  }

  /** The bin of number `x` in numerical column `j` (NaN and infinities: missing). */
  number(j: number, x: number): number {
    if (x - x !== 0) return this.missing[j]!;
    const grid = this.grids[j];
    if (grid === undefined) {
      // Numbers used as labels: the last equal value's bin, others pooled in the last bin.
      const values = this.columns[j]!.values!;
      let bin = this.missing[j]! - 1;
      for (let b = 0; b < values.length; b++) if (values[b] === x) bin = b;
      return bin;
    }
    if (x > grid.high) return this.columns[j]!.edges!.length;
    if (x <= grid.low) return this.edge(j, x, 0);
    const cell = grid.table[((x - grid.low) * grid.scale) | 0]!;
    return cell < HAS_EDGE ? cell : this.edge(j, x, cell - HAS_EDGE);
  }

  /**
   * The bin of `x` from the first candidate bin `first` of a grid cell that holds an edge: a
   * short scan (at most two edges), then {@link tie} if `x` equals an edge.
   */
  edge(j: number, x: number, first: number): number {
    const edges = this.edges[j]!;
    let bin = first;
    while (edges[bin]! < x) bin++;
    return edges[bin] === x ? this.tie(j, bin) : bin;
  }

  /**
   * The bin of a value equal to edge `bin` of column `j`: a gap drawn uniformly among those
   * around the edge's tie block (random tie-breaking keeps the null law exact), then its bin.
   */
  tie(j: number, bin: number): number {
    const model = this.columns[j]!;
    const { cuts, below, tied } = model.ties!;
    // MurmurHash3's finaliser of (position, column): uniform, and independent of the values.
    let h = Math.imul(this.row ^ Math.imul(j + 1, 0x85ebca77), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const gap = below[bin]! + Math.floor(((h >>> 0) / 4294967296) * (tied[bin]! + 1));
    const last = model.edges!.length;
    let b = bin;
    while (b < last && cuts[b]! <= gap) b++;
    return b;
  }

  /** The bin of label `label` in label column `j` (labels the reference never had: the last). */
  label(j: number, label: string): number {
    return this.columns[j]!.index!.get(label) ?? this.missing[j]! - 1;
  }
}

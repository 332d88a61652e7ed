/**
 * @module
 * The lookup grid that bins a value of a numerical column: a uniform grid over the range of
 * the column's bin edges, built once with the column's model, so that most values are binned
 * with one table read and no comparison.
 */

/**
 * A lookup table from a uniform grid over the edges' range to bins: `table[c]` is the number of
 * edges whose cell is before c (all of them are below any value in cell c), plus
 * {@link HAS_EDGE} when some edge falls in cell c itself (then the edges must be compared).
 */
export interface BinGrid {
  /** The lowest edge. */
  low: number;
  /** The highest edge. */
  high: number;
  /** Cells per unit of value. */
  scale: number;
  /** Per cell: its first candidate bin, plus HAS_EDGE when an edge falls in it. */
  table: Uint8Array;
}

/** Flag of a grid cell that holds an edge (bins are at most 64, so counts stay below it). */
export const HAS_EDGE = 128;

/** The grid of a numerical column's edges (ascending, at most 127 of them). */
export function binGrid(edges: Float64Array): BinGrid {
  const low = edges[0]!;
  const high = edges[edges.length - 1]!;
  // About 16 cells per bin, so that most values fall in a cell without an edge; more where
  // edges crowd (skewed columns), until few cells hold more than two (at most 4096).
  let cells = 64;
  while (cells < 16 * (edges.length + 1)) cells *= 2;
  while (cells < 4096 && maxEdgesPerCell(edges, cells) > 2) cells *= 2;
  const scale = high > low ? cells / (high - low) : 0;
  // Each edge's cell is computed exactly as a lookup computes it: the arithmetic is monotone.
  const inCell = new Uint8Array(cells + 1);
  for (let i = 0; i < edges.length; i++) inCell[((edges[i]! - low) * scale) | 0]!++;
  const table = new Uint8Array(cells + 1);
  let before = 0;
  for (let c = 0; c <= cells; c++) {
    table[c] = before + (inCell[c]! > 0 ? HAS_EDGE : 0);
    before += inCell[c]!;
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

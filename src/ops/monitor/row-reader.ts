/**
 * @module
 * The monitor's hot path: bins the numerical reference columns of a prediction's input row
 * (value-bins.ts), counts each bin in the current block's histogram, and copies the label
 * columns' values for later. Where the runtime allows code generation, the reader is a function
 * compiled for the columns (one named property read per column, which V8 answers from an inline
 * cache in about a nanosecond when the rows share a shape, and each numerical column's grid
 * constants written into the code); elsewhere (a content security policy, edge runtimes) a loop
 * over the row's keys does the same, several times slower.
 */
import { HAS_EDGE } from './bin-grid.js';
import type { ValueBins } from './value-bins.js';

/**
 * Reads one row. A numerical column j's bin code (value-bins.ts; missing and mistyped values
 * get the column's missing code) goes to `bins[binAt + j]`, and `counts[countAt + offsets[j] +
 * code]` grows by one. A label column's value goes to `labels[labelAt + q]` (q its position
 * among the label columns; booleans as `'true'` / `'false'`, `undefined` when missing or
 * mistyped), binned later: a label costs a map lookup, which would double the hot path of a
 * monitor of many label columns. Absent, `undefined` and mistyped values count in
 * `mismatched[j]` (`null` is a plain missing value). True when some value was counted there.
 */
export type RowReader = (
  row: Record<string, unknown>,
  bins: Uint8Array,
  binAt: number,
  counts: Uint32Array,
  countAt: number,
  labels: unknown[],
  labelAt: number,
  mismatched: Float64Array,
) => boolean;

/** Columns per compiled function: V8 stops optimising functions past a few tens of kilobytes. */
const CHUNK = 64;

/**
 * The fastest reader the runtime allows for the columns of `bins`, whose histogram of column j
 * starts at `offsets[j]`; `compile: false` forces the key loop (tests compare both).
 */
export function rowReader(
  bins: ValueBins,
  offsets: Int32Array,
  compile: boolean = canCompile(),
): RowReader {
  if (compile) {
    try {
      return compiledReader(bins, offsets);
    } catch {
      // Code generation refused at run time: fall through to the loop.
    }
  }
  return loopReader(bins, offsets);
}

let compileAllowed: boolean | undefined;

/** Whether `new Function` works here (not under a CSP without 'unsafe-eval', nor in Workers). */
function canCompile(): boolean {
  if (compileAllowed !== undefined) return compileAllowed;
  const agent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent;
  let allowed = false;
  if (typeof agent !== 'string' || !agent.includes('Cloudflare')) {
    try {
      allowed = typeof new Function('return 1') === 'function';
    } catch {
      // EvalError: code generation from strings is disallowed here.
    }
  }
  compileAllowed = allowed;
  return allowed;
}

/** A number as a JavaScript literal that reads back as the same double. */
function literal(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/**
 * One function per chunk of columns. A numerical column with a grid is binned inline (its
 * grid's constants are literals; a value in a cell that holds an edge is compared with it, and
 * only ties and longer scans call back); other numerical columns call the binner; labels are
 * copied. The closure's arguments: `T` the grids' tables, `E` the edges, `B` the binner.
 */
function compiledReader(bins: ValueBins, offsets: Int32Array): RowReader {
  const columns = bins.columns;
  // Every grid's table in one array, every column's edges in another (one closure variable
  // each, the columns' parts at constant offsets).
  const tableAt = new Int32Array(columns.length);
  const edgeAt = new Int32Array(columns.length);
  let tableLength = 0;
  let edgeLength = 0;
  columns.forEach((_, j) => {
    tableAt[j] = tableLength;
    edgeAt[j] = edgeLength;
    tableLength += bins.grids[j]?.table.length ?? 0;
    edgeLength += bins.edges[j]?.length ?? 0;
  });
  const allTables = new Uint8Array(tableLength);
  const allEdges = new Float64Array(edgeLength);
  columns.forEach((_, j) => {
    const table = bins.grids[j]?.table;
    if (table) allTables.set(table, tableAt[j]!);
    const edges = bins.edges[j];
    if (edges) allEdges.set(edges, edgeAt[j]!);
  });
  const chunks: RowReader[] = [];
  for (let from = 0; from < columns.length; from += CHUNK) {
    const to = Math.min(columns.length, from + CHUNK);
    const lines = ['let bad = false;', 'let v;', 'let b;'];
    let q = columns.slice(0, from).filter((c) => c.type !== 'numerical').length;
    for (let j = from; j < to; j++) {
      const column = columns[j]!;
      const miss = bins.missing[j]!;
      // JSON string literals are JavaScript string literals: no name can escape its quotes.
      lines.push(`v = row[${JSON.stringify(column.name)}];`);
      const mistyped = `else { b = ${miss}; if (v !== null) { m[${j}]++; bad = true; } }`;
      const grid = bins.grids[j];
      if (column.type === 'numerical' && grid !== undefined) {
        const low = literal(grid.low);
        const high = literal(grid.high);
        const cell = `T[${tableAt[j]!} + (((v - ${low}) * ${literal(grid.scale)}) | 0)]`;
        const edge = (i: string) => `E[${edgeAt[j]!} + ${i}]`;
        const tie = `B.tie(${j}, b)`;
        // Inside the edges' range first (two comparisons for most values); then above it
        // (+Infinity is missing), below it (-Infinity too; the lowest edge may be tied), NaN.
        lines.push(
          'if (typeof v === "number") {',
          `  if (v > ${low} && v <= ${high}) {`,
          `    b = ${cell};`,
          `    if (b >= ${HAS_EDGE}) { b -= ${HAS_EDGE}; if (${edge('b')} < v) { b++; if (${edge('b')} < v) b = B.edge(${j}, v, b); else if (${edge('b')} === v) b = ${tie}; } else if (${edge('b')} === v) b = ${tie}; }`,
          `  } else if (v > ${high}) b = v === Infinity ? ${miss} : ${column.edges!.length};`,
          `  else if (v <= ${low}) { b = 0; if (v === -Infinity) b = ${miss}; else if (v === ${low}) b = ${tie}; }`,
          `  else b = ${miss};`,
          `} ${mistyped}`,
        );
      } else if (column.type === 'numerical') {
        lines.push(`if (typeof v === "number") b = B.number(${j}, v); ${mistyped}`);
      } else {
        const at = `l[la + ${q++}]`;
        lines.push(
          `if (typeof v === "string") ${at} = v;`,
          `else if (typeof v === "boolean") ${at} = v ? "true" : "false";`,
          `else { ${at} = undefined; if (v !== null) { m[${j}]++; bad = true; } }`,
        );
        continue;
      }
      lines.push(`n[na + ${j}] = b;`, `h[ha + ${offsets[j]!} + b]++;`);
    }
    lines.push('return bad;');
    const body = `"use strict";\nreturn function read(row, n, na, h, ha, l, la, m) {\n${lines.join('\n')}\n};`;
    const make = new Function('T', 'E', 'B', body) as (
      tables: Uint8Array,
      edges: Float64Array,
      binner: ValueBins,
    ) => RowReader;
    chunks.push(make(allTables, allEdges, bins));
  }
  if (chunks.length === 1) return chunks[0]!;
  return (row, codes, binAt, counts, countAt, labels, labelAt, mismatched) => {
    let bad = false;
    for (let c = 0; c < chunks.length; c++) {
      if (chunks[c]!(row, codes, binAt, counts, countAt, labels, labelAt, mismatched)) bad = true;
    }
    return bad;
  };
}

/**
 * The reader without code generation: a for-in over the row's own keys (for rows V8 keeps in
 * fast mode the values come from the enumeration cache), remembering the key order of the
 * previous rows so that matching a key to its column is one comparison; columns whose key was
 * not met are read by name. Values are binned in column order, as the compiled reader does.
 */
function loopReader(bins: ValueBins, offsets: Int32Array): RowReader {
  const columns = bins.columns;
  const k = columns.length;
  const index = new Map<string, number>(columns.map((c, j) => [c.name, j]));
  const keys: string[] = [];
  const keyColumns: number[] = [];
  const seen = new Uint32Array(k);
  const values = new Array<unknown>(k).fill(undefined);
  const position = new Int32Array(k);
  let q = 0;
  for (let j = 0; j < k; j++) position[j] = columns[j]!.type === 'numerical' ? -1 : q++;
  let stamp = 0;
  return (row, codes, binAt, counts, countAt, labels, labelAt, mismatched) => {
    stamp = (stamp + 1) >>> 0 || 1;
    let found = 0;
    let i = 0;
    for (const key in row) {
      let j: number;
      if (i < keys.length && keys[i] === key) j = keyColumns[i]!;
      else {
        j = index.get(key) ?? -1;
        keys[i] = key;
        keyColumns[i] = j;
      }
      i++;
      if (j < 0 || seen[j] === stamp) continue;
      seen[j] = stamp;
      found++;
      values[j] = row[key];
    }
    // Absent keys (and inherited or non-enumerable properties): read those columns by name.
    if (found < k)
      for (let j = 0; j < k; j++) if (seen[j] !== stamp) values[j] = row[columns[j]!.name];
    let bad = false;
    for (let j = 0; j < k; j++) {
      const v = values[j];
      values[j] = undefined;
      const p = position[j]!;
      if (p >= 0) {
        const label = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : undefined;
        labels[labelAt + p] = label;
        if (label === undefined && v !== null) {
          mismatched[j]!++;
          bad = true;
        }
        continue;
      }
      let b: number;
      if (typeof v === 'number') b = bins.number(j, v);
      else {
        b = bins.missing[j]!;
        if (v !== null) {
          mismatched[j]!++;
          bad = true;
        }
      }
      codes[binAt + j] = b;
      counts[countAt + offsets[j]! + b]!++;
    }
    return bad;
  };
}

/**
 * @module
 * The monitor's hot path: copies the reference columns of a prediction's input row into the
 * window's rings. Where the runtime allows code generation, the reader is a function compiled
 * for the columns (one named property read per column, which V8 answers from an inline cache
 * in about a nanosecond when the rows share a shape); elsewhere (a content security policy,
 * edge runtimes) a loop over the row's keys does the same, several times slower.
 */

/** A monitored column as the reader sees it. */
export interface ReaderColumn {
  /** The property read from each row. */
  readonly name: string;
  /** Numbers go to the numeric ring, labels (strings, booleans) to the label ring. */
  readonly numeric: boolean;
}

/**
 * Copies one row: column j's value goes to `numbers[numberAt + p]` (numeric columns, p its
 * position among them; `NaN` when missing or mistyped) or `labels[labelAt + q]` (label columns;
 * booleans as `'true'` / `'false'`, `undefined` when missing or mistyped). Absent, `undefined`
 * and mistyped values count in `mismatched[j]` (`null` is a plain missing value). True when some
 * value was counted there.
 */
export type RowReader = (
  row: Record<string, unknown>,
  numbers: Float64Array,
  numberAt: number,
  labels: unknown[],
  labelAt: number,
  mismatched: Float64Array,
) => boolean;

/** Columns per compiled function: V8 stops optimising functions past a few tens of kilobytes. */
const CHUNK = 64;

/**
 * The fastest reader the runtime allows for `columns`; `compile: false` forces the key loop
 * (tests compare both).
 */
export function rowReader(
  columns: readonly ReaderColumn[],
  compile: boolean = canCompile(),
): RowReader {
  if (compile) {
    try {
      return compiledReader(columns);
    } catch {
      // Code generation refused at run time: fall through to the loop.
    }
  }
  return loopReader(columns);
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

function compiledReader(columns: readonly ReaderColumn[]): RowReader {
  const chunks: RowReader[] = [];
  let p = 0;
  let q = 0;
  for (let from = 0; from < columns.length; from += CHUNK) {
    const lines = ['"use strict";', 'let bad = false;', 'let v;'];
    for (let j = from; j < Math.min(columns.length, from + CHUNK); j++) {
      const column = columns[j]!;
      // JSON string literals are JavaScript string literals: no name can escape its quotes.
      lines.push(`v = row[${JSON.stringify(column.name)}];`);
      const miss = `if (v !== null) { m[${j}]++; bad = true; }`;
      if (column.numeric) {
        const at = `n[na + ${p++}]`;
        lines.push(`if (typeof v === "number") ${at} = v; else { ${at} = NaN; ${miss} }`);
      } else {
        const at = `l[la + ${q++}]`;
        lines.push(
          `if (typeof v === "string") ${at} = v;`,
          `else if (typeof v === "boolean") ${at} = v ? "true" : "false";`,
          `else { ${at} = undefined; ${miss} }`,
        );
      }
    }
    lines.push('return bad;');
    chunks.push(new Function('row', 'n', 'na', 'l', 'la', 'm', lines.join('\n')) as RowReader);
  }
  if (chunks.length === 1) return chunks[0]!;
  return (row, numbers, numberAt, labels, labelAt, mismatched) => {
    let bad = false;
    for (let c = 0; c < chunks.length; c++) {
      if (chunks[c]!(row, numbers, numberAt, labels, labelAt, mismatched)) bad = true;
    }
    return bad;
  };
}

/**
 * The reader without code generation: a for-in over the row's own keys (for rows V8 keeps in
 * fast mode the values come from the enumeration cache), remembering the key order of the
 * previous rows so that matching a key to its column is one comparison; columns whose key was
 * not met are read by name.
 */
function loopReader(columns: readonly ReaderColumn[]): RowReader {
  const k = columns.length;
  const index = new Map<string, number>(columns.map((c, j) => [c.name, j]));
  const position = new Int32Array(k);
  let p = 0;
  let q = 0;
  for (let j = 0; j < k; j++) position[j] = columns[j]!.numeric ? p++ : q++;
  const keys: string[] = [];
  const keyColumns: number[] = [];
  const seen = new Uint32Array(k);
  let stamp = 0;
  const store = (
    j: number,
    v: unknown,
    numbers: Float64Array,
    numberAt: number,
    labels: unknown[],
    labelAt: number,
    mismatched: Float64Array,
  ): boolean => {
    if (columns[j]!.numeric) {
      const at = numberAt + position[j]!;
      if (typeof v === 'number') {
        numbers[at] = v;
        return false;
      }
      numbers[at] = Number.NaN;
    } else {
      const at = labelAt + position[j]!;
      if (typeof v === 'string') {
        labels[at] = v;
        return false;
      }
      if (typeof v === 'boolean') {
        labels[at] = v ? 'true' : 'false';
        return false;
      }
      labels[at] = undefined;
    }
    if (v === null) return false;
    mismatched[j]!++;
    return true;
  };
  return (row, numbers, numberAt, labels, labelAt, mismatched) => {
    stamp = (stamp + 1) >>> 0 || 1;
    let bad = false;
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
      if (store(j, row[key], numbers, numberAt, labels, labelAt, mismatched)) bad = true;
    }
    if (found < k) {
      // Absent keys (and inherited or non-enumerable properties): read those columns by name.
      for (let j = 0; j < k; j++) {
        if (seen[j] === stamp) continue;
        if (store(j, row[columns[j]!.name], numbers, numberAt, labels, labelAt, mismatched)) {
          bad = true;
        }
      }
    }
    return bad;
  };
}

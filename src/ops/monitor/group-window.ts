/**
 * @module
 * The mergeable summary of a replica's drift window and the merged window of a monitor group.
 * A calibrated window is, per column, counts of rows per reference bin plus missing values:
 * sums, so the window of N replicas merged is exactly the window of their rows put together
 * (the multiset of every replica's last `size` rows). A summary is what a replica publishes on
 * the replica board; the merged window is what the group's judge checks.
 */
import { canonicalJson } from '../../core/canonical-json.js';
import { sha256 } from '../../core/digest.js';
import type { JsonValue } from '../../core/json.js';
import type { CountedWindow, Mismatches } from './binned-window.js';
import type { ColumnModel } from './columns.js';

/** One replica's window, as it publishes it. */
export interface WindowSummary {
  /** The publishing monitor instance (a random nonce): its `processed` only grows. */
  nonce: string;
  /** Rows its window holds when full. */
  size: number;
  /** Rows it has binned since it started. */
  processed: number;
  /** Rows in its window now. */
  rows: number;
  /** Per column, per bin: rows in the bin. */
  counts: Float64Array[];
  /** Per column: rows with the value missing or mistyped. */
  missing: Float64Array;
  /** Inputs that did not fit the reference, since it started. */
  mismatched: Mismatches;
}

/** The summary of `window` (a copy of its counts), published under `nonce`. */
export function summarize(window: CountedWindow, nonce: string): WindowSummary {
  return {
    nonce,
    size: window.size,
    processed: window.processed,
    rows: window.rows,
    counts: window.counts.map((c) => Float64Array.from(c)),
    missing: Float64Array.from(window.missing),
    mismatched: {
      rows: window.mismatched.rows,
      columns: Float64Array.from(window.mismatched.columns),
    },
  };
}

/**
 * A summary as JSON. Each column's counts are one string of decimal counts separated by
 * commas: a store copies and checks one string much faster than a list of numbers (100
 * columns of 64 bins: 0.1 ms instead of 3.8 ms per read on the memory store).
 */
export function summaryToJson(s: WindowSummary): JsonValue {
  return {
    v: 2,
    nonce: s.nonce,
    size: s.size,
    processed: s.processed,
    rows: s.rows,
    missing: Array.from(s.missing),
    counts: s.counts.map((c) => c.join(',')),
    mismatched: { rows: s.mismatched.rows, columns: Array.from(s.mismatched.columns) },
  };
}

/**
 * A peer's summary for these column models, or undefined when the payload is not one this
 * version of keel wrote for them (wrong shape, counts out of range): such a peer is left out
 * of the merge rather than trusted.
 */
export function summaryFromJson(
  payload: JsonValue,
  columns: readonly ColumnModel[],
): WindowSummary | undefined {
  const p = payload as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p) || p.v !== 2) return undefined;
  const { nonce, size, processed, rows } = p;
  if (typeof nonce !== 'string' || nonce.length > 64) return undefined;
  if (!isCount(size) || size < 1 || !isCount(processed) || !isCount(rows)) return undefined;
  if (rows > size || rows > processed) return undefined;
  const k = columns.length;
  const missing = numbers(p.missing, k);
  const encoded = p.counts;
  const mm = p.mismatched as Record<string, unknown> | null;
  if (!missing || !Array.isArray(encoded) || encoded.length !== k) return undefined;
  if (typeof mm !== 'object' || mm === null || !isCount(mm.rows)) return undefined;
  const mismatchedColumns = numbers(mm.columns, k);
  if (!mismatchedColumns) return undefined;
  const counts: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const c = decodeCounts(encoded[j], columns[j]!.a.length);
    if (c === undefined) return undefined;
    let total = missing[j]!;
    for (let b = 0; b < c.length; b++) total += c[b]!;
    if (total !== rows) return undefined;
    counts.push(c);
  }
  return {
    nonce,
    size,
    processed,
    rows,
    counts,
    missing,
    mismatched: { rows: mm.rows, columns: mismatchedColumns },
  };
}

/**
 * A short fingerprint of the column models (names, types, bin edges and labels): replicas
 * merge only when their windows are binned the same way, i.e. they monitor the same reference.
 */
export function modelsFingerprint(columns: readonly ColumnModel[]): string {
  const described = columns.map((c) => ({
    name: c.name,
    type: c.type,
    labels: [...c.labels],
    edges: c.edges ? Array.from(c.edges) : null,
    values: c.values ? Array.from(c.values) : null,
    tests: c.tests.map((t) => t.kind),
  }));
  return sha256(canonicalJson(described)).slice('sha256:'.length, 'sha256:'.length + 16);
}

/**
 * The window of a monitor group: the sum of its live replicas' windows. It records nothing
 * itself; `load` replaces its counts, and its stream position (`processed`) is a virtual one
 * that the judge advances by the predictions the group made since its last check, so that the
 * check's budget and the overlap between consecutive checks are measured in group predictions.
 */
export class MergedWindow implements CountedWindow {
  readonly columns: readonly ColumnModel[];
  readonly counts: Float64Array[];
  readonly missing: Float64Array;
  readonly mismatched: Mismatches;
  size = 0;
  processed = 0;
  rows = 0;

  /** @param columns the column models every merged replica bins with. */
  constructor(columns: readonly ColumnModel[]) {
    this.columns = columns;
    this.counts = columns.map((c) => new Float64Array(c.a.length));
    this.missing = new Float64Array(columns.length);
    this.mismatched = { rows: 0, columns: new Float64Array(columns.length) };
  }

  /** The merged window holds what was loaded: as many rows as it has processed. */
  get recorded(): number {
    return this.processed;
  }

  /** Replaces the counts with the sum of `parts`, at virtual stream position `position`. */
  load(parts: readonly WindowSummary[], position: number): void {
    for (const c of this.counts) c.fill(0);
    this.missing.fill(0);
    this.mismatched.columns.fill(0);
    this.mismatched.rows = 0;
    this.size = 0;
    this.rows = 0;
    for (const part of parts) {
      this.size += part.size;
      this.rows += part.rows;
      this.mismatched.rows += part.mismatched.rows;
      for (let j = 0; j < this.columns.length; j++) {
        const into = this.counts[j]!;
        const from = part.counts[j]!;
        for (let b = 0; b < into.length; b++) into[b]! += from[b]!;
        this.missing[j]! += part.missing[j]!;
        this.mismatched.columns[j]! += part.mismatched.columns[j]!;
      }
    }
    this.processed = position;
  }

  /** Rows are recorded by the replicas, never here. */
  record(): void {}

  /** Nothing to bin: the replicas binned their rows before publishing. */
  advance(): number {
    return 0;
  }
}

/** `bins` decimal counts separated by commas, or undefined for anything else. */
function decodeCounts(text: unknown, bins: number): Float64Array | undefined {
  if (typeof text !== 'string' || text.length > bins * 17) return undefined;
  const out = new Float64Array(bins);
  let b = 0;
  let n = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 44;
    if (code >= 48 && code <= 57) {
      n = n * 10 + (code - 48);
      digits++;
    } else if (code === 44 && digits > 0 && digits <= 15 && b < bins) {
      out[b++] = n;
      n = 0;
      digits = 0;
    } else {
      return undefined;
    }
  }
  return b === bins ? out : undefined;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function numbers(value: unknown, length: number): Float64Array | undefined {
  if (!Array.isArray(value) || value.length !== length || !value.every(isCount)) return undefined;
  return Float64Array.from(value as number[]);
}

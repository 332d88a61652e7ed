/**
 * @module
 * Data tests: `validateData(table, spec)` checks a batch against a row schema (any Standard
 * Schema), per-column expectations (type, range, allowed values, null rate, uniqueness) and,
 * optionally, drift against a reference; every failed expectation is reported with counts and
 * example row indices. Bad data never throws; only a bad spec does.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import {
  isStandardSchema,
  type StandardSchemaResult,
  type StandardSchemaV1,
} from '../core/standard-schema.js';
import { parseWith } from '../core/validate.js';
import { type DetectDriftOptions, type DetectDriftReport, detectDrift } from './dataset.js';
import type { Profile } from './profile.js';
import { isMissing, type Row, type Table, tableColumns } from './table.js';

/** Expectations on one column. Every field is optional; give only what you want checked. */
export interface ColumnExpectation {
  /** The column must exist (default true). */
  required?: boolean;
  /** Non-missing values must be numbers (`numerical`) or strings/booleans (`categorical`). */
  type?: 'numerical' | 'categorical';
  /** Smallest allowed number (inclusive). Implies `type: 'numerical'`. */
  min?: number;
  /** Largest allowed number (inclusive). Implies `type: 'numerical'`. */
  max?: number;
  /** The only values allowed (compared with `===`, so `1` and `'1'` differ). */
  allowed?: readonly (string | number | boolean)[];
  /** Largest allowed share of missing values (null, undefined, NaN), in [0, 1]. */
  maxNullRate?: number;
  /** Non-missing values must all be different. */
  unique?: boolean;
}

/** Drift expectation: the batch must not drift from `reference` (see `detectDrift`). */
export interface DriftExpectation extends DetectDriftOptions {
  /** The reference table or profile. */
  reference: Table | Profile;
}

/** What `validateData` checks. */
export interface DataSpec {
  /** A Standard Schema (zod 4, valibot, arktype, ...) every row must satisfy. */
  schema?: StandardSchemaV1;
  /** Expectations per column name. */
  columns?: Record<string, ColumnExpectation>;
  /** Drift against a reference: fails when the dataset verdict is `drifted`. */
  drift?: DriftExpectation;
  /** How many example row indices each failure lists (default 5, at most 1000). */
  maxExamples?: number;
}

/** The kinds of expectation a {@link DataCheck} reports on. */
export type DataExpectation =
  | 'row'
  | 'schema'
  | 'column'
  | 'type'
  | 'range'
  | 'allowed'
  | 'null_rate'
  | 'unique'
  | 'drift';

/** The outcome of one expectation. */
export interface DataCheck {
  /** Which expectation: `row` (a row is not an object), `schema`, `column` (missing), ... */
  expectation: DataExpectation;
  /** The column checked, for column expectations. */
  column?: string;
  /** Whether the expectation held. */
  passed: boolean;
  /** How many rows (or, for `drift`, columns) violate the expectation. */
  count: number;
  /** `count / rows` (for `null_rate`: the observed null rate; for `drift`: the drift share). */
  rate: number;
  /** Indices of the first violating rows (up to `maxExamples`). */
  examples: number[];
  /** What was checked and what was found. */
  message: string;
  /** Extra facts: offending values, schema issues of the example rows, drifted columns. */
  details?: Record<string, unknown>;
}

/** The result of {@link validateData}. */
export interface DataReport {
  /** True when every expectation passed. */
  passed: boolean;
  /** Number of rows checked. */
  rows: number;
  /** Every expectation checked, in spec order. */
  checks: DataCheck[];
  /** The checks that failed. */
  failures: DataCheck[];
  /** The drift report, when the spec asked for drift. */
  drift?: DetectDriftReport;
}

/**
 * Checks a table against a data spec, synchronously. The row schema must validate
 * synchronously (zod does unless it has async refinements); use {@link validateDataAsync}
 * otherwise.
 *
 * @throws {ValidationError} on a bad spec (never on bad data, which is what the report is for),
 *   or when the schema turns out to be asynchronous.
 *
 * @example
 * ```ts
 * const report = validateData(rows, {
 *   schema: z.object({ age: z.number().int(), country: z.string() }),
 *   columns: { age: { min: 0, max: 120, maxNullRate: 0.01 }, id: { unique: true } },
 * });
 * if (!report.passed) console.log(report.failures);
 * ```
 */
export function validateData(table: Table, spec: DataSpec): DataReport {
  const run = prepare(table, spec);
  if (run.schema) {
    const results: StandardSchemaResult<unknown>[] = [];
    for (let i = 0; i < run.rows.length; i++) {
      const result = run.schema['~standard'].validate(run.rows.get(i));
      if (result instanceof Promise) {
        result.catch(() => {}); // the caller is told to use validateDataAsync instead
        throw new ValidationError(
          '[keel] invalid data spec: the row schema validates asynchronously; ' +
            'use validateDataAsync() for schemas with async refinements',
        );
      }
      results.push(result);
    }
    run.schemaResults = results;
  }
  return finish(run);
}

/**
 * Like {@link validateData}, for row schemas that validate asynchronously (also accepts
 * synchronous ones).
 *
 * @throws {ValidationError} on a bad spec.
 */
export async function validateDataAsync(table: Table, spec: DataSpec): Promise<DataReport> {
  const run = prepare(table, spec);
  if (run.schema) {
    const results: StandardSchemaResult<unknown>[] = [];
    for (let i = 0; i < run.rows.length; i++) {
      results.push(await run.schema['~standard'].validate(run.rows.get(i)));
    }
    run.schemaResults = results;
  }
  return finish(run);
}

const primitive = z.union([z.string(), z.number(), z.boolean()]);

const columnSchema = z
  .object({
    required: z.boolean().optional(),
    type: z.enum(['numerical', 'categorical']).optional(),
    min: z
      .number()
      .refine((v) => !Number.isNaN(v), 'must be a number')
      .optional(),
    max: z
      .number()
      .refine((v) => !Number.isNaN(v), 'must be a number')
      .optional(),
    allowed: z.array(primitive).min(1, 'must list at least one value').optional(),
    maxNullRate: z.number().min(0).max(1).optional(),
    unique: z.boolean().optional(),
  })
  .strict()
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, {
    message: 'min must not exceed max',
  })
  .refine((c) => !((c.min !== undefined || c.max !== undefined) && c.type === 'categorical'), {
    message: 'a range (min/max) needs a numerical column, not type categorical',
  });

const specSchema = z
  .object({
    schema: z
      .custom<StandardSchemaV1>(isStandardSchema, 'must be a Standard Schema (e.g. a zod schema)')
      .optional(),
    columns: z.record(z.string(), columnSchema).optional(),
    drift: z
      .custom<DriftExpectation>(
        (v) => typeof v === 'object' && v !== null && 'reference' in v,
        'must be { reference, ...detectDrift options }',
      )
      .optional(),
    maxExamples: z.number().int().min(0).max(1000).optional(),
  })
  .strict();

interface RowAccess {
  length: number;
  get(i: number): unknown;
}

interface Run {
  spec: DataSpec;
  table: Table;
  rows: RowAccess;
  badRows: number[];
  columns: ReturnType<typeof tableColumns>;
  schema: StandardSchemaV1 | undefined;
  schemaResults?: StandardSchemaResult<unknown>[];
  maxExamples: number;
}

function prepare(table: Table, spec: DataSpec): Run {
  const parsed = parseWith(specSchema, spec, 'data spec') as DataSpec;
  const maxExamples = parsed.maxExamples ?? 5;
  const badRows: number[] = [];
  let usable: Table = table;
  if (Array.isArray(table)) {
    const rows = table as readonly unknown[];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (typeof r !== 'object' || r === null || Array.isArray(r)) badRows.push(i);
    }
    // Bad rows are data problems: report them, and check the rest as if they were empty.
    if (badRows.length) {
      const bad = new Set(badRows);
      usable = rows.map((r, i) => (bad.has(i) ? {} : r)) as Row[];
    }
  }
  const columns = tableColumns(usable, 'table');
  const rows: RowAccess = Array.isArray(usable)
    ? { length: usable.length, get: (i) => (table as readonly unknown[])[i] }
    : {
        length: columns.rows,
        get(i) {
          const row: Record<string, unknown> = {};
          for (const name of columns.names) row[name] = columns.column(name)[i];
          return row;
        },
      };
  return {
    spec: parsed,
    table: usable,
    rows,
    badRows,
    columns,
    schema: parsed.schema,
    maxExamples,
  };
}

function finish(run: Run): DataReport {
  const { spec, columns, maxExamples } = run;
  const total = columns.rows;
  const checks: DataCheck[] = [];
  const check = (c: Omit<DataCheck, 'rate' | 'passed'> & { rate?: number }): void => {
    checks.push({ ...c, passed: c.count === 0, rate: c.rate ?? (total ? c.count / total : 0) });
  };

  if (run.badRows.length) {
    check({
      expectation: 'row',
      count: run.badRows.length,
      examples: run.badRows.slice(0, maxExamples),
      message: `${run.badRows.length} rows are not objects`,
    });
  }

  if (run.schemaResults) {
    const examples: number[] = [];
    const issues: { row: number; issues: string[] }[] = [];
    let count = 0;
    run.schemaResults.forEach((result, i) => {
      if (result.issues === undefined) return;
      count++;
      if (examples.length < maxExamples) {
        examples.push(i);
        issues.push({ row: i, issues: result.issues.slice(0, 5).map(describeIssue) });
      }
    });
    check({
      expectation: 'schema',
      count,
      examples,
      message: count
        ? `${count} of ${total} rows fail the row schema`
        : 'every row fits the schema',
      ...(count ? { details: { issues } } : {}),
    });
  }

  for (const [name, expect] of Object.entries(spec.columns ?? {})) {
    if (!columns.has(name)) {
      if (expect.required !== false) {
        checks.push({
          expectation: 'column',
          column: name,
          passed: false,
          count: total,
          rate: 1,
          examples: [],
          message: `column "${name}" is missing from the table`,
        });
      }
      continue;
    }
    const values = columns.column(name);
    for (const c of columnChecks(name, values, expect, maxExamples)) check(c);
  }

  let drift: DetectDriftReport | undefined;
  if (spec.drift) {
    const { reference, ...options } = spec.drift;
    drift = detectDrift(reference, run.table, options);
    const drifted = Object.entries(drift.columns)
      .filter(([, r]) => r.drifted)
      .map(([column]) => column);
    check({
      expectation: 'drift',
      count: drift.drifted ? drift.driftedColumns || 1 : 0,
      rate: drift.share,
      examples: [],
      message: drift.drifted
        ? `the batch drifted from the reference: ${drift.driftedColumns} columns (share ${drift.share})`
        : 'no dataset drift',
      details: { driftedColumns: drifted, skipped: Object.keys(drift.skipped) },
    });
  }

  const failures = checks.filter((c) => !c.passed);
  return {
    passed: failures.length === 0,
    rows: total,
    checks,
    failures,
    ...(drift ? { drift } : {}),
  };
}

type PendingCheck = Omit<DataCheck, 'rate' | 'passed'> & { rate?: number };

function columnChecks(
  column: string,
  values: ArrayLike<unknown>,
  expect: ColumnExpectation,
  maxExamples: number,
): PendingCheck[] {
  const n = values.length;
  const out: PendingCheck[] = [];
  const ranged = expect.min !== undefined || expect.max !== undefined;
  const type = expect.type ?? (ranged ? 'numerical' : undefined);

  if (type) {
    const bad = collect(values, maxExamples, (v) =>
      isMissing(v)
        ? false
        : type === 'numerical'
          ? typeof v !== 'number'
          : typeof v !== 'string' && typeof v !== 'boolean',
    );
    out.push({
      expectation: 'type',
      column,
      count: bad.count,
      examples: bad.examples,
      message: bad.count
        ? `${bad.count} values of "${column}" are not ${type}`
        : `"${column}" is ${type}`,
      ...(bad.count ? { details: { values: bad.values } } : {}),
    });
  }

  if (ranged) {
    const min = expect.min ?? Number.NEGATIVE_INFINITY;
    const max = expect.max ?? Number.POSITIVE_INFINITY;
    const bad = collect(
      values,
      maxExamples,
      (v) => typeof v === 'number' && !Number.isNaN(v) && (v < min || v > max),
    );
    out.push({
      expectation: 'range',
      column,
      count: bad.count,
      examples: bad.examples,
      message: `${bad.count} values of "${column}" outside [${expect.min ?? '-inf'}, ${expect.max ?? 'inf'}]`,
      details: {
        min: expect.min ?? null,
        max: expect.max ?? null,
        ...(bad.count ? { values: bad.values } : {}),
      },
    });
  }

  if (expect.allowed) {
    const allowed = new Set<unknown>(expect.allowed);
    const bad = collect(values, maxExamples, (v) => !isMissing(v) && !allowed.has(v));
    out.push({
      expectation: 'allowed',
      column,
      count: bad.count,
      examples: bad.examples,
      message: `${bad.count} values of "${column}" are not among the ${allowed.size} allowed values`,
      ...(bad.count ? { details: { values: bad.values } } : {}),
    });
  }

  if (expect.maxNullRate !== undefined) {
    const bad = collect(values, maxExamples, isMissing);
    const rate = n ? bad.count / n : 0;
    out.push({
      expectation: 'null_rate',
      column,
      count: rate > expect.maxNullRate ? bad.count : 0,
      rate,
      examples: rate > expect.maxNullRate ? bad.examples : [],
      message: `"${column}" has ${bad.count} missing values of ${n} (rate ${rate}, at most ${expect.maxNullRate} allowed)`,
      details: { missing: bad.count, maxNullRate: expect.maxNullRate },
    });
  }

  if (expect.unique) {
    const seen = new Set<unknown>();
    const bad = collect(values, maxExamples, (v) => {
      if (isMissing(v)) return false;
      const key = v === 0 ? 0 : v; // -0 and 0 are the same value
      if (seen.has(key)) return true;
      seen.add(key);
      return false;
    });
    out.push({
      expectation: 'unique',
      column,
      count: bad.count,
      examples: bad.examples,
      message: `${bad.count} values of "${column}" repeat an earlier value`,
      ...(bad.count ? { details: { values: bad.values } } : {}),
    });
  }
  return out;
}

/** Counts the values matching `bad`, keeping the first example indices and distinct values. */
function collect(
  values: ArrayLike<unknown>,
  maxExamples: number,
  bad: (v: unknown) => boolean,
): { count: number; examples: number[]; values: unknown[] } {
  let count = 0;
  const examples: number[] = [];
  const distinct: unknown[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!bad(v)) continue;
    count++;
    if (examples.length < maxExamples) examples.push(i);
    if (distinct.length < maxExamples && !distinct.includes(v)) distinct.push(jsonSafe(v));
  }
  return { count, examples, values: distinct };
}

function jsonSafe(v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'array' : 'object';
  if (typeof v === 'function' || typeof v === 'symbol') return typeof v;
  return v;
}

function describeIssue(issue: {
  message: string;
  path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}): string {
  const path = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
  return path ? `at ${path}: ${issue.message}` : issue.message;
}

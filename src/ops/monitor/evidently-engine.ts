/**
 * @module
 * The `evidently` preset: the monitor as keel had it before the calibrated default, for parity
 * with Evidently's numbers. Rows go into a columnar window of raw values, and every check runs
 * `detectDrift` (Evidently's per-column test choice, `driftShare` dataset rule) on the whole
 * window in one step. Not calibrated: its false-alarm rate depends on the data and the sizes
 * (see docs/benchmarks.md).
 */
import { ValidationError } from '../../core/errors.js';
import type { DetectDriftOptions, DetectDriftReport } from '../../drift/dataset.js';
import { isProfile, type Profile } from '../../drift/profile.js';
import { inferColumnType, type Table, tableColumns } from '../../drift/table.js';
import { ColumnWindow } from '../window.js';
import type { CheckResult, CheckTask, DriftEngine } from './engine.js';
import type { DriftFinding, MismatchCounts } from './types.js';

interface ReferenceColumn {
  name: string;
  type: 'numerical' | 'categorical' | 'other';
}

/** The `evidently` engine; see the module comment. */
export class EvidentlyEngine implements DriftEngine {
  readonly columns: readonly string[];
  readonly unmonitored: Readonly<Record<string, string>> = {};
  readonly minRows = 1;
  readonly #reference: Table | Profile;
  readonly #detect: (reference: Table | Profile, current: Table) => DetectDriftReport;
  readonly #window: ColumnWindow;
  readonly #columns: ReferenceColumn[];
  readonly #mismatched: MismatchCounts;
  #recorded = 0;

  /**
   * @param detect runs `detectDrift` with the preset's options (through the drift service).
   * @throws {ValidationError} when the reference has no numerical or categorical column.
   */
  constructor(
    reference: Table | Profile,
    size: number,
    detect: (
      reference: Table | Profile,
      current: Table,
      opts: DetectDriftOptions,
    ) => DetectDriftReport,
    options: DetectDriftOptions,
    what: string,
  ) {
    this.#reference = reference;
    this.#columns = referenceColumns(reference, what);
    this.#detect = (ref, current) => detect(ref, current, options);
    this.columns = this.#columns.map((c) => c.name);
    this.#window = new ColumnWindow(this.columns, size);
    this.#mismatched = {
      rows: 0,
      columns: Object.fromEntries(this.columns.map((c) => [c, 0])),
    };
  }

  get rows(): number {
    return this.#window.size;
  }

  get recordedRows(): number {
    return this.#recorded;
  }

  record(input: unknown): void {
    this.#recorded++;
    if (typeof input !== 'object' || input === null) {
      this.#mismatched.rows++;
      return;
    }
    const row = input as Record<string, unknown>;
    const slot = this.#window.claim();
    let bad = false;
    for (const column of this.#columns) {
      const value = row[column.name];
      if (value === undefined || !fits(column.type, value)) {
        bad = true;
        this.#mismatched.columns[column.name]!++;
        this.#window.set(column.name, slot, undefined);
      } else {
        this.#window.set(column.name, slot, value);
      }
    }
    if (bad) this.#mismatched.rows++;
  }

  /** Inputs that did not fit the reference columns, per column name. */
  mismatched(): MismatchCounts {
    return { rows: this.#mismatched.rows, columns: { ...this.#mismatched.columns } };
  }

  startCheck(): CheckTask {
    return {
      step: (): CheckResult => {
        const rows = this.#window.size;
        const report = this.#detect(this.#reference, this.#window.snapshot());
        const alarms = report.drifted
          ? Object.keys(report.columns).filter((c) => report.columns[c]?.drifted)
          : [];
        const findings: DriftFinding[] = alarms.map((column) => {
          const r = report.columns[column]!;
          return {
            column,
            test: r.method,
            statistic: r.statistic,
            ...(r.pValue === undefined ? {} : { pValue: r.pValue }),
            threshold: r.threshold,
          };
        });
        return {
          report: { ...report, preset: 'evidently' },
          rows,
          alarms,
          findings,
          quiet: !report.drifted,
        };
      },
    };
  }
}

function referenceColumns(reference: Table | Profile, what: string): ReferenceColumn[] {
  let columns: ReferenceColumn[];
  if (isProfile(reference)) {
    columns = Object.entries(reference.columns).map(([name, column]) => ({
      name,
      type: column.type === 'empty' ? 'other' : column.type,
    }));
  } else {
    const table = tableColumns(reference, what);
    columns = table.names.map((name) => {
      const type = inferColumnType(table.column(name)).type;
      return { name, type: type === 'numerical' || type === 'categorical' ? type : 'other' };
    });
  }
  if (!columns.some((c) => c.type !== 'other')) {
    throw new ValidationError(
      `[keel] invalid ${what}: no column can be checked for drift` +
        (columns.length
          ? ` (${columns.map((c) => c.name).join(', ')}: empty or mixed types)`
          : ' (the reference has no columns)') +
        '; pass a reference with at least one numerical or categorical column',
    );
  }
  return columns;
}

function fits(type: ReferenceColumn['type'], value: unknown): boolean {
  if (value === null) return true; // a missing value, counted as such by the check
  if (type === 'numerical') return typeof value === 'number';
  if (type === 'categorical') return typeof value === 'string' || typeof value === 'boolean';
  return true;
}

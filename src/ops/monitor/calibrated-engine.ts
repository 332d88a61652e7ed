/**
 * @module
 * The calibrated drift engine (the monitor's default): rows go into a binned window, and a
 * check bins the new rows, evaluates every column's tests at the levels the false-alarm budget
 * allows, and reports, in steps short enough to never hold the event loop for long.
 */
import type { SkippedColumn } from '../../drift/dataset.js';
import { BinnedWindow, blockRows, type CountedWindow } from './binned-window.js';
import {
  type CheckGeometry,
  type ColumnCheckContext,
  evaluateColumn,
  levelCacheSize,
} from './calibrated.js';
import type { ColumnModel, UnusableColumn } from './columns.js';
import type { CheckResult, CheckTask, DriftEngine } from './engine.js';
import type { DriftFinding, MismatchCounts, MonitorColumnEntry, MonitorReport } from './types.js';

/** Options of {@link CalibratedEngine}. */
export interface CalibratedEngineOptions {
  /** Rows in the window. */
  size: number;
  /** One expected false alarm per this many predictions. */
  perPredictions: number;
  /** Columns alarm only with an effect at least this. */
  minEffect?: number;
  /** Rows between scheduled checks (the window moves in blocks that fit it; default: none). */
  checkEvery?: number;
  /** The stream position of the first row recorded (rows passed before the engine existed). */
  start?: number;
}

/** Bins binned per step before looking at the clock (rows x columns). */
const STEP_CELLS = 8192;
/** Columns evaluated between two reads of the clock (each takes about a microsecond). */
const CLOCK_EVERY = 8;
/**
 * Share of the budget the levels spend. The bound on up-crossings is exact for valid p-values
 * and a Gaussian joint law of consecutive checks; both are approximations in the far tails
 * (skewed scores, lattice counts), so 40% of the budget is kept as headroom.
 */
const SPEND = 0.6;

/** The calibrated engine; see the module comment. */
export class CalibratedEngine implements DriftEngine {
  readonly columns: readonly string[];
  readonly unmonitored: Readonly<Record<string, string>>;
  readonly minRows: number;
  /** The binned window the checks read. */
  readonly window: CountedWindow;
  readonly #options: CalibratedEngineOptions;
  readonly #unusable: Record<string, UnusableColumn>;
  readonly #tests: number;
  #previous: CheckGeometry | undefined;
  #lastEnd = 0;
  readonly #levels: Float64Array[];
  /** Two sets of per-test thresholds, used in turn: a check writes one, the previous one's stays. */
  readonly #thresholds: [Float64Array[], Float64Array[]];
  #turn = 0;

  /**
   * @param models the monitored columns (at least one); @param unusable those left out;
   * @param window the window checked (default: a new {@link BinnedWindow} of the models).
   */
  constructor(
    models: readonly ColumnModel[],
    unusable: Record<string, UnusableColumn>,
    options: CalibratedEngineOptions,
    window: CountedWindow = new BinnedWindow(models, options.size, {
      block: options.checkEvery === undefined ? 0 : blockRows(options.size, options.checkEvery),
      start: options.start ?? 0,
    }),
  ) {
    this.#options = options;
    this.#unusable = unusable;
    this.window = window;
    this.columns = models.map((m) => m.name);
    this.unmonitored = Object.fromEntries(Object.entries(unusable).map(([n, u]) => [n, u.message]));
    this.minRows = Math.min(options.size, 100);
    this.#tests = models.reduce((s, m) => s + m.tests.length, 0);
    this.#levels = models.map((m) => new Float64Array(levelCacheSize(m)).fill(Number.NaN));
    const thresholds = () => models.map((m) => new Float64Array(m.tests.length));
    this.#thresholds = [thresholds(), thresholds()];
  }

  /**
   * A new engine with these columns and options that checks `window` instead (a monitor
   * group's merged window): its own levels and previous check, nothing shared with this one.
   */
  withWindow(
    window: CountedWindow,
    options: Partial<CalibratedEngineOptions> = {},
  ): CalibratedEngine {
    return new CalibratedEngine(
      window.columns,
      this.#unusable,
      { ...this.#options, ...options },
      window,
    );
  }

  get rows(): number {
    return Math.min(this.window.recorded, this.window.size);
  }

  get recordedRows(): number {
    return this.window.recorded;
  }

  record(input: unknown): void {
    this.window.record(input);
  }

  /** Inputs that did not fit the reference columns, per column name. */
  mismatched(): MismatchCounts {
    const m = this.window.mismatched;
    return {
      rows: m.rows,
      columns: Object.fromEntries(this.columns.map((c, j) => [c, m.columns[j]!])),
    };
  }

  /**
   * Starts a check. `allEffects`: compute every column's effect sizes (on-demand checks);
   * scheduled checks compute those of alarming columns only.
   */
  startCheck(allEffects = true): CheckTask {
    const window = this.window;
    const k = this.columns.length;
    const target = window.recorded;
    const chunk = Math.max(1, Math.floor(STEP_CELLS / k));
    const entries: MonitorColumnEntry[] = [];
    const z: Float64Array[] = [];
    let quiet = true;
    let budget = 0;
    let next = 0;
    let advanced = false;
    let ctx: ColumnCheckContext | undefined;
    return {
      step: (deadline) => {
        if (!advanced) {
          do {
            if (window.processed >= target) break;
            window.advance(Math.min(chunk, target - window.processed));
          } while (window.processed < target && now() < deadline);
          if (window.processed < target) return undefined;
          advanced = true;
          // Capped so that a rare on-demand check keeps a meaningful level (the bound holds:
          // a check covering this many predictions may spend at least this much).
          budget = Math.min(
            0.5,
            (SPEND * (window.processed - this.#lastEnd)) / this.#options.perPredictions,
          );
          if (now() >= deadline) return undefined;
        }
        // One object of one shape for the whole check: every column reads it.
        ctx ??= {
          budget,
          columns: k,
          previous: this.#previous,
          minEffect: this.#options.minEffect,
          levels: this.#levels,
          allEffects,
          tests: this.#tests,
          thresholds: this.#thresholds[this.#turn]!,
        };
        let evaluated = 0;
        do {
          const outcome = evaluateColumn(window, next, ctx);
          entries.push(outcome.entry);
          z.push(outcome.z);
          if (!outcome.quiet) quiet = false;
          next++;
          // The clock costs about as much as a column's tests: read it after the first column
          // of a step (a late step does the least it can), then every few columns.
        } while (next < k && (++evaluated % CLOCK_EVERY !== 1 || now() < deadline));
        if (next < k) return undefined;
        return this.#finish(entries, z, budget, quiet);
      },
    };
  }

  #finish(
    entries: MonitorColumnEntry[],
    z: Float64Array[],
    budget: number,
    quiet: boolean,
  ): CheckResult {
    const window = this.window;
    const columns: Record<string, MonitorColumnEntry> = {};
    const alarms: string[] = [];
    const findings: DriftFinding[] = [];
    entries.forEach((entry, j) => {
      const name = this.columns[j]!;
      columns[name] = entry;
      if (entry.drifted) {
        alarms.push(name);
        const best = (entry.tests ?? [])
          .filter((t) => t.drifted)
          .sort((a, b) => a.pValue - b.pValue)[0]!;
        findings.push({
          column: name,
          test: best.test,
          ...(best.label === undefined ? {} : { label: best.label }),
          statistic: best.statistic,
          pValue: best.pValue,
          threshold: best.threshold,
          ...(entry.effects ? { effects: entry.effects } : {}),
        });
      }
    });
    findings.sort((a, b) => (a.pValue ?? 1) - (b.pValue ?? 1));
    const tested = entries.length;
    const report: MonitorReport = {
      preset: 'calibrated',
      drifted: alarms.length > 0,
      share: tested ? alarms.length / tested : 0,
      driftedColumns: alarms.length,
      tested,
      columns,
      correction: 'bonferroni',
      driftShare: tested ? 1 / tested : 1,
      skipped: skippedOf(this.#unusable),
      budget,
    };
    const rows = window.rows;
    const present = new Float64Array(entries.length);
    for (let j = 0; j < present.length; j++) present[j] = rows - window.missing[j]!;
    this.#previous = {
      end: window.processed,
      rows,
      present,
      z,
    };
    this.#turn ^= 1;
    this.#lastEnd = window.processed;
    return { report, rows, alarms, findings, quiet };
  }
}

function skippedOf(unusable: Record<string, UnusableColumn>): Record<string, SkippedColumn> {
  const out: Record<string, SkippedColumn> = {};
  for (const [name, u] of Object.entries(unusable)) {
    out[name] = {
      reason:
        u.reason === 'empty'
          ? 'empty_reference'
          : u.reason === 'mixed_types'
            ? 'mixed_types'
            : 'invalid_data',
      message: u.message,
    };
  }
  return out;
}

function now(): number {
  return performance.now();
}

/**
 * @module
 * The contract between the monitor (hot path, schedule, episodes, events) and a drift engine
 * (how rows are kept and how a check is computed): the calibrated engine and the `evidently`
 * preset implement it. A check is a task advanced in bounded steps, so that the scheduler can
 * spread it over several ticks of the event loop.
 */
import type { DriftFinding, MismatchCounts, MonitorReport } from './types.js';

/** The outcome of one check. */
export interface CheckResult {
  /** The check's report. */
  report: MonitorReport;
  /** Rows of the window checked. */
  rows: number;
  /** Columns that alarmed. */
  alarms: string[];
  /** Per alarming column: its most significant test. */
  findings: DriftFinding[];
  /**
   * Every test is well below its alarm threshold: an open episode resolves after a whole window
   * of quiet checks.
   */
  quiet: boolean;
}

/** A check in progress. */
export interface CheckTask {
  /**
   * Does work until `deadline` (a `performance.now()` time) or until the check is done, and
   * returns the result when done. Always makes some progress.
   */
  step(deadline: number): CheckResult | undefined;
}

/** How a monitor keeps rows and checks them. */
export interface DriftEngine {
  /** The monitored reference columns. */
  readonly columns: readonly string[];
  /** Reference columns left out, with the reason. */
  readonly unmonitored: Readonly<Record<string, string>>;
  /** Rows in the window (as of the last check for engines that bin lazily). */
  readonly rows: number;
  /** Scheduled checks wait until the window holds this many rows. */
  readonly minRows: number;
  /** Rows recorded and not yet checked. */
  readonly recordedRows: number;
  /** The hot path: keeps one input row. Never throws. */
  record(input: unknown): void;
  /** Inputs that did not fit the reference columns, per column name. */
  mismatched(): MismatchCounts;
  /**
   * Engines with work to do before their first check (reading a large reference): does some
   * of it, until `deadline` (a `performance.now()` time); true when there is none left.
   *
   * @throws {ValidationError} when the work fails (a reference with no usable column).
   */
  prepare?(deadline: number): boolean;
  /**
   * Starts a check of the window. `allEffects: false` (scheduled checks) lets an engine skip
   * the effect sizes of columns that did not alarm.
   */
  startCheck(allEffects?: boolean): CheckTask;
}

/**
 * @module
 * The public shapes of a prediction monitor: options, events, reports and state.
 */
import type { Clock } from '../../core/clock.js';
import type { Telemetry } from '../../core/telemetry.js';
import type {
  ColumnDriftEntry,
  DetectDriftOptions,
  DetectDriftReport,
} from '../../drift/dataset.js';
import type { Profile } from '../../drift/profile.js';
import type { StreamingDetector } from '../../drift/streaming/types.js';
import type { Table } from '../../drift/table.js';
import type { MetadataStore } from '../../metadata/types.js';
import type { Listenable } from '../emitter.js';
import type { PredictionRecorder, ReplicaOptions } from '../router/types.js';

/** What a monitor needs from keel: telemetry and the clock (a `Keel` fits). */
export interface MonitorKeel {
  /** Where the monitor's spans and metrics (`keel.monitor.*`) go. */
  readonly telemetry: Telemetry;
  /** Source of the times in check payloads and episodes. */
  readonly clock: Clock;
  /** Where the replicas of a monitor group share their windows (unless `replicas.store` is given). */
  readonly metadata?: MetadataStore;
}

/** Names of the built-in decay detectors. */
export type DecayDetectorName = 'ddm' | 'eddm' | 'hddm_a' | 'hddm_w' | 'page_hinkley' | 'adwin';

/** Decay detection on outcomes. */
export interface DecayOptions {
  /** A built-in detector by name (default `ddm`), or your own instance. */
  detector?: DecayDetectorName | StreamingDetector;
  /**
   * The value fed to the detector for one outcome: `true`/1 for an error. Default: the output
   * differs from the label (canonical JSON inequality). Return a number (e.g. an absolute error)
   * for detectors that take real values (`page_hinkley`, `adwin`).
   */
  isError?: (output: unknown, label: unknown) => boolean | number;
  /** Outputs kept while waiting for their outcome (oldest forgotten first). Default 10 000. */
  pending?: number;
}

/**
 * How drift is checked.
 * - `calibrated` (default): valid p-values on binned windows, a false-alarm budget spent per
 *   prediction (`falseAlarms`), incremental statistics (see docs/operations.md).
 * - `evidently`: `detectDrift` with Evidently's per-column test choice and dataset rule on
 *   every check, as keel's earlier monitor did (parity with Evidently's numbers, not calibrated).
 */
export type MonitorPreset = 'calibrated' | 'evidently';

/** The calibrated monitor's false-alarm budget. */
export interface FalseAlarmBudget {
  /**
   * At most one expected false `drift:detected` per this many predictions of traffic that
   * follows the reference (independent, identically distributed rows). Default 1 000 000.
   */
  perPredictions: number;
}

/** Options of `createMonitor`. */
export interface MonitorOptions {
  /** A keel instance (telemetry, clock). */
  keel: MonitorKeel;
  /** What is monitored, e.g. the model name (telemetry attribute `keel.model.name`). */
  name: string;
  /** What inputs should look like: a stored profile, or a table of rows or columns. */
  reference: Table | Profile;
  /** How drift is checked. Default `calibrated`. */
  preset?: MonitorPreset;
  /** Rows kept for the drift check. Default 1000. */
  window?: {
    /** The most recent predictions' inputs kept and checked, at least 1. Default 1000. */
    size: number;
  };
  /**
   * A drift check runs after every this many predictions. Default: a tenth of the window
   * (`calibrated`), 500 (`evidently`).
   */
  checkEvery?: number;
  /** `calibrated` only: the false-alarm budget. Default `{ perPredictions: 1_000_000 }`. */
  falseAlarms?: FalseAlarmBudget;
  /**
   * `calibrated` only: a column only alarms when its effect size is also at least this:
   * the binned Wasserstein distance over the reference's standard deviation for numbers, the
   * Jensen-Shannon distance (base 2) for labels.
   */
  minEffect?: number;
  /** `evidently` only: multiple-testing correction of the check. Default `none`. */
  correction?: 'none' | 'bonferroni' | 'bh';
  /** `evidently` only: with `correction: 'none'`, the share of drifted columns. Default 0.5. */
  driftShare?: number;
  /** `evidently` only: further options of `detectDrift` (method, threshold, minEffect, ...). */
  drift?: Omit<DetectDriftOptions, 'correction' | 'driftShare'>;
  /** Watch outcomes for decay (`recordOutcome`). Default: DDM on error indicators. */
  decay?: DecayOptions;
  /**
   * `calibrated` only: this monitor is one replica of a deployment, and drift is judged on the
   * merged window of every live replica of `replicas.group` (default: the monitor's name), once
   * per episode for the whole group; see docs/operations.md. Same options as the router's.
   */
  replicas?: ReplicaOptions;
}

/** Inputs that did not fit the reference columns, since the monitor started. */
export interface MismatchCounts {
  /** Inputs that were not objects, or had a missing or wrongly typed reference column. */
  rows: number;
  /** Per reference column: values absent or of the wrong type (numbers vs labels). */
  columns: Record<string, number>;
}

/** The tests of the calibrated monitor. */
export type MonitorTestKind = 'location' | 'scale' | 'share' | 'missing';

/** One test of one column at one check (`calibrated` preset). */
export interface MonitorTestResult {
  /**
   * `location`: normal scores of the values' reference quantiles (van der Waerden);
   * `scale`: squared normal scores (Klotz); `share`: the share of one label or value
   * (exact beta-binomial); `missing`: the share of missing or mistyped values.
   */
  test: MonitorTestKind;
  /** For `share`: the label (or value, or `(other)` for labels the reference lacks). */
  label?: string;
  /** The statistic in standard deviations from its expectation under no drift. */
  statistic: number;
  /** Two-sided p-value under no drift (exact for `share` and `missing`). */
  pValue: number;
  /** The level this test alarms below at this check (its share of the budget). */
  threshold: number;
  /** p-value below the threshold (and the column's effect at least `minEffect`). */
  drifted: boolean;
}

/** Effect sizes of a column at one check. */
export interface MonitorEffects {
  /** Jensen-Shannon distance (base 2, in [0, 1]) between the binned distributions. */
  jensenshannon: number;
  /** Numbers: Wasserstein distance over the reference standard deviation, on the bins. */
  wasserstein?: number;
}

/** A column of a monitor report: the `detectDrift` fields, plus the calibrated tests. */
export interface MonitorColumnEntry extends ColumnDriftEntry {
  /** `calibrated`: every test of the column (the entry's own fields are its smallest p-value). */
  tests?: MonitorTestResult[];
  /** `calibrated`: effect sizes. */
  effects?: MonitorEffects;
}

/** What a check returns: a dataset drift report (the `detectDrift` shape) and the preset. */
export interface MonitorReport extends DetectDriftReport {
  /** The preset that produced the report: how to read its p-values and thresholds. */
  preset: MonitorPreset;
  /** One entry per tested column, with the calibrated tests and effect sizes when present. */
  columns: Record<string, MonitorColumnEntry>;
  /**
   * `calibrated`: the expected false alarms this check may spend: 0.6 times its new
   * predictions over `falseAlarms.perPredictions` (the rest is headroom for the
   * approximations, see docs/drift.md).
   */
  budget?: number;
}

/** A column that alarmed, as `drift:detected` reports it. */
export interface DriftFinding {
  /** The column's name. */
  column: string;
  /** The test (`calibrated`) or detector (`evidently`) with the smallest p-value. */
  test: string;
  /** For a `share` test: the label whose share moved. */
  label?: string;
  /** That test's statistic (`calibrated`: in standard deviations from its expectation). */
  statistic: number;
  /** Its p-value; absent for an `evidently` distance. */
  pValue?: number;
  /** The level (or distance) it was compared with at this check. */
  threshold: number;
  /** `calibrated`: the column's effect sizes. */
  effects?: MonitorEffects;
}

/** A drift episode: from the first alarm until the data looks like the reference again. */
export interface DriftEpisode {
  /** 1 for the monitor's first episode, then 2, ... */
  id: number;
  /** ISO-8601 time of the check that opened it. */
  startedAt: string;
  /** Predictions recorded when it opened. */
  startedAtPrediction: number;
  /** Every column that alarmed during the episode. */
  columns: string[];
  /** Checks that alarmed during the episode. */
  alarms: number;
  /** When it resolved (absent while open). */
  endedAt?: string;
  /** Predictions recorded when it resolved (absent while open). */
  endedAtPrediction?: number;
}

/** Payload of `check`. */
export interface MonitorCheck {
  /** The monitor's name. */
  name: string;
  /** The check's dataset drift report. */
  report: MonitorReport;
  /** Rows of the window checked. */
  rows: number;
  /** Predictions recorded so far. */
  predictions: number;
  /** Inputs that did not fit the reference columns, since the monitor started. */
  mismatched: MismatchCounts;
  /** ISO-8601 time of the check. */
  at: string;
  /** Whether the monitor is in a drift episode after this check. */
  status: MonitorStatus;
}

/** Payload of `drift:detected`: the check that opened an episode. */
export interface DriftDetected extends MonitorCheck {
  /** The columns that alarmed. */
  columns: string[];
  /** Per alarming column: its most significant test, statistic, p-value and effect sizes. */
  findings: DriftFinding[];
  /** The episode this check opened. */
  episode: DriftEpisode;
}

/** Payload of `drift:resolved`: the check that closed an episode. */
export interface DriftResolved {
  /** The monitor's name. */
  name: string;
  /** The episode that ended, with `endedAt` and `endedAtPrediction` set. */
  episode: DriftEpisode;
  /** The report of the check that found no drift. */
  report: MonitorReport;
  /** ISO-8601 time of that check. */
  at: string;
}

/** Payload of `decay:detected`. */
export interface DecayDetected {
  /** The monitor's name. */
  name: string;
  /** The streaming detector's name. */
  detector: string;
  /** Outcomes seen since the detector last reset. */
  outcomes: number;
  /** Share of those outcomes counted as errors (mean of the values fed). */
  errorRate: number;
  /** ISO-8601 time of the outcome that tripped the detector. */
  at: string;
}

/** Events of a monitor. */
export interface MonitorEvents {
  /** A drift check finished (whatever its verdict). */
  check: MonitorCheck;
  /** A drift episode started: once per episode, however many checks alarm during it. */
  'drift:detected': DriftDetected;
  /** The drift episode ended: the window looks like the reference again. */
  'drift:resolved': DriftResolved;
  /** The outcome detector signalled decay. */
  'decay:detected': DecayDetected;
  /** Background work failed (a scheduled check, recording); predictions were not affected. */
  error: {
    /** The monitor's name. */
    name: string;
    /** What failed: a scheduled drift check, recording a prediction, or a group exchange. */
    operation: 'check' | 'record' | 'share';
    /** What was thrown. */
    error: unknown;
  };
}

/** `stable`: no drift episode; `drifting`: an episode is open. */
export type MonitorStatus = 'stable' | 'drifting';

/** A monitor group as one replica last saw it (see `MonitorOptions.replicas`). */
export interface MonitorGroupState {
  /** This replica's id. */
  id: string;
  /** Live replicas merged at the last exchange, this one included. */
  replicas: number;
  /** Rows of the merged window at the last exchange. */
  rows: number;
  /** The replica that judges the merged window (absent when unknown). */
  judge?: string;
  /** ISO-8601 time of the last exchange. */
  at: string;
}

/** What {@link Monitor.state} returns. */
export interface MonitorState {
  /** `drifting` while an episode is open, else `stable`. */
  status: MonitorStatus;
  /** The open episode, when drifting. */
  episode?: DriftEpisode;
  /** Episodes so far (open one included). */
  episodes: number;
  /** Predictions recorded so far. */
  predictions: number;
  /** Drift checks run so far (scheduled and `check()`). */
  checks: number;
  /** ISO-8601 time of the last check. */
  lastCheckAt?: string;
  /**
   * With `replicas`: the group (status, episode and episodes above are the group's, as of the
   * last exchange; checks are those this replica judged).
   */
  group?: MonitorGroupState;
}

/** Counters of a monitor. */
export interface MonitorStats {
  /** Predictions recorded (through `wrap` or `record`). */
  predictions: number;
  /** Calls of the wrapped function that threw or rejected (passed through unchanged). */
  errors: number;
  /** Rows in the window. */
  rows: number;
  /** Inputs that did not fit the reference columns. */
  mismatched: MismatchCounts;
  /** Drift checks run (scheduled and `check()`). */
  checks: number;
  /** Outcomes matched to a recorded prediction. */
  outcomes: number;
  /** Outcomes whose id matched no recorded prediction (unknown or forgotten). */
  unmatchedOutcomes: number;
  /** Reference columns that are not monitored, with the reason. */
  unmonitored: Record<string, string>;
  /** The last check's report. */
  lastReport?: MonitorReport;
}

/** Options of {@link Monitor.wrap}. */
export interface WrapOptions<A> {
  /** Names a prediction (from its first argument) so its outcome can be recorded later. */
  id?: (input: A) => string;
}

/** Records predictions and watches them for drift and decay; see `createMonitor`. */
export interface Monitor extends Listenable<MonitorEvents>, PredictionRecorder {
  /** The monitored name. */
  readonly name: string;
  /**
   * Returns a function with `fn`'s signature (sync stays sync) that records its first argument
   * (a row object), output and latency. Results and errors pass through unchanged.
   *
   * @typeParam F - the wrapped function's type, kept as is (sync or async, same parameters).
   *
   * @throws {ValidationError} when `fn` (or `opts.id`) is not a function.
   */
  wrap<F extends (...args: never[]) => unknown>(fn: F, opts?: WrapOptions<Parameters<F>[0]>): F;
  /**
   * Records one prediction made elsewhere (the router and `scoreBatch` use this). Never throws.
   * `id` makes its outcome recordable.
   */
  record(input: unknown, output: unknown, latencyMs: number, id?: string): void;
  /**
   * Feeds the ground truth of prediction `id` to the decay detector; false when `id` is unknown.
   *
   * @throws {ValidationError} when `id` is not a string.
   */
  recordOutcome(id: string, label: unknown): boolean;
  /**
   * Runs the drift check now on the window (with the same effect on episodes as a scheduled
   * check) and returns its report.
   *
   * @throws {ValidationError} (as a rejection) when no prediction was recorded yet.
   */
  check(): Promise<MonitorReport>;
  /**
   * Whether the monitor (or, with `replicas`, its group) is in a drift episode, and which.
   * Never throws.
   */
  state(): MonitorState;
  /**
   * With `replicas`: exchanges windows with the group now (the timer does it every `flushMs`)
   * and, when this replica judges and enough group predictions arrived, checks the merged
   * window. Resolves the group as seen; undefined without `replicas` or while the reference is
   * still being read.
   *
   * @throws {ConflictError} (as a rejection) when another process publishes under this replica
   *   id.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store cannot
   *   be reached.
   */
  share(): Promise<MonitorGroupState | undefined>;
  /**
   * Counters since the monitor started: predictions, errors, mismatches, checks, outcomes.
   * Never throws.
   */
  stats(): MonitorStats;
  /** Stops scheduled checks and removes listeners. Never throws. */
  close(): void;
}

/**
 * @module
 * The contracts of drift detection: one test on one column (`DriftDetector`) and its
 * result. Definitions of each method are in docs/drift.md.
 */

/** Whether a detector's verdict comes from a p-value or from a distance. */
export type DriftKind = 'p_value' | 'distance';

/** Values removed before a test (null, undefined, NaN; infinities from numerical samples). */
export interface MissingCounts {
  /** Missing values (null, undefined, NaN) in the reference column. */
  reference: number;
  /** Missing values in the current column. */
  current: number;
}

/** The outcome of one drift test on one column. */
export interface DriftTestResult {
  /** The detector's name, e.g. `ks`. */
  method: string;
  /** The test statistic or distance. Never NaN. */
  statistic: number;
  /** The p-value, for `kind: 'p_value'` detectors. */
  pValue?: number;
  /** The threshold the verdict used. */
  threshold: number;
  /** `pValue < threshold` for p-value tests, `statistic >= threshold` for distances. */
  drifted: boolean;
  /** `p_value`: drift when `pValue < threshold`; `distance`: drift when `statistic >= threshold`. */
  kind: DriftKind;
  /** How many values were removed from each sample before testing. */
  missing: MissingCounts;
}

/** Options of {@link DriftDetector.test}. */
export interface DriftTestOptions {
  /** Overrides the detector's default threshold. */
  threshold?: number;
  /** Binning for binned distances: `reference` (default) or `evidently` (parity mode). */
  binning?: 'reference' | 'evidently';
}

/** One drift test or distance on one column. */
export interface DriftDetector {
  /** Registry name: `ks`, `chisquare`, `psi`, ... */
  readonly name: string;
  /** Which column types the detector accepts. */
  readonly supports: 'numerical' | 'categorical' | 'both';
  /** Whether the detector reports a p-value or a distance. */
  readonly kind: DriftKind;
  /** The threshold used when none is given. */
  readonly defaultThreshold: number;
  /**
   * Tests `current` against `reference` (missing values removed first and counted).
   *
   * @throws {ValidationError} when a sample is empty once missing values are removed, holds
   *   labels for a numerical test (or too many distinct labels for a categorical one), an
   *   option is invalid, or the result would be undefined (NaN) or overflow: never a silent
   *   "no drift".
   */
  test(
    reference: ArrayLike<number | string | null | undefined>,
    current: ArrayLike<number | string | null | undefined>,
    opts?: DriftTestOptions,
  ): DriftTestResult;
}

/** A column's result in a dataset report. */
export type ColumnDriftResult = DriftTestResult;

/** The result of `detectDrift` over a table. */
export interface DatasetDriftReport {
  /** The dataset verdict (see `correction` and `driftShare`). */
  drifted: boolean;
  /** Share of tested columns that drifted. */
  share: number;
  /** Number of tested columns that drifted. */
  driftedColumns: number;
  /** One result per tested column. */
  columns: Record<string, ColumnDriftResult>;
  /** The multiple-testing correction applied to p-values. */
  correction: 'none' | 'bonferroni' | 'bh';
  /** The share of drifted columns at which the dataset counts as drifted. */
  driftShare: number;
}

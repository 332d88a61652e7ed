/**
 * @module
 * The contract shared by keel's streaming drift detectors (ports of River's): feed one value
 * at a time with `update(x)`, read the verdict from the returned object.
 */

/** What one `update(x)` of a streaming detector reports. */
export interface StreamingUpdate {
  /** A change was detected on this update; the detector resets on the next update. */
  drift: boolean;
  /** The detector is in its warning zone (always false for detectors without one). */
  warning: boolean;
}

/**
 * A streaming drift detector. It keeps state between updates, so each instance watches one
 * stream. After an update that reports `drift`, the next update first resets the state,
 * as River does.
 *
 * @example
 * ```ts
 * const ddm = new Ddm();
 * for (const correct of outcomes) if (ddm.update(correct ? 0 : 1).drift) retrain();
 * ```
 */
export interface StreamingDetector<U extends StreamingUpdate = StreamingUpdate> {
  /** The detector's name, e.g. `ddm`. */
  readonly name: string;
  /** Whether the last update detected a drift. */
  readonly driftDetected: boolean;
  /** Whether the last update was in the warning zone. */
  readonly warningDetected: boolean;
  /**
   * Feeds one value and reports the verdict.
   *
   * @throws {ValidationError} on a value the detector cannot read (the state is unchanged):
   *   not 0/1 or a boolean for the error-rate detectors (DDM, EDDM), outside [0, 1] for HDDM,
   *   not finite for the others.
   */
  update(x: number | boolean): U;
  /**
   * Forgets everything seen so far.
   *
   * Never throws.
   */
  reset(): void;
}

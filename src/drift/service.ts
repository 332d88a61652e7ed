/**
 * @module
 * The drift service: `detectDrift` with keel's instrumentation around it (span
 * `keel.drift.detect`, histogram `keel.drift.score` per method and column, event
 * `drift:detected`), as `createKeel` wires it.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { z } from 'zod';
import { type Emit, emitNothing } from '../core/events.js';
import { functionOption, objectOption } from '../core/option-schemas.js';
import { createTelemetry, recordError, type Telemetry } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import { type DetectDriftOptions, type DetectDriftReport, detectDrift } from './dataset.js';
import type { Profile } from './profile.js';
import type { Table } from './table.js';

/** Events of the drift service. */
export type DriftEvents = {
  /** A dataset check found drift (the dataset verdict, not a single column). */
  'drift:detected': {
    /** Share of tested columns that drifted. */
    share: number;
    /** Number of drifted columns. */
    driftedColumns: number;
    /** Names of the drifted columns. */
    columns: string[];
    /** The multiple-testing correction applied. */
    correction: DetectDriftReport['correction'];
    /** The full report. */
    report: DetectDriftReport;
  };
};

/** Options of {@link createDriftService}. */
export interface DriftServiceOptions {
  /** Where spans and metrics go (default: the global OpenTelemetry API, a no-op until set). */
  telemetry?: Telemetry;
  /** Receives `drift:detected`. */
  emit?: Emit<DriftEvents>;
}

/** Dataset drift with telemetry and events. */
export interface DriftService {
  /**
   * `detectDrift(reference, current, opts)` inside span `keel.drift.detect`; records each
   * column's statistic in histogram `keel.drift.score` and emits `drift:detected` when the
   * dataset drifted. Throws what `detectDrift` throws (the span records it).
   *
   * @throws {ValidationError} as {@link detectDrift} does: bad options, a malformed table, or
   *   no column that can be tested.
   */
  detect(reference: Table | Profile, current: Table, opts?: DetectDriftOptions): DetectDriftReport;
}

/**
 * Creates the drift service (`createKeel` wires one as `keel.drift`).
 *
 * @example
 * ```ts
 * import { createDriftService, profile } from 'keel';
 *
 * const drift = createDriftService({
 *   emit: (event, { columns }) => console.log(event, columns.join(', ')),
 * });
 * // the reference: a profile of the training data (stored once, no rows kept)
 * const reference = profile({ age: [31, 45, 27, 52, 38, 41, 29, 47] });
 * const batch = { age: [61, 70, 58, 66, 72, 64, 69, 75] }; // today's traffic
 * const report = drift.detect(reference, batch, { correction: 'bh' }); // drift:detected age
 * console.log(report.drifted, report.tested); // true 1
 * ```
 * @throws {ValidationError} when `opts.telemetry` is not an object or `opts.emit` is not a
 *   function.
 */
export function createDriftService(opts: DriftServiceOptions = {}): DriftService {
  parseWith(
    z.looseObject({ telemetry: objectOption.optional(), emit: functionOption.optional() }),
    opts,
    'createDriftService options',
  );
  const telemetry = opts.telemetry ?? createTelemetry();
  const emit = opts.emit ?? (emitNothing as Emit<DriftEvents>);
  return {
    detect(reference, current, detectOpts) {
      // detectDrift is synchronous, so the span is managed here rather than with inSpan.
      const span = telemetry.tracer.startSpan('keel.drift.detect');
      let report: DetectDriftReport;
      try {
        report = detectDrift(reference, current, detectOpts);
      } catch (error) {
        recordError(span, error);
        span.end();
        throw error;
      }
      const drifted: string[] = [];
      const methods = new Set<string>();
      try {
        const score = telemetry.histogram(
          'keel.drift.score',
          'Absolute drift statistic (distance or test statistic) of each tested column',
        );
        for (const [column, result] of Object.entries(report.columns)) {
          methods.add(result.method);
          if (result.drifted) drifted.push(column);
          score.record(Math.abs(result.statistic), {
            'keel.drift.method': result.method,
            'keel.drift.column': column,
            'keel.drift.detected': result.drifted,
          });
        }
        span.setAttributes({
          'keel.drift.method': [...methods],
          'keel.drift.detected': report.drifted,
        });
        span.setStatus({ code: SpanStatusCode.OK });
      } catch {
        // instrumentation must never break the operation
      } finally {
        span.end();
      }
      if (report.drifted) {
        emit('drift:detected', {
          share: report.share,
          driftedColumns: report.driftedColumns,
          columns: drifted,
          correction: report.correction,
          report,
        });
      }
      return report;
    },
  };
}

/**
 * @module
 * `createMonitor`: wraps any predict function to record its inputs, outputs and latency into
 * a bounded window, checks the window for data drift against a reference off the hot path,
 * and watches outcomes (ground truth) with a streaming detector for decay.
 */
import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import type { Clock } from '../core/clock.js';
import { isoNow } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { inSpan, type Telemetry } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import type { DetectDriftOptions, DetectDriftReport } from '../drift/dataset.js';
import { isProfile, type Profile } from '../drift/profile.js';
import { createDriftService } from '../drift/service.js';
import { Adwin } from '../drift/streaming/adwin.js';
import { Ddm } from '../drift/streaming/ddm.js';
import { Eddm } from '../drift/streaming/eddm.js';
import { HddmA } from '../drift/streaming/hddm-a.js';
import { HddmW } from '../drift/streaming/hddm-w.js';
import { PageHinkley } from '../drift/streaming/page-hinkley.js';
import type { StreamingDetector } from '../drift/streaming/types.js';
import { inferColumnType, type Table, tableColumns } from '../drift/table.js';
import { type Listenable, listenable } from './emitter.js';
import type { PredictionRecorder } from './router.js';
import { ColumnWindow } from './window.js';

/** What a monitor needs from keel: telemetry and the clock (a `Keel` fits). */
export interface MonitorKeel {
  readonly telemetry: Telemetry;
  readonly clock: Clock;
}

/** The streaming detectors a monitor can watch outcomes with, by name. */
export const decayDetectors: Readonly<Record<DecayDetectorName, () => StreamingDetector>> = {
  ddm: () => new Ddm(),
  eddm: () => new Eddm(),
  hddm_a: () => new HddmA(),
  hddm_w: () => new HddmW(),
  page_hinkley: () => new PageHinkley(),
  adwin: () => new Adwin(),
};

/** Names of {@link decayDetectors}. */
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

/** Options of {@link createMonitor}. */
export interface MonitorOptions {
  /** A keel instance (telemetry, clock). */
  keel: MonitorKeel;
  /** What is monitored, e.g. the model name (telemetry attribute `keel.model.name`). */
  name: string;
  /** What inputs should look like: a stored profile, or a table of rows or columns. */
  reference: Table | Profile;
  /** Rows kept for the drift check. Default 1000. */
  window?: { size: number };
  /** A drift check runs after every this many predictions. Default 500. */
  checkEvery?: number;
  /** Multiple-testing correction of the check. Default `none`. */
  correction?: 'none' | 'bonferroni' | 'bh';
  /** With `correction: 'none'`, the share of drifted columns that makes the dataset drift. Default 0.5. */
  driftShare?: number;
  /** Further options of `detectDrift` (method, threshold, minEffect, columns, binning). */
  drift?: Omit<DetectDriftOptions, 'correction' | 'driftShare'>;
  /** Watch outcomes for decay (`recordOutcome`). Default: DDM on error indicators. */
  decay?: DecayOptions;
}

/** Inputs that did not fit the reference columns, since the monitor started. */
export interface MismatchCounts {
  /** Inputs that were not objects, or had a missing or wrongly typed reference column. */
  rows: number;
  /** Per reference column: values absent or of the wrong type (numbers vs labels). */
  columns: Record<string, number>;
}

/** Payload of `check` and `drift:detected`. */
export interface MonitorCheck {
  name: string;
  report: DetectDriftReport;
  /** Rows of the window checked. */
  rows: number;
  /** Predictions recorded so far. */
  predictions: number;
  mismatched: MismatchCounts;
  /** ISO-8601 time of the check. */
  at: string;
}

/** Payload of `decay:detected`. */
export interface DecayDetected {
  name: string;
  /** The streaming detector's name. */
  detector: string;
  /** Outcomes seen since the detector last reset. */
  outcomes: number;
  /** Share of those outcomes counted as errors (mean of the values fed). */
  errorRate: number;
  at: string;
}

/** Events of a monitor. */
export interface MonitorEvents {
  /** A drift check finished (whatever its verdict). */
  check: MonitorCheck;
  /** A drift check found the dataset drifted. */
  'drift:detected': MonitorCheck & { columns: string[] };
  /** The outcome detector signalled decay. */
  'decay:detected': DecayDetected;
  /** Background work failed (a scheduled check, recording); predictions were not affected. */
  error: { name: string; operation: 'check' | 'record'; error: unknown };
}

/** Counters of a monitor. */
export interface MonitorStats {
  predictions: number;
  /** Calls of the wrapped function that threw or rejected (passed through unchanged). */
  errors: number;
  /** Rows in the window. */
  rows: number;
  mismatched: MismatchCounts;
  checks: number;
  /** Outcomes matched to a recorded prediction. */
  outcomes: number;
  /** Outcomes whose id matched no recorded prediction (unknown or forgotten). */
  unmatchedOutcomes: number;
  /** The last check's report. */
  lastReport?: DetectDriftReport;
}

/** Options of {@link Monitor.wrap}. */
export interface WrapOptions<A> {
  /** Names a prediction (from its first argument) so its outcome can be recorded later. */
  id?: (input: A) => string;
}

/** Records predictions and watches them for drift and decay; see {@link createMonitor}. */
export interface Monitor extends Listenable<MonitorEvents>, PredictionRecorder {
  /** The monitored name. */
  readonly name: string;
  /**
   * Returns a function with `fn`'s signature (sync stays sync) that records its first argument
   * (a row object), output and latency. Results and errors pass through unchanged.
   */
  wrap<F extends (...args: never[]) => unknown>(fn: F, opts?: WrapOptions<Parameters<F>[0]>): F;
  /**
   * Records one prediction made elsewhere (the router and `scoreBatch` use this). Never throws.
   * `id` makes its outcome recordable.
   */
  record(input: unknown, output: unknown, latencyMs: number, id?: string): void;
  /** Feeds the ground truth of prediction `id` to the decay detector; false when `id` is unknown. */
  recordOutcome(id: string, label: unknown): boolean;
  /** Runs the drift check now on the window and returns its report. */
  check(): Promise<DetectDriftReport>;
  stats(): MonitorStats;
  /** Stops scheduled checks and removes listeners. */
  close(): void;
}

/**
 * Creates a prediction monitor.
 *
 * @example
 * ```ts
 * const monitor = createMonitor({ keel, name: 'churn', reference: profile(trainingRows) });
 * monitor.on('drift:detected', ({ columns }) => log('drift in', columns));
 * const predict = monitor.wrap(model.predict, { id: (row) => row.requestId });
 * monitor.recordOutcome(requestId, actualLabel); // later, when the truth is known
 * ```
 */
export function createMonitor(options: MonitorOptions): Monitor {
  const keel = options?.keel;
  if (typeof keel?.clock?.now !== 'function' || typeof keel.telemetry?.counter !== 'function') {
    throw new ValidationError(
      '[keel] invalid monitor options: keel must be a keel instance (telemetry, clock); pass the result of createKeel()',
      { issues: [{ path: ['keel'], message: 'expected a keel instance' }] },
    );
  }
  const o = parseWith(optionsSchema, pickOptions(options), 'monitor options');
  const reference = options.reference;
  const columns = referenceColumns(reference);
  const name = o.name;
  const window = new ColumnWindow(
    columns.map((c) => c.name),
    o.window?.size ?? 1000,
  );
  const checkEvery = o.checkEvery ?? 500;
  const detectOptions: DetectDriftOptions = {
    ...(options.drift ?? {}),
    ...(o.correction === undefined ? {} : { correction: o.correction }),
    ...(o.driftShare === undefined ? {} : { driftShare: o.driftShare }),
  };
  const detector = makeDetector(options.decay?.detector);
  const isError = options.decay?.isError ?? differs;
  const pendingCap = o.decay?.pending ?? 10_000;
  const drift = createDriftService({ telemetry: keel.telemetry });
  const telemetry = keel.telemetry;
  const attributes = { 'keel.model.name': name };
  const predictionsCounter = telemetry.counter(
    'keel.monitor.predictions',
    'Predictions recorded by monitors',
  );
  const latencyHistogram = telemetry.histogram(
    'keel.monitor.latency',
    'Latency of monitored predictions',
    's',
  );
  const events = listenable<MonitorEvents>();
  const mismatched: MismatchCounts = {
    rows: 0,
    columns: Object.fromEntries(columns.map((c) => [c.name, 0])),
  };
  const outputs = new Map<string, unknown>();
  let predictions = 0;
  let errors = 0;
  let sinceCheck = 0;
  let checks = 0;
  let outcomes = 0;
  let unmatchedOutcomes = 0;
  let decayOutcomes = 0;
  let decaySum = 0;
  let lastReport: DetectDriftReport | undefined;
  let scheduled: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const recordRow = (input: unknown): void => {
    if (typeof input !== 'object' || input === null) {
      mismatched.rows++;
      return;
    }
    const row = input as Record<string, unknown>;
    const slot = window.claim();
    let bad = false;
    for (const column of columns) {
      const value = row[column.name];
      if (value === undefined || !fits(column.type, value)) {
        bad = true;
        mismatched.columns[column.name]!++;
        window.set(column.name, slot, undefined);
      } else {
        window.set(column.name, slot, value);
      }
    }
    if (bad) mismatched.rows++;
  };

  const record = (input: unknown, output: unknown, latencyMs: number, id?: string): void => {
    try {
      predictions++;
      predictionsCounter.add(1, attributes);
      latencyHistogram.record(latencyMs / 1000, attributes);
      recordRow(input);
      if (id !== undefined) remember(id, output);
      if (++sinceCheck >= checkEvery) {
        sinceCheck = 0;
        schedule();
      }
    } catch (error) {
      events.emit('error', { name, operation: 'record', error });
    }
  };

  const remember = (id: string, output: unknown): void => {
    if (outputs.size >= pendingCap && !outputs.has(id)) {
      const oldest = outputs.keys().next();
      if (!oldest.done) outputs.delete(oldest.value);
    }
    outputs.set(id, output);
  };

  const schedule = (): void => {
    if (scheduled !== undefined || closed) return;
    // A timer: the check never runs inside (or in the microtasks of) a prediction.
    scheduled = setTimeout(() => {
      scheduled = undefined;
      runCheck().catch((error: unknown) => {
        if (!closed) events.emit('error', { name, operation: 'check', error });
      });
    }, 0);
  };

  const runCheck = (): Promise<DetectDriftReport> =>
    inSpan(telemetry, 'keel.monitor.check', attributes, async (span) => {
      const rows = window.size;
      if (rows === 0) {
        throw new ValidationError(
          `[keel] monitor "${name}" cannot check drift: no predictions recorded yet; serve traffic through monitor.wrap() first`,
        );
      }
      const report = drift.detect(reference, window.snapshot(), detectOptions);
      checks++;
      lastReport = report;
      span.setAttribute('keel.drift.detected', report.drifted);
      const payload: MonitorCheck = {
        name,
        report,
        rows,
        predictions,
        mismatched: { rows: mismatched.rows, columns: { ...mismatched.columns } },
        at: isoNow(keel.clock),
      };
      events.emit('check', payload);
      if (report.drifted) {
        const drifted = Object.keys(report.columns).filter((c) => report.columns[c]?.drifted);
        events.emit('drift:detected', { ...payload, columns: drifted });
      }
      return report;
    });

  const monitor = {
    ...events.methods(() => monitor),
    name,
    wrap<F extends (...args: never[]) => unknown>(
      fn: F,
      opts: WrapOptions<Parameters<F>[0]> = {},
    ): F {
      if (typeof fn !== 'function') {
        throw new ValidationError(
          `[keel] monitor "${name}" cannot wrap ${typeof fn}: expected a function; pass the predict function`,
        );
      }
      const idOf = opts.id;
      if (idOf !== undefined && typeof idOf !== 'function') {
        throw new ValidationError(
          `[keel] monitor "${name}": wrap option id must be a function (input) => string`,
        );
      }
      const wrapped = function (this: unknown, ...args: never[]): unknown {
        const start = performance.now();
        let result: unknown;
        try {
          result = fn.apply(this, args);
        } catch (error) {
          errors++;
          throw error;
        }
        if (isThenable(result)) {
          return result.then(
            (output: unknown) => {
              observe(args[0], output, start, idOf);
              return output;
            },
            (error: unknown) => {
              errors++;
              throw error;
            },
          );
        }
        observe(args[0], result, start, idOf);
        return result;
      };
      return wrapped as F;
    },
    record,
    recordOutcome(id: string, label: unknown): boolean {
      if (typeof id !== 'string') {
        throw new ValidationError(
          `[keel] monitor "${name}": recordOutcome needs the prediction id as a string, got ${typeof id}`,
        );
      }
      if (!outputs.has(id)) {
        unmatchedOutcomes++;
        return false;
      }
      const output = outputs.get(id);
      outputs.delete(id);
      const value = isError(output, label);
      const x = typeof value === 'boolean' ? (value ? 1 : 0) : value;
      outcomes++;
      decayOutcomes++;
      decaySum += x;
      const { drift: decayed } = detector.update(x);
      if (decayed) {
        events.emit('decay:detected', {
          name,
          detector: detector.name,
          outcomes: decayOutcomes,
          errorRate: decaySum / decayOutcomes,
          at: isoNow(keel.clock),
        });
        decayOutcomes = 0;
        decaySum = 0;
      }
      return true;
    },
    check: runCheck,
    stats(): MonitorStats {
      return {
        predictions,
        errors,
        rows: window.size,
        mismatched: { rows: mismatched.rows, columns: { ...mismatched.columns } },
        checks,
        outcomes,
        unmatchedOutcomes,
        ...(lastReport ? { lastReport } : {}),
      };
    },
    close() {
      closed = true;
      if (scheduled !== undefined) clearTimeout(scheduled);
      scheduled = undefined;
      events.clear();
    },
  } as Monitor;
  return monitor;

  function observe(
    input: unknown,
    output: unknown,
    start: number,
    idOf: ((input: never) => string) | undefined,
  ): void {
    const latencyMs = performance.now() - start;
    let id: string | undefined;
    if (idOf !== undefined) {
      try {
        id = idOf(input as never);
      } catch (error) {
        events.emit('error', { name, operation: 'record', error });
      }
    }
    record(input, output, latencyMs, id);
  }
}

interface ReferenceColumn {
  name: string;
  type: 'numerical' | 'categorical' | 'other';
}

const optionsSchema = z.object({
  name: z.string().min(1).max(256),
  window: z.strictObject({ size: z.number().int().min(1).max(10_000_000) }).optional(),
  checkEvery: z.number().int().min(1).optional(),
  correction: z.enum(['none', 'bonferroni', 'bh']).optional(),
  driftShare: z.number().gt(0).max(1).optional(),
  decay: z
    .object({
      detector: z
        .union([
          z.enum(['ddm', 'eddm', 'hddm_a', 'hddm_w', 'page_hinkley', 'adwin']),
          z.custom<StreamingDetector>(
            (v) => typeof (v as StreamingDetector | null)?.update === 'function',
            'must be a detector name or an object with update(x)',
          ),
        ])
        .optional(),
      isError: z
        .custom<(o: unknown, l: unknown) => unknown>((v) => typeof v === 'function')
        .optional(),
      pending: z.number().int().min(1).optional(),
    })
    .optional(),
});

function pickOptions(options: MonitorOptions): Record<string, unknown> {
  const { keel: _keel, reference: _reference, drift: _drift, ...rest } = options;
  return rest;
}

function referenceColumns(reference: Table | Profile): ReferenceColumn[] {
  if (isProfile(reference)) {
    return Object.entries(reference.columns).map(([name, column]) => ({
      name,
      type: column.type === 'empty' ? 'other' : column.type,
    }));
  }
  const table = tableColumns(reference, 'monitor reference');
  return table.names.map((name) => {
    const type = inferColumnType(table.column(name)).type;
    return { name, type: type === 'numerical' || type === 'categorical' ? type : 'other' };
  });
}

function fits(type: ReferenceColumn['type'], value: unknown): boolean {
  if (value === null) return true; // a missing value, counted as such by the check
  if (type === 'numerical') return typeof value === 'number';
  if (type === 'categorical') return typeof value === 'string' || typeof value === 'boolean';
  return true;
}

function makeDetector(choice: DecayOptions['detector']): StreamingDetector {
  if (choice === undefined) return decayDetectors.ddm();
  if (typeof choice === 'string') return decayDetectors[choice]();
  return choice;
}

function differs(output: unknown, label: unknown): boolean {
  if (Object.is(output, label)) return false;
  try {
    return canonicalJson(output) !== canonicalJson(label);
  } catch {
    return true;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

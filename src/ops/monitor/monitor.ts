/**
 * @module
 * `createMonitor`: wraps any predict function to record its inputs, outputs and latency, checks
 * the recent inputs for data drift against a reference off the hot path (in short steps spread
 * over ticks of the event loop), turns alarms into drift episodes (one `drift:detected` per
 * episode, `drift:resolved` when it ends), and watches outcomes (ground truth) with a
 * streaming detector for decay.
 */
import { z } from 'zod';
import { canonicalJson } from '../../core/canonical-json.js';
import { isoNow } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import { inSpan } from '../../core/telemetry.js';
import { assertReadableObject, parseWith } from '../../core/validate.js';
import { createDriftService } from '../../drift/service.js';
import { Adwin } from '../../drift/streaming/adwin.js';
import { Ddm } from '../../drift/streaming/ddm.js';
import { Eddm } from '../../drift/streaming/eddm.js';
import { HddmA } from '../../drift/streaming/hddm-a.js';
import { HddmW } from '../../drift/streaming/hddm-w.js';
import { PageHinkley } from '../../drift/streaming/page-hinkley.js';
import type { StreamingDetector } from '../../drift/streaming/types.js';
import { listenable } from '../emitter.js';
import { replicaOptionsSchema, withoutReplicaStore } from '../replicas/options.js';
import { calibratedEngine } from './deferred-engine.js';
import type { CheckResult, CheckTask, DriftEngine } from './engine.js';
import { Episodes } from './episodes.js';
import { EvidentlyEngine } from './evidently-engine.js';
import { MonitorGroup } from './group.js';
import { calibratedOf, groupSettings, groupStore, judgedEvents } from './group-wiring.js';
import type {
  DecayDetectorName,
  DecayOptions,
  Monitor,
  MonitorCheck,
  MonitorEvents,
  MonitorOptions,
  MonitorReport,
  MonitorState,
  WrapOptions,
} from './types.js';

/** The streaming detectors a monitor can watch outcomes with, by name. */
export const decayDetectors: Readonly<Record<DecayDetectorName, () => StreamingDetector>> = {
  ddm: () => new Ddm(),
  eddm: () => new Eddm(),
  hddm_a: () => new HddmA(),
  hddm_w: () => new HddmW(),
  page_hinkley: () => new PageHinkley(),
  adwin: () => new Adwin(),
};

/** Longest stretch of check work between two yields to the event loop, in milliseconds. */
const SLICE_MS = 3;

/**
 * Creates a prediction monitor.
 *
 * The default (`preset: 'calibrated'`) alarms at most once per `falseAlarms.perPredictions`
 * predictions in expectation (default one million) while the traffic follows the reference
 * (independent, identically distributed rows), start-up included, and reports one
 * `drift:detected` per drift episode. `preset: 'evidently'` checks as Evidently does
 * (uncalibrated). See docs/operations.md.
 *
 * A reference of more than 20 000 values (rows x columns) is read in the background, in slices
 * of a few milliseconds between ticks of the event loop; predictions recorded meanwhile are
 * kept (the row objects themselves, at most a window of them) and checked once it is read.
 *
 * @throws {ValidationError} on bad options, and when the reference has no column that can be
 *   monitored (an empty table, only empty or mixed-type columns, or too few values). A
 *   reference read in the background reports that as an `error` event (`operation: 'check'`)
 *   and by rejecting `check()`.
 *
 * @example
 * ```ts
 * import { createMonitor, profile } from 'keel';
 *
 * type Row = { age: number; plan: string };
 * const users = (n: number, youngest: number): Row[] =>
 *   Array.from({ length: n }, (_, i) => ({ age: youngest + (i % 30), plan: i % 3 ? 'basic' : 'pro' }));
 * const monitor = createMonitor({
 *   keel,
 *   name: 'churn',
 *   reference: profile(users(2000, 20)), // the training data, ages 20 to 49
 *   window: { size: 500 },
 * });
 * monitor.on('drift:resolved', ({ episode }) => console.log('resolved', episode.id));
 * const detected = new Promise<{ columns: string[] }>((resolve) => {
 *   monitor.once('drift:detected', resolve); // e.g. page someone
 * });
 *
 * const model = { predict: (row: Row) => (row.age > 45 ? 1 : 0) };
 * const predict = monitor.wrap(model.predict, { id: (row) => `${row.age}-${row.plan}` });
 * for (const row of users(500, 40)) predict(row); // today's users are older: ages 40 to 69
 * const { columns } = await detected; // checked every 50 predictions, off the caller's path
 * console.log('drift in', columns.join(', '), monitor.state().status); // drift in age drifting
 * monitor.recordOutcome('41-pro', 0); // later, when the truth is known
 * monitor.close();
 * ```
 */
export function createMonitor(options: MonitorOptions): Monitor {
  assertReadableObject(options, 'monitor options');
  const keel = options?.keel;
  if (typeof keel?.clock?.now !== 'function' || typeof keel.telemetry?.counter !== 'function') {
    throw new ValidationError(
      '[keel] invalid monitor options: keel must be a keel instance (telemetry, clock); pass the result of createKeel()',
      { issues: [{ path: ['keel'], message: 'expected a keel instance' }] },
    );
  }
  const o = parseWith(optionsSchema, pickOptions(options), 'monitor options');
  const preset = o.preset ?? 'calibrated';
  checkPresetOptions(options, preset);
  const name = o.name;
  const size = o.window?.size ?? 1000;
  const checkEvery =
    o.checkEvery ?? (preset === 'calibrated' ? Math.max(1, Math.round(size / 10)) : 500);
  const perPredictions = o.falseAlarms?.perPredictions ?? 1_000_000;
  const telemetry = keel.telemetry;
  const what = `monitor "${name}" reference`;
  let engine: DriftEngine;
  if (preset === 'calibrated') {
    engine = calibratedEngine(options.reference, what, {
      size,
      perPredictions,
      checkEvery,
      ...(o.minEffect === undefined ? {} : { minEffect: o.minEffect }),
    });
  } else {
    const drift = createDriftService({ telemetry });
    engine = new EvidentlyEngine(
      options.reference,
      size,
      (reference, current, opts) => drift.detect(reference, current, opts),
      {
        ...(options.drift ?? {}),
        ...(o.correction === undefined ? {} : { correction: o.correction }),
        ...(o.driftShare === undefined ? {} : { driftShare: o.driftShare }),
      },
      what,
    );
  }
  const detector = makeDetector(options.decay?.detector);
  const isError = options.decay?.isError ?? differs;
  const pendingCap = o.decay?.pending ?? 10_000;
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
  const score = telemetry.histogram(
    'keel.drift.score',
    'Absolute drift statistic (distance or test statistic) of each tested column',
  );
  const events = listenable<MonitorEvents>();
  const episodes = new Episodes(size);
  const outputs = new Map<string, unknown>();
  let predictions = 0;
  let errors = 0;
  let sinceCheck = 0;
  let checks = 0;
  let outcomes = 0;
  let unmatchedOutcomes = 0;
  let decayOutcomes = 0;
  let decaySum = 0;
  let lastReport: MonitorReport | undefined;
  let lastCheckAt: string | undefined;
  let scheduled = false;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const group = monitorGroup();

  const record = (input: unknown, output: unknown, latencyMs: number, id?: string): void => {
    try {
      predictions++;
      predictionsCounter.add(1, attributes);
      latencyHistogram.record(latencyMs / 1000, attributes);
      engine.record(input);
      if (id !== undefined) remember(id, output);
      // A group's checks run on its exchange timer, on the merged window.
      if (group !== undefined) return;
      if (++sinceCheck >= checkEvery && Math.min(engine.recordedRows, size) >= engine.minRows) {
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
    // Checks falling due while one is waiting are coalesced into it.
    if (scheduled || closed) return;
    scheduled = true;
    enqueue(false, () => {
      scheduled = false;
    }).catch((error: unknown) => {
      if (!closed) events.emit('error', { name, operation: 'check', error });
    });
  };

  /** Runs checks one at a time, each starting on a timer (never inside a prediction). */
  const enqueue = (onDemand: boolean, onStart: () => void = () => {}): Promise<MonitorReport> => {
    const run = queue.then(
      () =>
        new Promise<MonitorReport>((resolve, reject) => {
          setTimeout(() => {
            onStart();
            runCheck(onDemand).then(resolve, reject);
          }, 0);
        }),
    );
    queue = run.catch(() => undefined);
    return run;
  };

  const runCheck = (onDemand: boolean): Promise<MonitorReport> =>
    inSpan(telemetry, 'keel.monitor.check', attributes, async (span) => {
      if (engine.recordedRows === 0) {
        throw new ValidationError(
          `[keel] monitor "${name}" cannot check drift: no predictions recorded yet; serve traffic through monitor.wrap() first`,
        );
      }
      const covered = predictions;
      const result = await runTask(engine.startCheck(onDemand));
      checks++;
      lastReport = result.report;
      const at = isoNow(keel.clock);
      lastCheckAt = at;
      span.setAttribute('keel.drift.detected', result.report.drifted);
      try {
        for (const [column, r] of Object.entries(result.report.columns)) {
          score.record(Math.abs(r.statistic), {
            'keel.drift.method': r.method,
            'keel.drift.column': column,
            'keel.drift.detected': r.drifted,
            ...attributes,
          });
        }
      } catch {
        // instrumentation never breaks a check
      }
      const change = episodes.observe({
        alarms: result.alarms,
        quiet: result.quiet,
        predictions: covered,
        at,
      });
      const payload: MonitorCheck = {
        name,
        report: result.report,
        rows: result.rows,
        predictions: covered,
        mismatched: engine.mismatched(),
        at,
        status: episodes.status,
      };
      events.emit('check', payload);
      if (change?.kind === 'started') {
        events.emit('drift:detected', {
          ...payload,
          columns: result.alarms,
          findings: result.findings,
          episode: change.episode,
        });
      } else if (change?.kind === 'resolved') {
        events.emit('drift:resolved', { name, episode: change.episode, report: result.report, at });
      }
      return result.report;
    });

  if (engine.prepare) {
    // A large reference is read in slices between ticks; checks queue behind the reading.
    const prepare = engine.prepare.bind(engine);
    queue = (async () => {
      do await new Promise((r) => setTimeout(r, 0));
      while (!closed && !prepare(performance.now() + SLICE_MS));
    })().catch((error: unknown) => {
      if (!closed) events.emit('error', { name, operation: 'check', error });
    });
  }

  /** Runs a check task to its end, yielding to the event loop between slices of work. */
  async function runTask(task: CheckTask): Promise<CheckResult> {
    let result: CheckResult | undefined = task.step(performance.now() + SLICE_MS);
    while (result === undefined) {
      await new Promise((r) => setTimeout(r, 0));
      if (closed) throw new ValidationError(`[keel] monitor "${name}" was closed during a check`);
      result = task.step(performance.now() + SLICE_MS);
    }
    return result;
  }

  /** With `replicas`: this monitor's group, exchanging on a timer (unref'd). */
  function monitorGroup(): MonitorGroup | undefined {
    const settings = groupSettings(o.replicas, name);
    if (settings === undefined) return undefined;
    return new MonitorGroup(
      groupStore(options.replicas?.store, keel.metadata),
      keel.clock,
      settings,
      {
        engine: () => calibratedOf(engine),
        checkEvery,
        run: (judge, allEffects) =>
          inSpan(
            telemetry,
            'keel.monitor.check',
            { ...attributes, 'keel.monitor.group': settings.group },
            () => runTask(judge.startCheck(allEffects)),
          ),
        judged: (check) => {
          checks++;
          lastReport = check.result.report;
          lastCheckAt = check.at;
          const emitted = judgedEvents(name, check);
          events.emit('check', emitted.check);
          if (emitted.detected) events.emit('drift:detected', emitted.detected);
          if (emitted.resolved) events.emit('drift:resolved', emitted.resolved);
        },
        onError: (error) => {
          if (!closed) events.emit('error', { name, operation: 'share', error });
        },
      },
    );
  }

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
    check: () => (group === undefined ? enqueue(true) : groupCheck(group)),
    async share() {
      if (group === undefined) return undefined;
      await group.share();
      return group.view;
    },
    state(): MonitorState {
      const episode = group ? group.episode : episodes.current;
      const view = group?.view;
      return {
        status: group ? group.status : episodes.status,
        ...(episode ? { episode } : {}),
        episodes: group ? group.episodes : episodes.count,
        predictions,
        checks,
        ...(lastCheckAt ? { lastCheckAt } : {}),
        ...(view ? { group: view } : {}),
      };
    },
    stats() {
      return {
        predictions,
        errors,
        rows: engine.rows,
        mismatched: engine.mismatched(),
        checks,
        outcomes,
        unmatchedOutcomes,
        unmonitored: { ...engine.unmonitored },
        ...(lastReport ? { lastReport } : {}),
      };
    },
    close() {
      closed = true;
      group?.close().catch(() => {});
      events.clear();
    },
  } as Monitor;
  return monitor;

  /** `check()` of a group replica: an exchange and a check of the merged window. */
  async function groupCheck(made: MonitorGroup): Promise<MonitorReport> {
    if (engine.recordedRows === 0) {
      throw new ValidationError(
        `[keel] monitor "${name}" cannot check drift: no predictions recorded yet; serve traffic through monitor.wrap() first`,
      );
    }
    const result = await made.share(true);
    if (result === undefined) {
      throw new ValidationError(
        `[keel] monitor "${name}" cannot check drift yet: its reference is still being read; try again shortly`,
      );
    }
    return result.report;
  }

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

const optionsSchema = z.object({
  name: z.string().min(1).max(256),
  preset: z.enum(['calibrated', 'evidently']).optional(),
  window: z.strictObject({ size: z.number().int().min(1).max(10_000_000) }).optional(),
  checkEvery: z.number().int().min(1).optional(),
  falseAlarms: z
    .strictObject({ perPredictions: z.number().int().min(10).max(Number.MAX_SAFE_INTEGER) })
    .optional(),
  minEffect: z.number().min(0).refine(Number.isFinite, 'must be finite').optional(),
  correction: z.enum(['none', 'bonferroni', 'bh']).optional(),
  replicas: replicaOptionsSchema.optional(),
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
  return withoutReplicaStore(rest);
}

/** Options of one preset given to the other are refused, never silently ignored. */
function checkPresetOptions(options: MonitorOptions, preset: 'calibrated' | 'evidently'): void {
  const evidentlyOnly = (['correction', 'driftShare', 'drift'] as const).filter(
    (k) => options[k] !== undefined,
  );
  const calibratedOnly = (['falseAlarms', 'minEffect', 'replicas'] as const).filter(
    (k) => options[k] !== undefined,
  );
  const wrong = preset === 'calibrated' ? evidentlyOnly : calibratedOnly;
  if (wrong.length === 0) return;
  const hint =
    preset === 'calibrated'
      ? "they configure Evidently's per-check rule; pass preset: 'evidently' to use it, or remove them (the calibrated default has falseAlarms and minEffect)"
      : "they configure the calibrated default; remove them or drop preset: 'evidently'";
  throw new ValidationError(
    `[keel] invalid monitor options: ${wrong.join(', ')} ${wrong.length > 1 ? 'do' : 'does'} not apply to preset '${preset}': ${hint}`,
    { issues: wrong.map((k) => ({ path: [k], message: `not an option of preset '${preset}'` })) },
  );
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

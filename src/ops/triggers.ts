/**
 * @module
 * Continuous-training triggers: a schedule (`every`), data drift (`onDrift`), model decay
 * (`onDecay`) and any event on an emitter (`onEvent`). A trigger only says "train now, because";
 * the training loop decides whether a run starts.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import type { EventSource } from './context.js';
import type { Listenable } from './emitter.js';
import type { MonitorEvents } from './monitor/types.js';

/** Why a training run was asked for. */
export interface TriggerEvent {
  /** `every`, `drift`, `decay`, `event`, `manual`, or a custom trigger's kind. */
  kind: string;
  /** One line for humans, recorded on the run. */
  reason: string;
  /** ISO-8601 time the trigger fired. */
  at: string;
  /** What the trigger saw (drift share and columns, decay rate, the event's name). */
  details?: JsonObject;
}

/** Calls the loop with a reason (and optional details) whenever the trigger fires. */
export type FireTrigger = (reason: string, details?: JsonObject) => void;

/** A source of training requests. Write your own by implementing `attach`. */
export interface Trigger {
  /** Recorded as the trigger kind of the runs it starts. */
  readonly kind: string;
  /** Starts watching; returns a function that stops watching. */
  attach(fire: FireTrigger): () => void;
}

/** Something to watch for drift or decay: a monitor. */
export type MonitorSource = Pick<Listenable<MonitorEvents>, 'on' | 'off'>;

/**
 * Fires every `ms` milliseconds (the timer never keeps a process alive).
 *
 * @throws {ValidationError} when `ms` is not an integer from 1 to 2 147 483 647 (about 24.8
 *   days, the longest timer Node allows).
 *
 * @example
 * ```ts
 * createTrainingLoop({ ..., triggers: [every({ ms: 24 * 3600_000 })] });
 * ```
 */
export function every(opts: { ms: number }): Trigger {
  const { ms } = parseWith(everySchema, opts, 'every() options');
  return {
    kind: 'every',
    attach(fire) {
      const timer = setInterval(() => fire(`schedule: every ${ms} ms`, { ms }), ms);
      (timer as { unref?: () => void }).unref?.();
      return () => clearInterval(timer);
    },
  };
}

/**
 * Fires when `monitor` opens a drift episode: once per episode (`drift:detected`), however many
 * checks alarm while the drift lasts; a new episode (after `drift:resolved`) fires again.
 *
 * @throws {ValidationError} when `monitor` has no `on`/`off` (pass a `createMonitor` result).
 */
export function onDrift(monitor: MonitorSource): Trigger {
  checkMonitor(monitor, 'onDrift');
  return {
    kind: 'drift',
    attach(fire) {
      const listener = (detected: MonitorEvents['drift:detected']): void => {
        const columns = detected.columns;
        fire(
          `drift: ${columns.join(', ') || 'dataset'} (episode ${detected.episode.id}, share ${round(detected.report.share)}) on monitor "${detected.name}"`,
          {
            monitor: detected.name,
            episode: detected.episode.id,
            share: detected.report.share,
            columns,
          },
        );
      };
      monitor.on('drift:detected', listener);
      return () => monitor.off('drift:detected', listener);
    },
  };
}

/**
 * Fires when `monitor` detects decay in the outcomes it was given (`decay:detected`).
 *
 * @throws {ValidationError} when `monitor` has no `on`/`off` (pass a `createMonitor` result).
 */
export function onDecay(monitor: MonitorSource): Trigger {
  checkMonitor(monitor, 'onDecay');
  return {
    kind: 'decay',
    attach(fire) {
      const listener = (decay: MonitorEvents['decay:detected']): void => {
        fire(
          `decay: ${decay.detector} saw error rate ${round(decay.errorRate)} over ${decay.outcomes} outcomes on monitor "${decay.name}"`,
          {
            monitor: decay.name,
            detector: decay.detector,
            errorRate: decay.errorRate,
            outcomes: decay.outcomes,
          },
        );
      };
      monitor.on('decay:detected', listener);
      return () => monitor.off('decay:detected', listener);
    },
  };
}

/**
 * Fires on every `name` event of `events` (e.g. `keel.events`, `'artifact:put'`) that passes
 * `filter`.
 *
 * @throws {ValidationError} when `events` has no `on`/`off`, `name` is empty or longer than
 *   256 characters, or `filter` is not a function.
 *
 * @example
 * ```ts
 * onEvent(keel.events, 'model:registered', (e) => e.model === 'features')
 * ```
 */
export function onEvent<P = unknown>(
  events: EventSource,
  name: string,
  filter?: (payload: P) => boolean,
): Trigger {
  assertReadableObject(events, 'onEvent emitter');
  if (typeof events?.on !== 'function' || typeof events.off !== 'function') {
    throw invalid('onEvent needs an emitter with on() and off(); pass keel.events');
  }
  const event = parseWith(eventNameSchema, name, 'onEvent event name');
  if (filter !== undefined && typeof filter !== 'function') {
    throw invalid('onEvent filter must be a function (payload) => boolean');
  }
  return {
    kind: 'event',
    attach(fire) {
      const listener = (payload: object): void => {
        if (filter && !filter(payload as P)) return;
        fire(`event: ${event}`, { event });
      };
      events.on(event, listener);
      return () => events.off(event, listener);
    },
  };
}

const everySchema = z.strictObject({ ms: z.number().int().min(1).max(2_147_483_647) });
const eventNameSchema = z.string().min(1).max(256);

function checkMonitor(monitor: unknown, what: string): void {
  assertReadableObject(monitor, `${what} monitor`);
  const m = monitor as Partial<MonitorSource> | undefined;
  if (typeof m?.on !== 'function' || typeof m.off !== 'function') {
    throw invalid(`${what} needs a monitor (createMonitor); got ${typeof monitor}`);
  }
}

function round(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : String(x);
}

function invalid(message: string): ValidationError {
  return new ValidationError(`[keel] invalid trigger: ${message}`);
}

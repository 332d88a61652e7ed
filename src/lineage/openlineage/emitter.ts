/**
 * @module
 * The OpenLineage emitter `createKeel({ openLineage })` attaches to keel's event bus: it turns
 * each tracked run's start and end (pipeline runs and their steps included) and each gate
 * verdict on a registered version into RunEvents, and hands them to the transport through a
 * bounded queue that never blocks or fails the code that emitted.
 */
import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { Telemetry } from '../../core/telemetry.js';
import { parseWith } from '../../core/validate.js';
import type { GateEvents } from '../../gates/evaluator.js';
import type { Run, TrackerEvents } from '../../tracking/types.js';
import {
  type EventSettings,
  endEventType,
  gateEvent,
  jobOf,
  type ParentIdentity,
  runEvent,
} from './events.js';
import { KEEL_PRODUCER, type OpenLineageRunEvent } from './spec.js';
import type { OpenLineageTransport } from './transports.js';

/** Options of `createKeel({ openLineage })`. */
export interface OpenLineageOptions {
  /** Where events go: a transport (`httpTransport`, `consoleTransport`, `fileTransport`) or a function. */
  transport: OpenLineageTransport | ((event: OpenLineageRunEvent) => void | Promise<void>);
  /** Namespace of keel's jobs and datasets. Default `keel`. */
  namespace?: string;
  /** The `producer` URI of events and facets. Default: keel's package page. */
  producer?: string;
  /** Events waiting for the transport at most; more are dropped and counted. Default 1000. */
  queueSize?: number;
  /** How long `keel.close()` waits for queued events before it drops them. Default 5000 ms. */
  closeTimeoutMs?: number;
}

/** What the emitter did so far. */
export interface OpenLineageStats {
  /** Events built. */
  emitted: number;
  /** Events the transport delivered. */
  sent: number;
  /** Events lost: the queue was full, the transport failed (after its retries) or keel closed. */
  dropped: number;
  /** Events queued or being sent. */
  pending: number;
  /** Why the last event was dropped. */
  lastError?: string;
}

/** The OpenLineage emitter of a keel instance (`keel.openLineage`). */
export interface OpenLineageEmitter {
  /** Counts of emitted, sent, dropped and pending events (a copy). Never throws. */
  stats(): OpenLineageStats;
  /**
   * Resolves when every queued event was sent or dropped (true), or after `timeoutMs`
   * (default `closeTimeoutMs`; false, and the queue keeps draining).
   *
   * @throws {ValidationError} (as a rejection) when `timeoutMs` is not an integer from 0 to
   *   600000.
   */
  flush(timeoutMs?: number): Promise<boolean>;
  /**
   * Stops listening, flushes (up to `closeTimeoutMs`), drops the rest and closes the
   * transport. `keel.close()` calls it. Never rejects: a transport that fails to close is
   * reported in `stats().lastError`.
   */
  close(): Promise<void>;
}

/** The part of keel's event bus the emitter listens on (`keel.events` fits). */
export interface OpenLineageBus {
  /** Adds a listener. Never throws (keel's `SafeEmitter`). */
  on(event: 'run:started', fn: (payload: TrackerEvents['run:started']) => void): unknown;
  /** Adds a listener. */
  on(event: 'run:ended', fn: (payload: TrackerEvents['run:ended']) => void): unknown;
  /** Adds a listener. */
  on(event: 'gate:evaluated', fn: (payload: GateEvents['gate:evaluated']) => void): unknown;
  /** Removes a listener. Never throws (keel's `SafeEmitter`). */
  off(event: 'run:started', fn: (payload: TrackerEvents['run:started']) => void): unknown;
  /** Removes a listener. */
  off(event: 'run:ended', fn: (payload: TrackerEvents['run:ended']) => void): unknown;
  /** Removes a listener. */
  off(event: 'gate:evaluated', fn: (payload: GateEvents['gate:evaluated']) => void): unknown;
}

/** What the emitter listens to and reads. */
export interface OpenLineageSources {
  /** keel's event bus. */
  events: OpenLineageBus;
  /** For the counters of sent and dropped events. */
  telemetry: Telemetry;
  /** The time of gate events. */
  clock: Clock;
  /** The tracked run that produced a model version, if any (for gate verdicts). */
  runOfVersion(model: string, version: number): Promise<Run | undefined>;
}

/** Run ids whose job names are remembered, for the ParentRunFacet of their children. */
const KNOWN_JOBS = 4096;

const optionsSchema = z.strictObject({
  transport: z.custom<OpenLineageOptions['transport']>(
    (value) =>
      typeof value === 'function' ||
      (typeof value === 'object' &&
        value !== null &&
        typeof (value as { send?: unknown }).send === 'function'),
    'a transport ({ send(event) }) or a function',
  ),
  namespace: z.string().min(1).max(1024).optional(),
  producer: z.url().max(2048).optional(),
  queueSize: z.number().int().min(1).max(1_000_000).optional(),
  closeTimeoutMs: z.number().int().min(0).max(600_000).optional(),
});

/**
 * Attaches an OpenLineage emitter to keel's bus (`createKeel` calls it for `openLineage`).
 *
 * @throws {ValidationError} when an option is invalid.
 */
export function createOpenLineageEmitter(
  options: OpenLineageOptions,
  sources: OpenLineageSources,
): OpenLineageEmitter {
  const opts = parseWith(optionsSchema, options, 'openLineage options');
  const transport: OpenLineageTransport =
    typeof opts.transport === 'function' ? { send: opts.transport } : opts.transport;
  const settings: EventSettings = {
    namespace: opts.namespace ?? 'keel',
    producer: opts.producer ?? KEEL_PRODUCER,
  };
  const queueSize = opts.queueSize ?? 1000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
  const { telemetry } = sources;
  const stats: OpenLineageStats = { emitted: 0, sent: 0, dropped: 0, pending: 0 };
  const queue: OpenLineageRunEvent[] = [];
  const jobs = new Map<string, string>();
  const lookups = new Set<Promise<void>>();
  let draining: Promise<void> | undefined;
  let idle: (() => void)[] = [];
  let closed = false;
  let closing: Promise<void> | undefined;

  /** Wakes `flush()` callers once nothing is queued, sending or being looked up. */
  const notifyIfIdle = (): void => {
    if (draining !== undefined || lookups.size > 0) return;
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  };

  const drop = (reason: string, error?: unknown): void => {
    stats.dropped++;
    stats.lastError = error === undefined ? reason : `${reason}: ${messageOf(error)}`;
    telemetry
      .counter('keel.openlineage.events.dropped', 'OpenLineage events that were not delivered')
      .add(1, { 'keel.openlineage.reason': reason });
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const event = queue.shift()!;
      try {
        await transport.send(event);
        stats.sent++;
        telemetry
          .counter('keel.openlineage.events.sent', 'OpenLineage events delivered')
          .add(1, { 'keel.openlineage.event_type': event.eventType });
      } catch (error) {
        drop('transport_error', error);
      } finally {
        stats.pending--;
      }
    }
    draining = undefined;
    notifyIfIdle();
  };

  const enqueue = (event: OpenLineageRunEvent): void => {
    stats.emitted++;
    if (closed || queue.length >= queueSize) {
      drop(closed ? 'closed' : 'queue_full');
      return;
    }
    queue.push(event);
    stats.pending++;
    // the transport runs after the emitting code's synchronous part, never inside it
    draining ??= Promise.resolve().then(drain);
  };

  const build = (make: () => OpenLineageRunEvent): void => {
    try {
      enqueue(make());
    } catch (error) {
      stats.emitted++;
      drop('build_error', error);
    }
  };

  const parentOf = (run: Run): ParentIdentity | undefined => {
    if (run.parentRunId === undefined) return undefined;
    // a step's parent is its pipeline's run; any other parent is known if it started here
    const job =
      run.tags['keel.step'] !== undefined ? run.tags['keel.pipeline'] : jobs.get(run.parentRunId);
    return job === undefined ? undefined : { runId: run.parentRunId, job };
  };

  const onStarted = ({ run }: TrackerEvents['run:started']): void => {
    if (!run) return;
    jobs.set(run.id, jobOf(run).name);
    if (jobs.size > KNOWN_JOBS) jobs.delete(jobs.keys().next().value!);
    build(() => runEvent('START', run, parentOf(run), settings));
  };

  const onEnded = ({ run }: TrackerEvents['run:ended']): void => {
    if (!run) return;
    build(() => runEvent(endEventType(run.status), run, parentOf(run), settings));
  };

  const onGate = ({ report, subject }: GateEvents['gate:evaluated']): void => {
    if (!subject || closed) return;
    const lookup = sources
      .runOfVersion(subject.model, subject.version)
      .then((run) => {
        if (run) {
          const at = new Date(sources.clock.now()).toISOString();
          build(() => gateEvent(run, report, at, settings));
        }
      })
      .catch((error: unknown) => {
        stats.emitted++;
        drop('lookup_error', error);
      })
      .finally(() => {
        lookups.delete(lookup);
        notifyIfIdle();
      });
    lookups.add(lookup);
  };

  const { events } = sources;
  events.on('run:started', onStarted);
  events.on('run:ended', onEnded);
  events.on('gate:evaluated', onGate);

  const flush = (timeoutMs = closeTimeoutMs): Promise<boolean> => {
    if (draining === undefined && lookups.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  };

  return {
    stats: () => ({ ...stats }),
    flush,
    close() {
      closing ??= (async () => {
        events.off('run:started', onStarted);
        events.off('run:ended', onEnded);
        events.off('gate:evaluated', onGate);
        await flush(closeTimeoutMs);
        closed = true;
        // what the transport did not take in time is lost: counted, never waited for
        for (const _ of queue.splice(0)) {
          stats.pending--;
          drop('closed');
        }
        try {
          await transport.close?.();
        } catch (error) {
          stats.lastError = `close: ${messageOf(error)}`;
        }
      })();
      return closing;
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

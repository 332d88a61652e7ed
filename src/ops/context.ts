/**
 * @module
 * What the ops loop needs from a keel instance: the registry, the gate evaluator, the event
 * bus, the clock, the default actor and telemetry (a `Keel` from `createKeel` satisfies it).
 */
import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { Actor } from '../core/schemas.js';
import type { Telemetry } from '../core/telemetry.js';
import type { GateEvaluator } from '../gates/evaluator.js';
import type { MetadataStore } from '../metadata/types.js';
import type { Registry } from '../registry/types.js';

/**
 * The parts of a keel instance the router, monitor, training loop and batch scorer use.
 * Written structurally so that any `Keel` (or a test double) fits.
 */
export interface OpsKeel {
  /** Resolves aliases and moves them (promotion, rollback). */
  readonly registry: Registry;
  /** Evaluates live-traffic gates. */
  readonly gates: GateEvaluator;
  /** The shared event bus: the router follows `alias:changed` on it. */
  readonly events: EventSource;
  /** The time source (a `ManualClock` in tests). */
  readonly clock: Clock;
  /** Who the operations loop acts as in audit entries. */
  readonly actor: Actor;
  /** Spans and metrics. */
  readonly telemetry: Telemetry;
  /** The metadata store: where replicas share live evidence (router and monitor `replicas`/`group`). */
  readonly metadata?: MetadataStore;
}

/** An event emitter that can be subscribed to by event name (eventemitter3, Node's, ...). */
export interface EventSource {
  /** Adds a listener (payloads are objects; keel checks their shape before use). */
  on(event: string, listener: (payload: object) => void): unknown;
  /** Removes a listener. */
  off(event: string, listener: (payload: object) => void): unknown;
}

/** Throws `ValidationError` unless `keel` looks like a keel instance (registry, gates, events). */
export function checkOpsKeel(keel: unknown): asserts keel is OpsKeel {
  const k = keel as Partial<OpsKeel> | undefined;
  if (
    typeof k?.registry?.resolve !== 'function' ||
    typeof k.gates?.evaluate !== 'function' ||
    typeof k.events?.on !== 'function'
  ) {
    throw new ValidationError(
      '[keel] invalid ops options: keel must be a keel instance with registry, gates and events; pass the result of createKeel()',
      { issues: [{ path: ['keel'], message: 'expected a keel instance' }] },
    );
  }
}

/**
 * @module
 * A typed event emitter on eventemitter3 whose listeners can never break the code that
 * emits: a listener that throws or rejects is reported on `listener:error` and skipped.
 */
import { EventEmitter } from 'eventemitter3';

/** Payload of `listener:error`: which event's listener failed, and how. */
export interface ListenerErrorEvent {
  event: string;
  error: unknown;
}

/** An event map: an interface from event name to payload type. */
export type EventMap = object;

type Args<E extends EventMap> = { [K in keyof E]: [payload: E[K]] } & {
  'listener:error': [payload: ListenerErrorEvent];
};

/**
 * Typed emitter. Each event carries one payload object. `emit` never throws: listener
 * failures (thrown or rejected) are re-emitted as `listener:error`.
 *
 * @example
 * ```ts
 * const events = new SafeEmitter<{ 'run:started': { runId: string } }>();
 * events.on('run:started', ({ runId }) => console.log(runId));
 * ```
 */
export class SafeEmitter<E extends EventMap> extends EventEmitter<Args<E>> {
  override emit<K extends EventEmitter.EventNames<Args<E>>>(
    event: K,
    ...args: Parameters<EventEmitter.EventListener<Args<E>, K>>
  ): boolean {
    const listeners = this.listeners(event);
    for (const listener of listeners) {
      try {
        const result: unknown = (listener as (...a: unknown[]) => unknown)(...args);
        if (isPromiseLike(result)) {
          result.then(undefined, (error: unknown) =>
            this.reportListenerError(String(event), error),
          );
        }
      } catch (error) {
        this.reportListenerError(String(event), error);
      }
    }
    return listeners.length > 0;
  }

  private reportListenerError(event: string, error: unknown): void {
    if (event === 'listener:error') return; // a failing error listener has nowhere left to report
    (this.emit as (e: string, p: ListenerErrorEvent) => boolean)('listener:error', {
      event,
      error,
    });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** A function that emits the events of map `E`: what services receive instead of an emitter. */
export type Emit<E extends EventMap> = <K extends keyof E & string>(
  event: K,
  payload: E[K],
) => void;

/** An {@link Emit} that drops everything (services used without `createKeel`). */
export const emitNothing: Emit<EventMap> = () => {};

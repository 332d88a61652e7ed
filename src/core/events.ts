/**
 * @module
 * A typed event emitter on eventemitter3 whose listeners can never break the code that
 * emits: a listener that throws or rejects is reported on `listener:error` and skipped.
 */
import { EventEmitter } from 'eventemitter3';
import { ValidationError } from './errors.js';

/** Payload of `listener:error`: which event's listener failed, and how. */
export interface ListenerErrorEvent {
  /** The event whose listener failed. */
  event: string;
  /** What the listener threw, or the reason its promise rejected. */
  error: unknown;
}

/** An event map: an interface from event name to payload type. */
export type EventMap = object;

/** The argument lists eventemitter3 sees for an event map: one payload per event. */
export type EmitterArgs<E extends EventMap> = { [K in keyof E]: [payload: E[K]] } & {
  /** A listener threw or rejected; the emitter and its other listeners went on. */
  'listener:error': [payload: ListenerErrorEvent];
};

/**
 * Typed emitter. Each event carries one payload object. Listeners are guarded when they are
 * added, so `emit` never throws: a listener that throws or rejects is reported as
 * `listener:error` and the other listeners still run. `once`, `off` and contexts behave as
 * in eventemitter3 (`listeners()` returns the guarded wrappers).
 *
 * @example
 * ```ts
 * const events = new SafeEmitter<{ 'run:started': { runId: string } }>();
 * events.on('run:started', ({ runId }) => console.log(runId));
 * ```
 */
export class SafeEmitter<E extends EventMap> extends EventEmitter<EmitterArgs<E>> {
  private readonly guarded = new WeakMap<object, Map<PropertyKey, Listener>>();

  /**
   * Adds `fn` for `event`; if it throws or rejects, `listener:error` reports it.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol, or `fn` is not a function.
   */
  override on<T extends Names<E>>(event: T, fn: EventListener<E, T>, context?: unknown): this {
    return super.on(event, this.guard(event, fn), context);
  }

  /**
   * Same as {@link SafeEmitter.on}.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol, or `fn` is not a function.
   */
  override addListener<T extends Names<E>>(
    event: T,
    fn: EventListener<E, T>,
    context?: unknown,
  ): this {
    return super.addListener(event, this.guard(event, fn), context);
  }

  /**
   * Adds `fn` for the next `event` only, guarded as {@link SafeEmitter.on}.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol, or `fn` is not a function.
   */
  override once<T extends Names<E>>(event: T, fn: EventListener<E, T>, context?: unknown): this {
    return super.once(event, this.guard(event, fn), context);
  }

  /**
   * Removes `fn` (every listener of `event` when omitted).
   *
   * @throws {ValidationError} when `event` is not a string or a symbol.
   */
  override removeListener<T extends Names<E>>(
    event: T,
    fn?: EventListener<E, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return super.removeListener(event, fn && this.guardOf(event, fn), context, once);
  }

  /**
   * Same as {@link SafeEmitter.removeListener}.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol.
   */
  override off<T extends Names<E>>(
    event: T,
    fn?: EventListener<E, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return super.off(event, fn && this.guardOf(event, fn), context, once);
  }

  /**
   * Emits `event` to its listeners; a listener that throws is reported as `listener:error`.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol.
   */
  override emit<T extends Names<E>>(
    event: T,
    ...args: EventEmitter.EventArgs<EmitterArgs<E>, T>
  ): boolean {
    checkEventName(event);
    return super.emit(event, ...args);
  }

  /** The guarded wrapper of `fn` for `event` (one per pair, so `off(fn)` finds it). */
  private guard<T extends Names<E>>(event: T, fn: EventListener<E, T>): EventListener<E, T> {
    checkEventName(event);
    if (typeof fn !== 'function') {
      throw new ValidationError(
        `[keel] invalid listener for ${typeof event === 'string' ? JSON.stringify(event) : 'a symbol event'}: expected a function`,
      );
    }
    let byEvent = this.guarded.get(fn);
    if (!byEvent) {
      byEvent = new Map();
      this.guarded.set(fn, byEvent);
    }
    let wrapper = byEvent.get(event);
    if (!wrapper) {
      const report = (error: unknown): void => this.reportListenerError(String(event), error);
      const listener = fn as unknown as Listener;
      wrapper = function (this: unknown, ...args: unknown[]): void {
        try {
          const result: unknown = listener.apply(this, args);
          if (isPromiseLike(result)) result.then(undefined, report);
        } catch (error) {
          report(error);
        }
      };
      byEvent.set(event, wrapper);
    }
    return wrapper as unknown as EventListener<E, T>;
  }

  private guardOf<T extends Names<E>>(event: T, fn: EventListener<E, T>): EventListener<E, T> {
    checkEventName(event);
    if (typeof fn !== 'function') return fn;
    return (this.guarded.get(fn)?.get(event) as unknown as EventListener<E, T> | undefined) ?? fn;
  }

  private reportListenerError(event: string, error: unknown): void {
    if (event === 'listener:error') return; // a failing error listener has nowhere left to report
    (super.emit as (e: string, p: ListenerErrorEvent) => boolean).call(this, 'listener:error', {
      event,
      error,
    });
  }
}

type Names<E extends EventMap> = EventEmitter.EventNames<EmitterArgs<E>>;
type EventListener<E extends EventMap, T extends Names<E>> = EventEmitter.EventListener<
  EmitterArgs<E>,
  T
>;
type Listener = (this: unknown, ...args: unknown[]) => unknown;

/** Event names are strings or symbols (an object's `toString` is never called). */
function checkEventName(event: unknown): void {
  if (typeof event !== 'string' && typeof event !== 'symbol') {
    throw new ValidationError(
      `[keel] invalid event name: expected a string or a symbol, got ${typeof event === 'object' ? (event === null ? 'null' : 'an object') : typeof event}`,
    );
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

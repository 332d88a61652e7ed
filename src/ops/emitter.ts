/**
 * @module
 * The listener side of the ops objects (router, monitor, training loop): each keeps its own
 * typed {@link SafeEmitter} and exposes only `on`, `once` and `off`, so callers can listen
 * but never emit in its name.
 */
import { type EventMap, type ListenerErrorEvent, SafeEmitter } from '../core/events.js';

/** Events every ops object emits besides its own: a listener that threw or rejected. */
export interface ListenerEvents {
  /** A listener threw or rejected; the emitter went on. */
  'listener:error': ListenerErrorEvent;
}

/** Something that can be listened to; listeners receive one payload object. */
export interface Listenable<E extends EventMap> {
  /**
   * Adds `listener` for `event`. A listener that throws never breaks the emitter.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol, or `listener` is not a
   *   function.
   */
  on<K extends keyof (E & ListenerEvents) & string>(
    event: K,
    listener: (payload: (E & ListenerEvents)[K]) => void,
  ): this;
  /**
   * Adds `listener` for the next `event` only.
   *
   * @throws {ValidationError} when `event` is not a string or a symbol, or `listener` is not a
   *   function.
   */
  once<K extends keyof (E & ListenerEvents) & string>(
    event: K,
    listener: (payload: (E & ListenerEvents)[K]) => void,
  ): this;
  /**
   * Removes `listener` (or every listener of `event` when omitted).
   *
   * @throws {ValidationError} when `event` is not a string or a symbol (with a `listener`).
   */
  off<K extends keyof (E & ListenerEvents) & string>(
    event: K,
    listener?: (payload: (E & ListenerEvents)[K]) => void,
  ): this;
}

/** An emitter and the listener-only facade over it, joined by {@link listenable}. */
export interface EmitterPair<E extends EventMap> {
  /** Emits `event` with `payload`; never throws. */
  emit<K extends keyof E & string>(event: K, payload: E[K]): void;
  /** Whether anyone listens to `event`. */
  has(event: keyof E & string): boolean;
  /** The listener methods to spread into the public object. */
  methods<T extends object>(self: () => T): Listenable<E>;
  /** Removes every listener. */
  clear(): void;
}

/**
 * Creates an internal emitter and the `on`/`once`/`off` methods that return the public object
 * (`self()`), so calls chain like Node's emitters.
 */
export function listenable<E extends EventMap>(): EmitterPair<E> {
  const emitter = new SafeEmitter<E>();
  const loose = emitter as unknown as LooseEmitter;
  return {
    emit(event, payload) {
      loose.emit(event, payload);
    },
    has(event) {
      return loose.listenerCount(event) > 0;
    },
    methods<T extends object>(self: () => T): Listenable<E> {
      const api = {
        on(event: string, listener: (payload: never) => void) {
          loose.on(event, listener);
          return self();
        },
        once(event: string, listener: (payload: never) => void) {
          loose.once(event, listener);
          return self();
        },
        off(event: string, listener?: (payload: never) => void) {
          if (listener) loose.off(event, listener);
          else loose.removeAllListeners(event);
          return self();
        },
      };
      return api as unknown as Listenable<E>;
    },
    clear() {
      loose.removeAllListeners();
    },
  };
}

interface LooseEmitter {
  emit(event: string, payload: unknown): boolean;
  on(event: string, listener: (payload: never) => void): unknown;
  once(event: string, listener: (payload: never) => void): unknown;
  off(event: string, listener: (payload: never) => void): unknown;
  removeAllListeners(event?: string): unknown;
  listenerCount(event: string): number;
}

/**
 * @module
 * How the router's arms follow their aliases: the first load of the champion (`started`), a
 * re-resolve of both aliases every `refreshMs` and on `alias:changed`, each new version
 * loaded before it is swapped in, and the last good version kept when a load fails.
 */
import { isKeelError, NotFoundError } from '../../core/errors.js';
import type { ModelVersion } from '../../registry/types.js';
import type { OpsKeel } from '../context.js';
import type { PredictorLoader } from './loading.js';
import type { ArmState } from './stats.js';
import type { ArmSwitch } from './swap.js';
import type { Predictor, RouterEvents } from './types.js';

/** What {@link AliasFollower} needs from the router. */
export interface FollowOptions<I, O> {
  /** The keel: its registry resolves aliases, its events announce alias changes. */
  keel: OpsKeel;
  /** The model served. */
  model: string;
  /** The arms to keep serving their aliases' versions. */
  arms: ArmSwitch<I, O>;
  /** Loads (and caches) a version's predictor. */
  load: PredictorLoader<I, O>;
  /** The version an alias points to, or null when it is unset. */
  resolveAlias(alias: string): Promise<ModelVersion | null>;
  /** How often both aliases are re-resolved, in ms. */
  refreshMs: number;
  /** Reports a background failure as the router's `error` event. */
  onError(operation: RouterEvents['error']['operation'], error: unknown, version?: number): void;
  /** Registers background work so the router's `close()` waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Whether the router is closed (nothing is swapped in then). */
  closed(): boolean;
}

/** Keeps each arm serving the version its alias points to. */
export class AliasFollower<I, O> {
  /**
   * Settles once the champion is loaded; rejects with `NotFoundError` for an unknown model or
   * an unset champion alias, or with the champion's load error. Never reported as unhandled.
   */
  readonly started: Promise<void>;
  readonly #o: FollowOptions<I, O>;
  readonly #timer: ReturnType<typeof setInterval>;

  /** Starts loading the champion, the refresh timer (unref'd) and the `alias:changed` listener. */
  constructor(options: FollowOptions<I, O>) {
    this.#o = options;
    this.started = this.#start();
    this.started.catch(() => {}); // reported through ready() and predict(), never as unhandled
    this.#timer = setInterval(() => {
      if (options.closed()) return;
      options.track(this.refresh()).catch((error: unknown) => {
        if (!options.closed()) options.onError('refresh', error);
      });
    }, options.refreshMs);
    (this.#timer as { unref?: () => void }).unref?.();
    options.keel.events.on('alias:changed', this.#onAliasChanged);
  }

  /**
   * Re-resolves both aliases now and follows them.
   *
   * @throws {NotFoundError} (as a rejection) as {@link AliasFollower.started} does.
   */
  async refresh(): Promise<void> {
    await this.started;
    const { arms, resolveAlias } = this.#o;
    for (const state of [arms.champion, arms.challenger]) {
      await this.#follow(state, await resolveAlias(state.alias));
    }
  }

  /** Stops the timer and the listener. */
  close(): void {
    clearInterval(this.#timer);
    this.#o.keel.events.off('alias:changed', this.#onAliasChanged);
  }

  async #start(): Promise<void> {
    const { keel, model, arms, resolveAlias } = this.#o;
    try {
      await keel.registry.getModel(model);
    } catch (error) {
      if (isKeelError(error, 'KEEL_NOT_FOUND')) {
        throw new NotFoundError(
          `[keel] router for model "${model}" cannot start: the model is not registered; register a version first or check the name`,
          { cause: error },
        );
      }
      throw error;
    }
    const championVersion = await resolveAlias(arms.champion.alias);
    if (championVersion === null) throw aliasNotFound(model, arms.champion.alias, 'is not set');
    await this.#follow(arms.champion, championVersion, true);
    try {
      await this.#follow(arms.challenger, await resolveAlias(arms.challenger.alias));
    } catch (error) {
      this.#o.onError('refresh', error);
    }
  }

  /** Makes `state` serve `target` (null: the alias is unset), keeping the last good on failure. */
  async #follow(state: ArmState<I, O>, target: ModelVersion | null, initial = false) {
    const { arms, model, onError } = this.#o;
    const seq = ++state.seq;
    const blocked = state.arm === 'challenger' && arms.blocks(target?.version);
    if (target === null) {
      if (state.arm === 'challenger') arms.swap(state, undefined);
      else if (state.serving) {
        onError(
          'refresh',
          aliasNotFound(model, state.alias, 'is no longer set; serving the last champion'),
        );
      }
      return;
    }
    if (blocked) return;
    if (state.serving?.version.version === target.version) return;
    let predict: Predictor<I, O>;
    try {
      predict = await this.#o.load(target);
    } catch (error) {
      if (initial) throw error;
      onError('load', error, target.version);
      return;
    }
    if (seq !== state.seq || this.#o.closed()) return;
    arms.swap(state, arms.serving(target, predict));
  }

  readonly #onAliasChanged = (payload: object): void => {
    const { keel, model, arms, track, closed, onError } = this.#o;
    const change = payload as Partial<RouterAliasChange>;
    if (closed() || change.model !== model) return;
    const state =
      change.alias === arms.champion.alias
        ? arms.champion
        : change.alias === arms.challenger.alias
          ? arms.challenger
          : undefined;
    if (!state) return;
    const version = change.version;
    track(
      (async () => {
        await this.started;
        const target =
          typeof version === 'number' ? await keel.registry.getVersion(model, version) : null;
        await this.#follow(state, target);
      })(),
    ).catch((error: unknown) => {
      if (!closed()) onError('refresh', error, typeof version === 'number' ? version : undefined);
    });
  };
}

/** The payload of `alias:changed` as the router reads it (checked field by field). */
interface RouterAliasChange {
  model: string;
  alias: string;
  version: number | null;
}

/** The error for an alias of `model` that is not (or no longer) set. */
export function aliasNotFound(model: string, alias: string, what: string): NotFoundError {
  return new NotFoundError(
    `[keel] router for model "${model}": alias "${alias}" ${what}; set it with registry.setAlias("${model}", "${alias}", version)`,
  );
}

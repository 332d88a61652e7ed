/**
 * @module
 * The router's two arms and what each serves: swapping a version in (fresh counters, event
 * `swapped`), promoting the challenger's version to the champion arm, and stopping the
 * challenger, which blocks its version until its alias is seen pointing elsewhere.
 */
import { NotFoundError } from '../../core/errors.js';
import type { EmitterPair } from '../emitter.js';
import { type ArmState, newServing, type Serving } from './stats.js';
import type { RouterEvents } from './types.js';

/** What {@link ArmSwitch} needs from the router. */
export interface ArmSwitchOptions {
  /** The model served. */
  model: string;
  /** The alias the champion arm follows. */
  champion: string;
  /** The alias the challenger arm follows. */
  challenger: string;
  /** The router's events (`swapped` goes there). */
  events: EmitterPair<RouterEvents>;
  /** Latencies kept per served version. */
  windowSize: number;
  /** Whether counters also keep a histogram for other replicas. */
  shared: boolean;
}

/** The champion and challenger arms, and every change of what they serve. */
export class ArmSwitch<I, O> {
  /** The champion arm. */
  readonly champion: ArmState<I, O>;
  /** The challenger arm. */
  readonly challenger: ArmState<I, O>;
  readonly #options: ArmSwitchOptions;
  // A rolled-back version is not served again until its alias is seen pointing elsewhere.
  #blocked: number | undefined;

  /** Two arms serving nothing yet. */
  constructor(options: ArmSwitchOptions) {
    this.#options = options;
    this.champion = { arm: 'champion', alias: options.champion, seq: 0 };
    this.challenger = { arm: 'challenger', alias: options.challenger, seq: 0 };
  }

  /** A fresh serving of `version` (new counters). */
  serving(version: Serving<I, O>['version'], predict: Serving<I, O>['predict']): Serving<I, O> {
    return newServing(version, predict, this.#options.windowSize, this.#options.shared);
  }

  /** Makes `state` serve `next` (undefined: nothing) and emits `swapped` when the version changes. */
  swap(state: ArmState<I, O>, next: Serving<I, O> | undefined): void {
    const previous = state.serving?.version.version ?? null;
    const version = next?.version.version ?? null;
    if (previous === version) return;
    state.serving = next;
    this.#options.events.emit('swapped', {
      model: this.#options.model,
      arm: state.arm,
      alias: state.alias,
      version,
      previousVersion: previous,
    });
  }

  /**
   * Whether the challenger must not serve `version`: it was rolled back. Seeing the alias point
   * at another version (or nowhere) lifts the block.
   */
  blocks(version: number | undefined): boolean {
    if (this.#blocked !== undefined && version !== this.#blocked) this.#blocked = undefined;
    return version !== undefined && version === this.#blocked;
  }

  /** Makes the champion serve the promoted version (fresh counters). */
  serveAsChampion(chal: Serving<I, O>): void {
    this.champion.seq++;
    this.swap(this.champion, this.serving(chal.version, chal.predict));
  }

  /** Stops routing to the challenger at once and blocks `version` until its alias moves. */
  stopChallenger(version: number): void {
    this.#blocked = version;
    this.challenger.seq++;
    this.swap(this.challenger, undefined);
  }

  /** The challenger when it should get traffic: set, not rolled back, not `champ`'s version. */
  routableChallenger(champ: Serving<I, O>): Serving<I, O> | undefined {
    const chal = this.challenger.serving;
    if (!chal || chal.version.version === champ.version.version) return undefined;
    return chal;
  }

  /**
   * The challenger served now, for an action named `what`.
   *
   * @throws {NotFoundError} when no challenger is served (unset, rolled back or still loading).
   */
  requireChallenger(what: string): Serving<I, O> {
    const chal = this.challenger.serving;
    if (!chal) {
      const { model, challenger } = this.#options;
      throw new NotFoundError(
        `[keel] cannot ${what} for model "${model}": no challenger is being served (alias "${challenger}" is unset, rolled back or still loading); set the alias and await router.refresh()`,
      );
    }
    return chal;
  }
}

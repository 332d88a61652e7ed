/**
 * @module
 * Drift episodes: one page per incident. An episode opens at the first check that alarms and
 * stays open while checks keep alarming; it resolves once every check for a whole window of
 * predictions was quiet (the data that alarmed has left the window, and what replaced it looks
 * like the reference, not merely just below the alarm threshold).
 */
import type { DriftEpisode, MonitorStatus } from './types.js';

/** What a check tells the episode tracker. */
export interface CheckVerdict {
  /** Columns that alarmed at this check (empty: none). */
  alarms: readonly string[];
  /** No test is even weakly significant (the data looks like the reference). */
  quiet: boolean;
  /** Predictions recorded when the check ran. */
  predictions: number;
  /** ISO-8601 time of the check. */
  at: string;
}

/** What a check did to the episodes. */
export interface EpisodeChange {
  /** An episode opened, or the open one resolved. */
  kind: 'started' | 'resolved';
  /** The episode (a copy). */
  episode: DriftEpisode;
}

/** Where the episodes of a monitor (or of a monitor group) stand between two checks. */
export interface EpisodeState {
  /** The open episode, if any. */
  current: DriftEpisode | undefined;
  /** Predictions recorded at the last check that was not quiet. */
  lastLoud: number;
  /** Episodes opened so far. */
  count: number;
}

/**
 * Applies one check to `state` (not modified): the state after it and, when it opens or
 * closes an episode, the change. `window` is how many predictions an episode must stay quiet
 * to resolve. The one definition of episodes: a single monitor's {@link Episodes} and a
 * monitor group's judge both use it.
 */
export function nextEpisodeState(
  state: EpisodeState,
  verdict: CheckVerdict,
  window: number,
): { state: EpisodeState; change?: EpisodeChange } {
  const open = state.current === undefined ? undefined : copyEpisode(state.current);
  const lastLoud =
    !verdict.quiet || verdict.alarms.length > 0 ? verdict.predictions : state.lastLoud;
  if (verdict.alarms.length > 0) {
    if (open === undefined) {
      const count = state.count + 1;
      const current: DriftEpisode = {
        id: count,
        startedAt: verdict.at,
        startedAtPrediction: verdict.predictions,
        columns: [...verdict.alarms],
        alarms: 1,
      };
      return {
        state: { current, lastLoud, count },
        change: { kind: 'started', episode: copyEpisode(current) },
      };
    }
    open.alarms++;
    for (const c of verdict.alarms) if (!open.columns.includes(c)) open.columns.push(c);
    return { state: { current: open, lastLoud, count: state.count } };
  }
  if (open !== undefined && verdict.quiet && verdict.predictions - lastLoud >= window) {
    return {
      state: { current: undefined, lastLoud, count: state.count },
      change: {
        kind: 'resolved',
        episode: { ...open, endedAt: verdict.at, endedAtPrediction: verdict.predictions },
      },
    };
  }
  return { state: { current: open, lastLoud, count: state.count } };
}

/** The episode state machine of one monitor. */
export class Episodes {
  readonly #window: number;
  #state: EpisodeState = { current: undefined, lastLoud: 0, count: 0 };

  /** @param window rows in the monitor's window: how long an episode must stay quiet to resolve. */
  constructor(window: number) {
    this.#window = window;
  }

  /** `drifting` while an episode is open. */
  get status(): MonitorStatus {
    return this.#state.current === undefined ? 'stable' : 'drifting';
  }

  /** The open episode (a copy), if any. */
  get current(): DriftEpisode | undefined {
    const current = this.#state.current;
    return current === undefined ? undefined : copyEpisode(current);
  }

  /** Episodes opened so far. */
  get count(): number {
    return this.#state.count;
  }

  /**
   * Applies one check: returns `started` (with the new episode) when it opens an episode,
   * `resolved` (with the closed episode) when it closes one, nothing otherwise.
   */
  observe(verdict: CheckVerdict): EpisodeChange | undefined {
    const next = nextEpisodeState(this.#state, verdict, this.#window);
    this.#state = next.state;
    return next.change;
  }
}

/** A copy of an episode (its column list included). */
export function copyEpisode(e: DriftEpisode): DriftEpisode {
  return { ...e, columns: [...e.columns] };
}

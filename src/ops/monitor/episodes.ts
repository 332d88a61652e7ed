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

/** The episode state machine of one monitor. */
export class Episodes {
  readonly #window: number;
  #current: DriftEpisode | undefined;
  #lastLoud = 0;
  #count = 0;

  /** @param window rows in the monitor's window: how long an episode must stay quiet to resolve. */
  constructor(window: number) {
    this.#window = window;
  }

  /** `drifting` while an episode is open. */
  get status(): MonitorStatus {
    return this.#current === undefined ? 'stable' : 'drifting';
  }

  /** The open episode (a copy), if any. */
  get current(): DriftEpisode | undefined {
    return this.#current === undefined ? undefined : copy(this.#current);
  }

  /** Episodes opened so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Applies one check: returns `started` (with the new episode) when it opens an episode,
   * `resolved` (with the closed episode) when it closes one, nothing otherwise.
   */
  observe(verdict: CheckVerdict): EpisodeChange | undefined {
    const open = this.#current;
    if (!verdict.quiet || verdict.alarms.length > 0) this.#lastLoud = verdict.predictions;
    if (verdict.alarms.length > 0) {
      if (open === undefined) {
        this.#count++;
        this.#current = {
          id: this.#count,
          startedAt: verdict.at,
          startedAtPrediction: verdict.predictions,
          columns: [...verdict.alarms],
          alarms: 1,
        };
        return { kind: 'started', episode: copy(this.#current) };
      }
      open.alarms++;
      for (const c of verdict.alarms) if (!open.columns.includes(c)) open.columns.push(c);
      return undefined;
    }
    if (
      open !== undefined &&
      verdict.quiet &&
      verdict.predictions - this.#lastLoud >= this.#window
    ) {
      this.#current = undefined;
      return {
        kind: 'resolved',
        episode: { ...copy(open), endedAt: verdict.at, endedAtPrediction: verdict.predictions },
      };
    }
    return undefined;
  }
}

function copy(e: DriftEpisode): DriftEpisode {
  return { ...e, columns: [...e.columns] };
}

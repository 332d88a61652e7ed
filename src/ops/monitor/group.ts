/**
 * @module
 * A monitor group: the replicas of one deployment judge drift on their merged window. Every
 * `flushMs` each replica bins its new rows, publishes its window's counts on a
 * {@link ReplicaBoard} and reads its live peers'. One replica, the judge, checks the merged
 * window and spends the false-alarm budget: the `judge` document (compare-and-swap) names it,
 * records which predictions of every replica its checks have covered, and is taken over when
 * its holder drops out of the board. Episodes open and resolve through the `episode` document
 * (compare-and-swap on its revision, once per transition), so the group pages once per
 * episode; the other replicas read it and report the group's state. Store layout, under
 * `ops/replicas/monitor/<group>/<fingerprint of the reference bins>/`: `replicas/<id>`,
 * `judge`, `episode`.
 */
import type { Clock } from '../../core/clock.js';
import { isoNow } from '../../core/clock.js';
import { isKeelError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import type { MetadataStore } from '../../metadata/types.js';
import { ReplicaBoard } from '../replicas/board.js';
import type { ReplicaSettings } from '../replicas/options.js';
import type { CountedWindow } from './binned-window.js';
import type { CalibratedEngine } from './calibrated-engine.js';
import type { CheckResult } from './engine.js';
import { type EpisodeChange, type EpisodeState, nextEpisodeState } from './episodes.js';
import { type Coverage, readEpisodeDoc, readJudgeDoc, withCoverage } from './group-docs.js';
import {
  MergedWindow,
  modelsFingerprint,
  summarize,
  summaryFromJson,
  summaryToJson,
  type WindowSummary,
} from './group-window.js';
import type { DriftEpisode, MonitorGroupState, MonitorStatus } from './types.js';

/** Longest stretch of binning between two yields to the event loop, in milliseconds. */
const SLICE_MS = 3;
/** Cells (rows x columns) binned between two looks at the clock. */
const STEP_CELLS = 8192;

/** What the group needs from its monitor. */
export interface GroupHooks {
  /** The monitor's calibrated engine, once its reference is read. */
  engine(): CalibratedEngine | undefined;
  /** Scheduled group checks wait for this many new group predictions. */
  checkEvery: number;
  /** Runs a check task to its end in short slices (the monitor's scheduler). */
  run(engine: CalibratedEngine, allEffects: boolean): Promise<CheckResult>;
  /** A judged check: emit `check`, and `drift:detected` / `drift:resolved` for `change`. */
  judged(check: JudgedCheck): void;
  /** A timed exchange failed (it is tried again at the next tick). */
  onError(error: unknown): void;
}

/** A check of the merged window by this replica, as the judge. */
export interface JudgedCheck {
  /** The check's outcome on the merged window. */
  result: CheckResult;
  /** The merged window checked (its mismatches are the group's). */
  window: CountedWindow;
  /** Group predictions covered by the judges' checks so far. */
  predictions: number;
  /** ISO-8601 time of the check. */
  at: string;
  /** The group's status after the check. */
  status: MonitorStatus;
  /** The episode this check opened or closed, when this replica won that transition. */
  change?: EpisodeChange;
}

/** This replica's part in its group; see the module comment. */
export class MonitorGroup {
  readonly #store: MetadataStore;
  readonly #clock: Clock;
  readonly #settings: ReplicaSettings;
  readonly #hooks: GroupHooks;
  /** Tells this monitor's summaries from an earlier process under the same id. */
  readonly #nonce = randomNonce();
  #prefix: string | undefined;
  #board: ReplicaBoard | undefined;
  /** The judge's merged window and engine, kept while this replica judges without a break. */
  #tenure:
    | { window: MergedWindow; engine: CalibratedEngine; revision: string; virtual: number }
    | undefined;
  #view: MonitorGroupState | undefined;
  #episode: DriftEpisode | undefined;
  #episodes = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #timer: ReturnType<typeof setInterval>;

  /**
   * Starts the exchange timer (every `flushMs`, unref'd).
   *
   * @param store shared store @param clock local time @param settings id, group, timing
   * @param hooks the monitor.
   */
  constructor(store: MetadataStore, clock: Clock, settings: ReplicaSettings, hooks: GroupHooks) {
    this.#store = store;
    this.#clock = clock;
    this.#settings = settings;
    this.#hooks = hooks;
    this.#timer = setInterval(() => {
      if (this.#closed) return;
      this.share().catch((error: unknown) => {
        if (!this.#closed) hooks.onError(error);
      });
    }, settings.flushMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** The group's status as this replica last saw it (`stable` before the first exchange). */
  get status(): MonitorStatus {
    return this.#episode === undefined ? 'stable' : 'drifting';
  }

  /** The group's open episode, as last seen. */
  get episode(): DriftEpisode | undefined {
    return this.#episode && { ...this.#episode, columns: [...this.#episode.columns] };
  }

  /** Episodes the group has opened, as last seen. */
  get episodes(): number {
    return this.#episodes;
  }

  /** The last exchange, if any. */
  get view(): MonitorGroupState | undefined {
    return this.#view && { ...this.#view };
  }

  /**
   * One exchange, and a check of the merged window when this replica judges and enough new
   * group predictions arrived (`force`: in any case; on a replica that does not judge, a check
   * that counts for nothing). Exchanges run one at a time, in call order.
   *
   * @throws {ConflictError} (as a rejection) when another process publishes under this replica
   *   id.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  share(force = false): Promise<CheckResult | undefined> {
    const run = this.#queue.then(() => this.#shareOnce(force));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops exchanging and withdraws this replica's window from the board (best effort). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#queue;
    await this.#board?.withdraw().catch(() => {});
  }

  async #shareOnce(force: boolean): Promise<CheckResult | undefined> {
    if (this.#closed) return undefined;
    const local = this.#hooks.engine();
    if (local === undefined) return undefined; // the reference is still being read
    await binPending(local.window);
    const columns = local.window.columns;
    this.#prefix ??= `ops/replicas/monitor/${this.#settings.group}/${modelsFingerprint(columns)}/`;
    const prefix = this.#prefix;
    this.#board ??= new ReplicaBoard({
      store: this.#store,
      prefix: `${prefix}replicas/`,
      id: this.#settings.id,
      staleAfterMs: this.#settings.staleAfterMs,
      clock: this.#clock,
    });
    const own = summarize(local.window, this.#nonce);
    await this.#board.publish(summaryToJson(own));
    const parts = new Map<string, WindowSummary>([[this.#settings.id, own]]);
    for (const peer of await this.#board.peers()) {
      const summary = summaryFromJson(peer.payload, columns);
      if (summary !== undefined) parts.set(peer.id, summary);
    }
    const episodeDoc = await this.#store.get(`${prefix}episode`);
    const episode = readEpisodeDoc(episodeDoc?.value);
    this.#episode = episode?.open ? episode.episode : undefined;
    this.#episodes = Math.max(this.#episodes, episode?.episode.id ?? 0);
    const judgeDoc = await this.#store.get(`${prefix}judge`);
    const judge = readJudgeDoc(judgeDoc?.value);
    const judging = judge === undefined || judge.by === this.#settings.id || !parts.has(judge.by);
    this.#view = {
      id: this.#settings.id,
      replicas: parts.size,
      rows: [...parts.values()].reduce((n, p) => n + p.rows, 0),
      ...(judging ? { judge: this.#settings.id } : judge ? { judge: judge.by } : {}),
      at: isoNow(this.#clock),
    };
    if (!judging) this.#tenure = undefined;
    if (this.#tenure !== undefined && this.#tenure.revision !== judgeDoc?.revision) {
      this.#tenure = undefined; // another replica judged since: its checks, not ours, came last
    }
    // The predictions of each replica that no committed check has covered yet.
    const coverage: Coverage = judge?.covered ?? Object.create(null);
    let fresh = 0;
    for (const [id, part] of parts) {
      const seen = coverage[id];
      fresh +=
        seen && seen.nonce === part.nonce && seen.processed <= part.processed
          ? part.processed - seen.processed
          : part.processed;
    }
    const merged = [...parts.values()];
    const rows = merged.reduce((n, p) => n + p.rows, 0);
    const size = merged.reduce((n, p) => n + p.size, 0);
    if (!force && (!judging || fresh < this.#hooks.checkEvery || rows < Math.min(size, 100))) {
      return undefined;
    }
    const tenure = judging ? this.#tenure : undefined;
    const window = tenure?.window ?? new MergedWindow(columns);
    const engine = tenure?.engine ?? local.withWindow(window, { size });
    const virtual = (tenure?.virtual ?? 0) + fresh;
    window.load(merged, virtual);
    const result = await this.#hooks.run(engine, force);
    if (!judging) return result; // reported, never counted: another replica judges
    const predictions = (judge?.position ?? 0) + fresh;
    const at = isoNow(this.#clock);
    const before: EpisodeState = {
      current: this.#episode,
      lastLoud: judge?.lastLoud ?? 0,
      count: episode?.episode.id ?? 0,
    };
    const next = nextEpisodeState(
      before,
      { alarms: result.alarms, quiet: result.quiet, predictions, at },
      size,
    );
    // Commit the judgement: only one replica can, for this revision of the judge document.
    let revision: string;
    try {
      ({ revision } = await this.#store.put(
        `${prefix}judge`,
        {
          by: this.#settings.id,
          at,
          position: predictions,
          lastLoud: next.state.lastLoud,
          covered: withCoverage(coverage, parts),
        },
        { ifRevision: judgeDoc ? judgeDoc.revision : null },
      ));
    } catch (error) {
      this.#tenure = undefined;
      if (isKeelError(error, 'KEEL_CONFLICT')) return result; // another replica judged first
      throw error;
    }
    this.#tenure = { window, engine, revision, virtual };
    const change = await this.#transition(episodeDoc?.revision ?? null, next, at);
    this.#hooks.judged({
      result,
      window,
      predictions,
      at,
      status: this.status,
      ...(change ? { change } : {}),
    });
    return result;
  }

  /** Writes the episode document when the check changed it; the change when this replica won it. */
  async #transition(
    ifRevision: string | null,
    next: { state: EpisodeState; change?: EpisodeChange },
    at: string,
  ): Promise<EpisodeChange | undefined> {
    const current = next.state.current;
    const shown = next.change?.episode ?? current;
    if (shown === undefined) return undefined; // stable, and it stays so
    const value: JsonValue = {
      open: current !== undefined,
      episode: shown as unknown as JsonValue,
      by: this.#settings.id,
      at,
    };
    try {
      await this.#store.put(`${this.#prefix}episode`, value, { ifRevision });
    } catch (error) {
      if (isKeelError(error, 'KEEL_CONFLICT')) return undefined; // another replica moved it
      throw error;
    }
    this.#episode = current;
    this.#episodes = Math.max(this.#episodes, shown.id);
    return next.change;
  }
}

/** Bins the window's pending rows, yielding to the event loop every few milliseconds. */
async function binPending(window: CountedWindow): Promise<void> {
  const chunk = Math.max(1, Math.floor(STEP_CELLS / Math.max(1, window.columns.length)));
  let deadline = performance.now() + SLICE_MS;
  while (window.advance(chunk) > 0) {
    if (performance.now() >= deadline) {
      await new Promise((r) => setTimeout(r, 0));
      deadline = performance.now() + SLICE_MS;
    }
  }
}

function randomNonce(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

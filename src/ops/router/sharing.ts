/**
 * @module
 * The router's side of sharing evidence with its replicas: every `flushMs` (and on
 * `router.share()`) one exchange of counts through {@link ReleaseReplicas}, then, when the
 * merged challenger requests reach `minSamples` and this replica wins the claim, the judgement
 * and its recorded outcome. Exchanges never overlap; a failing store is reported and retried
 * on the next tick, and nothing is decided without the merged evidence.
 */
import { ValidationError } from '../../core/errors.js';
import type { MetadataStore } from '../../metadata/types.js';
import type { OpsKeel } from '../context.js';
import type { ReplicaSettings } from '../replicas/options.js';
import { isRefusal, type ReleaseAction } from './auto-release.js';
import {
  type MergedRelease,
  type ReleaseId,
  type ReleaseOutcome,
  ReleaseReplicas,
} from './replicas.js';
import type { Counters } from './stats.js';
import type { AutoRelease, SharedStats } from './types.js';

/** What is served now, as far as sharing is concerned. */
export interface SharedRelease<S> {
  /** The release's identity (aliases and versions). */
  release: ReleaseId;
  /** The challenger served (the router's own handle, passed back to `judge`). */
  challenger: S;
  /** The challenger's version number. */
  version: number;
  /** The champion's live counters. */
  championCounters: Counters;
  /** The challenger's live counters. */
  challengerCounters: Counters;
}

/** What the sharing loop needs from its router. */
export interface SharingHooks<S> {
  /** Resolves once the router started. */
  started: Promise<void>;
  /** The release served now, or undefined while no challenger is routable (or closed). */
  current(): SharedRelease<S> | undefined;
  /** Judges `challenger` on `merged` and acts; undefined when it is no longer served. */
  judge(challenger: S, merged: MergedRelease): Promise<ReleaseAction | undefined>;
  /** Reports background failures. */
  onError(operation: 'share' | 'auto-release', error: unknown, version?: number): void;
  /** Registers background work so the router's `close()` waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
}

/**
 * The store replicas share: `replicas.store`, else the keel's metadata store.
 *
 * @throws {ValidationError} when neither is a MetadataStore.
 */
export function replicaStore(given: MetadataStore | undefined, keel: OpsKeel): MetadataStore {
  const store = given ?? keel.metadata;
  if (!store || typeof store.put !== 'function' || typeof store.list !== 'function') {
    throw new ValidationError(
      '[keel] invalid router options: replicas needs a MetadataStore; pass replicas.store or a keel with a metadata store',
      { issues: [{ path: ['replicas', 'store'], message: 'expected a MetadataStore' }] },
    );
  }
  return store;
}

/** Exchanges evidence with the other replicas on a timer and judges the merged evidence. */
export class ReplicaSharing<S> {
  readonly #replicas: ReleaseReplicas;
  readonly #autoRelease: AutoRelease | undefined;
  readonly #hooks: SharingHooks<S>;
  readonly #timer: ReturnType<typeof setInterval>;
  #running: Promise<SharedStats | undefined> | undefined;
  #closed = false;

  /**
   * Starts the exchange timer (unref'd).
   *
   * @param store the shared store @param keel for its clock @param settings id, group,
   * timing @param autoRelease when set, merged evidence is judged @param hooks the router.
   */
  constructor(
    store: MetadataStore,
    keel: OpsKeel,
    settings: ReplicaSettings,
    autoRelease: AutoRelease | undefined,
    hooks: SharingHooks<S>,
  ) {
    this.#replicas = new ReleaseReplicas(store, keel.clock, settings);
    this.#autoRelease = autoRelease;
    this.#hooks = hooks;
    this.#timer = setInterval(() => {
      if (this.#closed) return;
      this.share().catch((error: unknown) => {
        if (!this.#closed) hooks.onError('share', error);
      });
    }, settings.flushMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** The merged counts of the last exchange. */
  get last(): SharedStats | undefined {
    return this.#replicas.last;
  }

  /** One exchange and, when due and claimed, the judgement; concurrent calls share one run. */
  share(): Promise<SharedStats | undefined> {
    this.#running ??= this.#hooks.track(this.#shareOnce()).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Publishes this replica's evidence and merges the live replicas'; undefined when nothing is shared. */
  async exchange(): Promise<{ challenger: S; merged: MergedRelease } | undefined> {
    const shared = await this.#exchange();
    return shared && { challenger: shared.now.challenger, merged: shared.merged };
  }

  /** Stops the timer and withdraws this replica's evidence (best effort). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => {});
    await this.#replicas.withdraw().catch(() => {});
  }

  async #exchange(): Promise<{ now: SharedRelease<S>; merged: MergedRelease } | undefined> {
    await this.#hooks.started;
    const now = this.#closed ? undefined : this.#hooks.current();
    if (!now) return undefined;
    const { release, championCounters, challengerCounters } = now;
    return {
      now,
      merged: await this.#replicas.exchange(release, championCounters, challengerCounters),
    };
  }

  async #shareOnce(): Promise<SharedStats | undefined> {
    const shared = await this.#exchange();
    if (!shared) return undefined;
    const { now, merged } = shared;
    const { release, challenger, version } = now;
    const autoRelease = this.#autoRelease;
    if (!autoRelease || this.#closed) return this.#replicas.last;
    const claim = await this.#replicas.claim(release, merged, autoRelease.minSamples);
    if (!claim) return this.#replicas.last;
    let outcome: ReleaseOutcome;
    try {
      outcome = outcomeOf(await this.#hooks.judge(challenger, merged));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      outcome = isRefusal(error)
        ? { state: 'refused', reason, retryAt: merged.challenger.count + autoRelease.minSamples }
        : { state: 'failed', reason };
      if (!this.#closed) this.#hooks.onError('auto-release', error, version);
    }
    await this.#replicas.settle(claim, outcome);
    return this.#replicas.last;
  }
}

/** The decision record of what auto-release did. */
function outcomeOf(action: ReleaseAction | undefined): ReleaseOutcome {
  if (action === undefined) {
    return { state: 'kept', reason: 'the challenger changed before the judgement' };
  }
  if (action.kind === 'promote') return { state: 'promoted', reason: action.reason };
  if (action.kind === 'rollback') return { state: 'rolledback', reason: action.reason };
  return { state: 'kept', reason: 'auto-release takes no action on this outcome' };
}

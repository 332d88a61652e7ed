/**
 * @module
 * Live evidence shared by the replicas of one release. A release is the group (default: the
 * model), the champion alias and version and the challenger alias and version: replicas
 * serving the same pair merge, a replica that has not yet followed an alias move does not.
 * Each replica publishes its per-arm counts, errors and latency histogram on a
 * {@link ReplicaBoard}; the merged sums are judged once they reach `minSamples`, by the one
 * replica that wins the release's decision document (compare-and-swap), so exactly one
 * promotion or rollback happens. Store layout, under `ops/replicas/router/<group>/`:
 * `<champion>@<v>+<challenger>@<v>/replicas/<id>` (one per replica) and `…/decision`.
 */
import type { Clock } from '../../core/clock.js';
import { isKeelError, ValidationError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import type { MetadataStore } from '../../metadata/types.js';
import { ReplicaBoard } from '../replicas/board.js';
import { LatencyHistogram } from '../replicas/histogram.js';
import type { ReplicaSettings } from '../replicas/options.js';
import { type ArmEvidence, type Counters, evidenceFrom } from './stats.js';
import type { SharedStats } from './types.js';

/** The two versions a release serves. */
export interface ReleaseId {
  /** Champion alias and version. */
  champion: { alias: string; version: number };
  /** Challenger alias and version. */
  challenger: { alias: string; version: number };
}

/** One arm's mergeable evidence. */
export interface ArmSummary {
  /** Requests answered. */
  count: number;
  /** Of which failed. */
  errors: number;
  /** Shadow pairs compared (challenger only). */
  compared: number;
  /** Shadow pairs that differed (challenger only). */
  differing: number;
  /** Every latency, binned. */
  latency: LatencyHistogram;
}

/** The evidence of every live replica of a release, summed. */
export interface MergedRelease {
  /** The champion's merged evidence. */
  champion: ArmSummary;
  /** The challenger's merged evidence. */
  challenger: ArmSummary;
  /** The live replicas merged, this one first. */
  replicas: string[];
}

/** A won claim to judge a release: settle it with the outcome. */
export interface ReleaseClaim {
  /** The decision document's key. */
  key: string;
  /** Its revision after the claim. */
  revision: string;
}

/** What the judging replica records as the release's outcome. */
export type ReleaseOutcome =
  | { state: 'promoted' | 'rolledback' | 'kept' | 'failed'; reason: string }
  /** The registry refused (policy, authorization): judge again at `retryAt` merged requests. */
  | { state: 'refused'; reason: string; retryAt: number };

/** One router's view of the replicas of its releases. */
export class ReleaseReplicas {
  readonly #store: MetadataStore;
  readonly #clock: Clock;
  readonly #settings: ReplicaSettings;
  #board: ReplicaBoard | undefined;
  #release = '';
  /** Releases whose decision is final: their decision document is not read again. */
  readonly #decided = new Set<string>();
  #last: SharedStats | undefined;

  /** @param store shared store @param clock local time @param settings id, group, timing. */
  constructor(store: MetadataStore, clock: Clock, settings: ReplicaSettings) {
    this.#store = store;
    this.#clock = clock;
    this.#settings = settings;
  }

  /** This replica's id. */
  get id(): string {
    return this.#settings.id;
  }

  /** The merged counts of the last exchange, if any. */
  get last(): SharedStats | undefined {
    return this.#last;
  }

  /**
   * Publishes this replica's evidence for `release` and merges it with the live peers'.
   * Leaving a release (its versions changed) withdraws this replica's document from it.
   *
   * @throws {ConflictError} when another process uses this replica id.
   * @throws {StorageError} (or a custom store's own error) when the store cannot be reached.
   */
  async exchange(
    release: ReleaseId,
    champion: Counters,
    challenger: Counters,
  ): Promise<MergedRelease> {
    const prefix = this.#releasePrefix(release);
    if (prefix !== this.#release || this.#board === undefined) {
      await this.#board?.withdraw();
      this.#release = prefix;
      this.#board = new ReplicaBoard({
        store: this.#store,
        prefix: `${prefix}replicas/`,
        id: this.#settings.id,
        staleAfterMs: this.#settings.staleAfterMs,
        clock: this.#clock,
      });
    }
    const board = this.#board;
    const own = { champion: summarize(champion), challenger: summarize(challenger) };
    await board.publish({ champion: toJson(own.champion), challenger: toJson(own.challenger) });
    const merged: MergedRelease = { ...own, replicas: [this.#settings.id] };
    for (const peer of await board.peers()) {
      const summary = fromJson(peer.payload);
      if (summary === undefined) continue; // unreadable: written by an incompatible keel
      add(merged.champion, summary.champion);
      add(merged.challenger, summary.challenger);
      merged.replicas.push(peer.id);
    }
    this.#last = {
      id: this.#settings.id,
      replicas: merged.replicas.length,
      champion: { count: merged.champion.count, errors: merged.champion.errors },
      challenger: { count: merged.challenger.count, errors: merged.challenger.errors },
      at: this.#clock.now(),
    };
    return merged;
  }

  /**
   * Claims the judgement of `release` when its merged challenger requests reach `minSamples`
   * and no replica has judged it: the first claim creates the decision document; a claim
   * whose holder dropped out, or whose promotion was refused and is due again, is taken over.
   * At most one replica holds a claim at a time. Resolves `undefined` when not this replica's
   * turn.
   */
  async claim(
    release: ReleaseId,
    merged: MergedRelease,
    minSamples: number,
  ): Promise<ReleaseClaim | undefined> {
    const key = `${this.#releasePrefix(release)}decision`;
    const count = merged.challenger.count;
    if (count < minSamples || this.#decided.has(key)) return undefined;
    const current = await this.#store.get(key);
    const doc = current?.value as { state?: unknown; by?: unknown; retryAt?: unknown } | undefined;
    if (current && doc) {
      const takeOver =
        (doc.state === 'judging' && !merged.replicas.includes(String(doc.by))) ||
        (doc.state === 'refused' && typeof doc.retryAt === 'number' && count >= doc.retryAt);
      if (!takeOver) {
        if (doc.state !== 'judging' && doc.state !== 'refused') this.#decided.add(key);
        return undefined;
      }
    }
    const value = {
      state: 'judging',
      by: this.#settings.id,
      requests: count,
      at: this.#clock.now(),
    };
    try {
      const { revision } = await this.#store.put(key, value, {
        ifRevision: current ? current.revision : null,
      });
      return { key, revision };
    } catch (error) {
      if (isKeelError(error, 'KEEL_CONFLICT')) return undefined; // another replica won
      throw error;
    }
  }

  /** Records the outcome of a claimed judgement (a lost claim is left alone). */
  async settle(claim: ReleaseClaim, outcome: ReleaseOutcome): Promise<void> {
    const value = { ...outcome, by: this.#settings.id, at: this.#clock.now() };
    try {
      await this.#store.put(claim.key, value, { ifRevision: claim.revision });
      if (outcome.state !== 'refused') this.#decided.add(claim.key);
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
  }

  /** Removes this replica's document from its current release (best effort). */
  async withdraw(): Promise<void> {
    await this.#board?.withdraw();
    this.#board = undefined;
  }

  #releasePrefix({ champion, challenger }: ReleaseId): string {
    return `ops/replicas/router/${this.#settings.group}/${champion.alias}@${champion.version}+${challenger.alias}@${challenger.version}/`;
  }
}

/** Gate evidence from a merged arm, with at most `limit` representative latencies. */
export function mergedEvidence(arm: ArmSummary, limit: number, shadow: boolean): ArmEvidence {
  return evidenceFrom(arm, arm.latency.samples(limit), shadow);
}

function summarize(c: Counters): ArmSummary {
  const latency = new LatencyHistogram();
  if (c.histogram) latency.merge(c.histogram);
  return {
    count: c.count,
    errors: c.errors,
    compared: c.compared,
    differing: c.differing,
    latency,
  };
}

function add(into: ArmSummary, from: ArmSummary): void {
  into.count += from.count;
  into.errors += from.errors;
  into.compared += from.compared;
  into.differing += from.differing;
  into.latency.merge(from.latency);
}

function toJson(arm: ArmSummary): JsonValue {
  const { count, errors, compared, differing } = arm;
  return { count, errors, compared, differing, latency: arm.latency.toJSON() };
}

/** A peer's payload, or undefined when it is not one this version of keel wrote. */
function fromJson(
  payload: JsonValue,
): { champion: ArmSummary; challenger: ArmSummary } | undefined {
  try {
    const p = payload as { champion?: unknown; challenger?: unknown };
    return { champion: armFromJson(p.champion), challenger: armFromJson(p.challenger) };
  } catch (error) {
    if (error instanceof ValidationError) return undefined;
    throw error;
  }
}

function armFromJson(value: unknown): ArmSummary {
  const v = (value ?? {}) as Record<string, unknown>;
  const counts = ['count', 'errors', 'compared', 'differing'].map((name) => {
    const n = v[name];
    if (!Number.isSafeInteger(n) || (n as number) < 0) {
      throw new ValidationError(`[keel] invalid shared router evidence: ${name} is not a count`);
    }
    return n as number;
  });
  const [count, errors, compared, differing] = counts as [number, number, number, number];
  return { count, errors, compared, differing, latency: LatencyHistogram.fromJSON(v.latency) };
}

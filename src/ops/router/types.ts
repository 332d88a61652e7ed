/**
 * @module
 * The router's public types: its options, strategies, predictions, statistics, events and the
 * `Router` interface that {@link createRouter} returns.
 */
import type { Actor } from '../../core/schemas.js';
import type { GatePolicy } from '../../gates/schema.js';
import type { GateReport } from '../../gates/types.js';
import type { MetadataStore } from '../../metadata/types.js';
import type { AliasChange, ModelVersion } from '../../registry/types.js';
import type { OpsKeel } from '../context.js';
import type { Listenable } from '../emitter.js';

/** Turns an input into an output: what `load` makes of a model version. Sync or async. */
export type Predictor<I, O> = (input: I) => O | Promise<O>;

/** How traffic is split between champion and challenger. */
export type ReleaseStrategy =
  | {
      /** `weight` of the traffic (0..1) is answered by the challenger. */
      kind: 'canary';
      /** Share of requests (0..1) the challenger answers. */
      weight: number;
    }
  | {
      /** The champion answers everything; the challenger runs on the side and is compared. */
      kind: 'shadow';
    }
  | {
      /** Like canary, for an experiment: `weight` (default 0.5) goes to the challenger. */
      kind: 'ab';
      /** Share of requests (0..1) the challenger answers. Default 0.5. */
      weight?: number;
    };

/** Automatic judgement of the challenger once it has served `minSamples` requests. */
export interface AutoRelease {
  /** The gate policy judged on live traffic (see {@link Router.analyze}). */
  policy: GatePolicy;
  /** Challenger requests to see before judging (once per challenger version). */
  minSamples: number;
  /** On pass: move the champion alias to the challenger's version, or do nothing. */
  onPass: 'promote' | 'none';
  /** On fail: stop routing to the challenger and delete its alias, or do nothing. */
  onFail: 'rollback' | 'none';
}

/**
 * Live evidence shared by the replicas of one release (processes or hosts each running their
 * own router for the same model and aliases). Every `flushMs` each replica writes its per-arm
 * counts, errors and latency histogram to the store and reads the others'; `autoRelease` then
 * judges the merged evidence once it reaches `minSamples`, and exactly one replica acts.
 */
export interface ReplicaOptions {
  /** The store the replicas share. Default: the keel's metadata store. */
  store?: MetadataStore;
  /** Names the deployment: routers with the same group, model and aliases merge. Default: the model name. */
  group?: string;
  /** This replica's id, unique in the group (`[A-Za-z0-9._-]`, 1..128). Default: hostname-pid-random. */
  id?: string;
  /** How often evidence is written and read, in ms. Default 2000. */
  flushMs?: number;
  /** A replica that has not written for this many `flushMs` intervals drops out. Default 5. */
  staleAfter?: number;
}

/** Receives every answered request: a {@link Monitor} fits. */
export interface PredictionRecorder {
  /** Records one prediction; must never throw into the caller. */
  record(input: unknown, output: unknown, latencyMs: number, id?: string): void;
}

/** Options of {@link createRouter}. */
export interface RouterOptions<I, O> {
  /** A keel instance (registry, gates, events, clock, telemetry). */
  keel: OpsKeel;
  /** The registered model whose aliases are served. */
  model: string;
  /** Turns a version into a predictor. Called once per version; the result is cached. */
  load: (version: ModelVersion) => Predictor<I, O> | Promise<Predictor<I, O>>;
  /** How traffic is split between champion and challenger. */
  strategy: ReleaseStrategy;
  /** The alias that answers by default. Default `champion`. */
  champion?: string;
  /** The alias under trial. Default `challenger`. An unset alias means no challenger traffic. */
  challenger?: string;
  /** Judges the challenger on live traffic and promotes or rolls it back. Default: off. */
  autoRelease?: AutoRelease;
  /** How often the aliases are re-resolved, to see moves made by other processes. Default 2000 ms. */
  refreshMs?: number;
  /** Latency samples kept per arm for percentiles and gate evidence. Default 10 000. */
  window?: {
    /** Latency samples kept per arm (the oldest drop out first), 1 to 10 000 000. */
    size: number;
  };
  /** Shadow calls waiting (beyond this they are dropped and counted) and run at once. Defaults 1000 and 4. */
  shadow?: {
    /** Shadow calls that may wait; beyond this they are dropped and counted. Default 1000. */
    queueSize?: number;
    /** Shadow calls run at once. Default 4. */
    concurrency?: number;
  };
  /** Records every answered request (e.g. a monitor, for drift and decay). */
  monitor?: PredictionRecorder;
  /** Actor of promotions and rollbacks. Default: the keel's actor. */
  actor?: Actor;
  /** Uniform [0, 1) source for requests without a key. Default `Math.random`. */
  random?: () => number;
  /** Share live evidence with the other replicas of this release; see {@link ReplicaOptions}. */
  replicas?: ReplicaOptions;
}

/** Which arm answered. */
export type Arm = 'champion' | 'challenger';

/** The answer of {@link Router.predict}. */
export interface Prediction<O> {
  /** What the predictor returned. */
  output: O;
  /** The model version that answered. */
  version: number;
  /** The arm that answered. */
  arm: Arm;
  /** Id of this prediction: pass it to `monitor.recordOutcome` when the label arrives. */
  predictionId: string;
}

/** Live statistics of one arm, for the version it serves now. */
export interface ArmStats {
  /** The alias this arm follows. */
  alias: string;
  /** The version served (`null`: nothing served on this arm). */
  version: number | null;
  /** Requests answered (or, for a shadow challenger, shadow calls completed). */
  count: number;
  /** Requests whose predictor threw. */
  errors: number;
  /** errors / count (NaN before the first request). */
  errorRate: number;
  /** Latency percentiles over the last `window.size` requests (NumPy's linear method). */
  latencyMs: {
    /** Median latency (ms); NaN before the first request. */
    p50: number;
    /** 95th percentile (ms); NaN before the first request. */
    p95: number;
    /** 99th percentile (ms); NaN before the first request. */
    p99: number;
  };
}

/** Shadow comparison counts for the current challenger version. */
export interface ShadowStats {
  /** Pairs of outputs compared (both calls succeeded). */
  compared: number;
  /** Compared pairs whose outputs differ (canonical JSON inequality). */
  differing: number;
  /** differing / compared (NaN before the first comparison). */
  differingShare: number;
  /** Shadow calls dropped because the queue was full. */
  dropped: number;
  /** Shadow calls waiting or running. */
  pending: number;
}

/** Counts of one arm summed over the live replicas. */
export interface SharedArmStats {
  /** Requests answered by every live replica. */
  count: number;
  /** Of which failed. */
  errors: number;
}

/** The merged evidence of the last exchange with the other replicas. */
export interface SharedStats {
  /** This replica's id. */
  id: string;
  /** Live replicas merged, this one included. */
  replicas: number;
  /** The champion's counts over the live replicas. */
  champion: SharedArmStats;
  /** The challenger's counts over the live replicas. */
  challenger: SharedArmStats;
  /** When the exchange happened (the keel clock, ms since the epoch). */
  at: number;
}

/** What {@link Router.stats} returns. */
export interface RouterStats {
  /** The model served. */
  model: string;
  /** The release strategy's kind. */
  strategy: ReleaseStrategy['kind'];
  /** Statistics of the champion arm. */
  champion: ArmStats;
  /** Statistics of the challenger arm. */
  challenger: ArmStats;
  /** Present for the shadow strategy. */
  shadow?: ShadowStats;
  /** With `replicas`, after the first exchange with the other replicas of this release. */
  shared?: SharedStats;
}

/** Events of a router. */
export interface RouterEvents {
  /** Background work failed (load, refresh, auto-release, sharing evidence); serving goes on. */
  error: {
    /** The model served. */
    model: string;
    /** What failed. */
    operation: 'load' | 'refresh' | 'auto-release' | 'share';
    /** What was thrown. */
    error: unknown;
    /** The version concerned, when one was. */
    version?: number;
  };
  /** An arm now serves another version (or none). */
  swapped: {
    /** The model served. */
    model: string;
    /** The arm that changed. */
    arm: Arm;
    /** The alias the arm follows. */
    alias: string;
    /** The version it serves now (`null`: the alias is unset, the arm serves nothing). */
    version: number | null;
    /** The version it served before (`null`: none). */
    previousVersion: number | null;
  };
  /** The challenger was judged on live traffic. */
  analysis: {
    /** The model served. */
    model: string;
    /** The challenger's version that was judged. */
    version: number;
    /** The stored gate report. */
    report: GateReport;
  };
  /** The champion alias was moved to the challenger's version. */
  promoted: {
    /** The model served. */
    model: string;
    /** The champion alias that moved. */
    alias: string;
    /** The version it points to now (the challenger's). */
    version: number;
    /** The version it pointed to before (`null`: none). */
    previousVersion: number | null;
    /** The gate report given as evidence, when there was one. */
    report?: GateReport;
    /** `true` when `autoRelease` promoted, `false` for `router.promote()`. */
    automatic: boolean;
  };
  /** Routing to the challenger stopped and its alias was deleted. */
  rolledback: {
    /** The model served. */
    model: string;
    /** The challenger alias that was deleted. */
    alias: string;
    /** The challenger's version that stopped serving. */
    version: number;
    /** Why, as recorded in the audit log. */
    reason: string;
    /** The gate report that decided it, for an automatic rollback. */
    report?: GateReport;
    /** `true` when `autoRelease` rolled back, `false` for `router.rollback()`. */
    automatic: boolean;
  };
}

/** Options of {@link Router.promote} and {@link Router.rollback}. */
export interface ReleaseActionOptions {
  /** Who acts, for the audit log. Default: the router's actor. */
  actor?: Actor;
  /** Why, for the audit log. Default: a sentence naming the router and version. */
  reason?: string;
}

/** Routes predictions between champion and challenger; see {@link createRouter}. */
export interface Router<I, O> extends Listenable<RouterEvents> {
  /**
   * Resolves once the champion is loaded.
   *
   * @throws {NotFoundError} (as a rejection) when the model is not registered or the champion
   *   alias is not set.
   * @throws {ValidationError} (as a rejection) when `load` returned something other than a
   *   function for the champion; an error `load` itself threw is passed on as it is.
   */
  ready(): Promise<void>;
  /**
   * Answers `input` from the arm the strategy picks; `key` makes the choice sticky. Waits for
   * the champion when it is still loading. An error the predictor throws is passed on as it is
   * (and counted as an error of its arm).
   *
   * @throws {ValidationError} (as a rejection) when `opts.key` is not a string.
   * @throws {NotFoundError} (as a rejection) as {@link Router.ready} does, when no champion
   *   could be served.
   */
  predict(input: I, opts?: { key?: string }): Promise<Prediction<O>>;
  /** Per-arm counts, errors and latency percentiles. Never throws. */
  stats(): RouterStats;
  /**
   * Judges the challenger against the champion on live traffic with `policy`: metrics
   * `error_rate`, `latency_p50`, `latency_p95`, `latency_p99`, `requests` (and for shadow
   * `shadow_differing_share`), plus `latenciesMs` samples. The report is stored by the gates.
   *
   * @throws {NotFoundError} (as a rejection) when no challenger is served (alias unset, rolled
   *   back or still loading), or as {@link Router.ready} does.
   * @throws {ValidationError} (as a rejection) when `policy` is malformed (as
   *   `keel.gates.evaluate` does).
   * @throws {IntegrityError} (as a rejection) when the artifact store returns another digest than
   *   the stored report's.
   * @throws {ConflictError} (as a rejection) with `replicas`, when another process publishes
   *   under this replica id.
   */
  analyze(policy: GatePolicy): Promise<GateReport>;
  /**
   * Moves the champion alias to the challenger's version through the registry
   * (compare-and-swap on the champion served now).
   *
   * @throws {ValidationError} (as a rejection) when `actor` or `reason` is malformed.
   * @throws {NotFoundError} (as a rejection) when no challenger is served.
   * @throws {PolicyError} (as a rejection) when the champion alias's policy is not met (gate
   *   evidence, approvals).
   * @throws {UnauthorizedError} (as a rejection) when the actor may not move the alias.
   * @throws {ConflictError} (as a rejection) when the champion alias moved since the router
   *   resolved it, or the version was archived.
   */
  promote(opts?: ReleaseActionOptions & { evidence?: GateReport }): Promise<AliasChange>;
  /**
   * Stops routing to the challenger at once, then deletes the challenger alias (when it still
   * points to the rolled-back version).
   *
   * @throws {ValidationError} (as a rejection) when `actor` or `reason` is malformed.
   * @throws {NotFoundError} (as a rejection) when no challenger is served.
   * @throws {UnauthorizedError} (as a rejection) when the actor may not delete the alias.
   */
  rollback(opts?: ReleaseActionOptions): Promise<void>;
  /**
   * With `replicas`: writes this replica's evidence, reads the others' and, when the merged
   * challenger requests reach `minSamples`, judges them (the router also does so every
   * `flushMs`). Resolves with the merged counts, or `undefined` without `replicas` or while no
   * challenger is served.
   *
   * @throws {ConflictError} (as a rejection) when another process publishes under this replica
   *   id.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store cannot
   *   be reached (the timer reports it as `error`).
   */
  share(): Promise<SharedStats | undefined>;
  /**
   * Re-resolves both aliases now (the router also does so every `refreshMs`). A version that
   * fails to load is reported as `error` (operation `load`) and the last good one kept.
   *
   * @throws {NotFoundError} (as a rejection) as {@link Router.ready} does.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the registry's
   *   store cannot be read.
   */
  refresh(): Promise<void>;
  /**
   * Stops timers and listeners; waits for background work already started. With `replicas`,
   * removes this replica's evidence from the store (best effort). Never rejects.
   */
  close(): Promise<void>;
}

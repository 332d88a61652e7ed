/**
 * @module
 * `createRouter`: serves the versions behind two aliases of one model (champion and
 * challenger) as a canary, a shadow or an A/B test; keeps per-arm live statistics; judges the
 * challenger with the GateEvaluator and promotes or rolls it back through the Registry.
 */
import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { ErrorCodes, isKeelError, NotFoundError, ValidationError } from '../core/errors.js';
import { createIdGenerator } from '../core/ids.js';
import { type Actor, actorSchema } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import { type GatePolicy, gatePolicySchema } from '../gates/schema.js';
import type { GateReport } from '../gates/types.js';
import { modelNameSchema, readableAliasSchema } from '../registry/schemas.js';
import type { AliasChange, ModelVersion } from '../registry/types.js';
import { stableUnit } from './assignment.js';
import { checkOpsKeel, type OpsKeel } from './context.js';
import { type Listenable, listenable } from './emitter.js';
import { NumberRing } from './window.js';

/** Turns an input into an output: what `load` makes of a model version. Sync or async. */
export type Predictor<I, O> = (input: I) => O | Promise<O>;

/** How traffic is split between champion and challenger. */
export type ReleaseStrategy =
  | {
      /** `weight` of the traffic (0..1) is answered by the challenger. */
      kind: 'canary';
      weight: number;
    }
  | {
      /** The champion answers everything; the challenger runs on the side and is compared. */
      kind: 'shadow';
    }
  | {
      /** Like canary, for an experiment: `weight` (default 0.5) goes to the challenger. */
      kind: 'ab';
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
  strategy: ReleaseStrategy;
  /** The alias that answers by default. Default `champion`. */
  champion?: string;
  /** The alias under trial. Default `challenger`. An unset alias means no challenger traffic. */
  challenger?: string;
  autoRelease?: AutoRelease;
  /** How often the aliases are re-resolved, to see moves made by other processes. Default 2000 ms. */
  refreshMs?: number;
  /** Latency samples kept per arm for percentiles and gate evidence. Default 10 000. */
  window?: { size: number };
  /** Shadow calls waiting (beyond this they are dropped and counted) and run at once. Defaults 1000 and 4. */
  shadow?: { queueSize?: number; concurrency?: number };
  /** Records every answered request (e.g. a monitor, for drift and decay). */
  monitor?: PredictionRecorder;
  /** Actor of promotions and rollbacks. Default: the keel's actor. */
  actor?: Actor;
  /** Uniform [0, 1) source for requests without a key. Default `Math.random`. */
  random?: () => number;
}

/** Which arm answered. */
export type Arm = 'champion' | 'challenger';

/** The answer of {@link Router.predict}. */
export interface Prediction<O> {
  output: O;
  /** The model version that answered. */
  version: number;
  arm: Arm;
  /** Id of this prediction: pass it to `monitor.recordOutcome` when the label arrives. */
  predictionId: string;
}

/** Live statistics of one arm, for the version it serves now. */
export interface ArmStats {
  alias: string;
  /** The version served (`null`: nothing served on this arm). */
  version: number | null;
  /** Requests answered (or, for a shadow challenger, shadow calls completed). */
  count: number;
  errors: number;
  /** errors / count (NaN before the first request). */
  errorRate: number;
  /** Latency percentiles over the last `window.size` requests (NumPy's linear method). */
  latencyMs: { p50: number; p95: number; p99: number };
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

/** What {@link Router.stats} returns. */
export interface RouterStats {
  model: string;
  strategy: ReleaseStrategy['kind'];
  champion: ArmStats;
  challenger: ArmStats;
  /** Present for the shadow strategy. */
  shadow?: ShadowStats;
}

/** Events of a router. */
export interface RouterEvents {
  /** Background work failed (load, refresh, shadow bookkeeping, auto-release); serving goes on. */
  error: {
    model: string;
    operation: 'load' | 'refresh' | 'auto-release';
    error: unknown;
    version?: number;
  };
  /** An arm now serves another version (or none). */
  swapped: {
    model: string;
    arm: Arm;
    alias: string;
    version: number | null;
    previousVersion: number | null;
  };
  /** The challenger was judged on live traffic. */
  analysis: { model: string; version: number; report: GateReport };
  /** The champion alias was moved to the challenger's version. */
  promoted: {
    model: string;
    alias: string;
    version: number;
    previousVersion: number | null;
    report?: GateReport;
    automatic: boolean;
  };
  /** Routing to the challenger stopped and its alias was deleted. */
  rolledback: {
    model: string;
    alias: string;
    version: number;
    reason: string;
    report?: GateReport;
    automatic: boolean;
  };
}

/** Options of {@link Router.promote} and {@link Router.rollback}. */
export interface ReleaseActionOptions {
  actor?: Actor;
  reason?: string;
}

/** Routes predictions between champion and challenger; see {@link createRouter}. */
export interface Router<I, O> extends Listenable<RouterEvents> {
  /** Resolves once the champion is loaded; rejects (`NotFoundError`) for an unknown model or champion alias. */
  ready(): Promise<void>;
  /** Answers `input` from the arm the strategy picks; `key` makes the choice sticky. */
  predict(input: I, opts?: { key?: string }): Promise<Prediction<O>>;
  /** Per-arm counts, errors and latency percentiles. */
  stats(): RouterStats;
  /**
   * Judges the challenger against the champion on live traffic with `policy`: metrics
   * `error_rate`, `latency_p50`, `latency_p95`, `latency_p99`, `requests` (and for shadow
   * `shadow_differing_share`), plus `latenciesMs` samples. The report is stored by the gates.
   */
  analyze(policy: GatePolicy): Promise<GateReport>;
  /** Moves the champion alias to the challenger's version through the registry. */
  promote(opts?: ReleaseActionOptions & { evidence?: GateReport }): Promise<AliasChange>;
  /** Stops routing to the challenger at once, then deletes the challenger alias. */
  rollback(opts?: ReleaseActionOptions): Promise<void>;
  /** Re-resolves both aliases now (the router also does so every `refreshMs`). */
  refresh(): Promise<void>;
  /** Stops timers and listeners; waits for background work already started. */
  close(): Promise<void>;
}

/**
 * Creates a router. Synchronous: options are validated at once (`ValidationError`), the
 * champion and challenger are resolved and loaded in the background; `predict` waits for that,
 * and `ready()` reports an unknown model or champion alias as `NotFoundError`.
 *
 * @example
 * ```ts
 * const router = createRouter({
 *   keel, model: 'churn', strategy: { kind: 'canary', weight: 0.1 },
 *   load: async (v) => makePredictor(await keel.artifacts.get(v.artifact.digest)),
 *   autoRelease: { policy, minSamples: 500, onPass: 'promote', onFail: 'rollback' },
 * });
 * const { output, arm } = await router.predict(row, { key: row.userId });
 * ```
 */
export function createRouter<I, O>(options: RouterOptions<I, O>): Router<I, O> {
  const { keel, load, monitor } = options ?? ({} as RouterOptions<I, O>);
  checkOpsKeel(keel);
  const parsed = parseWith(optionsSchema, pick(options), 'router options');
  if (typeof load !== 'function') {
    throw new ValidationError(
      '[keel] invalid router options: load is not a function; pass load: (version) => predictor',
      { issues: [{ path: ['load'], message: 'expected a function' }] },
    );
  }
  const model = parsed.model;
  const strategy = parsed.strategy;
  const weight = strategy.kind === 'shadow' ? 0 : strategy.weight;
  const autoRelease = parsed.autoRelease as AutoRelease | undefined;
  const actor = parsed.actor;
  const windowSize = parsed.window?.size ?? 10_000;
  const queueSize = parsed.shadow?.queueSize ?? 1000;
  const concurrency = parsed.shadow?.concurrency ?? 4;
  const random = options.random ?? Math.random;
  const nextId = createIdGenerator(keel.clock);
  const events = listenable<RouterEvents>();

  const champion: ArmState<I, O> = { arm: 'champion', alias: parsed.champion, seq: 0 };
  const challenger: ArmState<I, O> = { arm: 'challenger', alias: parsed.challenger, seq: 0 };
  const predictors = new Map<number, Promise<Predictor<I, O>>>();
  // Per challenger version: the request count at which auto-release judges it next. A judgement
  // whose promotion the registry refuses (e.g. an approval still missing) is tried again after
  // another `minSamples` requests, so a late approval still releases the version.
  const nextJudgement = new Map<number, number>();
  const background = new Set<Promise<unknown>>();
  const shadowQueue: ShadowJob<I, O>[] = [];
  let shadowRunning = 0;
  let pumpScheduled = false;
  // A rolled-back version is not served again until its alias is seen pointing elsewhere.
  let blocked: number | undefined;
  let closed = false;

  const loadVersion = (version: ModelVersion): Promise<Predictor<I, O>> => {
    let loading = predictors.get(version.version);
    if (!loading) {
      loading = (async () => {
        const predictor = await load(version);
        if (typeof predictor !== 'function') {
          throw new ValidationError(
            `[keel] loading ${model} v${version.version} failed: load returned ${typeof predictor}, not a function; return the predictor (input) => output`,
          );
        }
        return predictor;
      })();
      predictors.set(version.version, loading);
      // A failed load is retried on the next refresh rather than cached.
      loading.catch(() => predictors.delete(version.version));
    }
    return loading;
  };

  const resolveAlias = async (alias: string): Promise<ModelVersion | null> => {
    try {
      return await keel.registry.resolve(model, alias);
    } catch (error) {
      if (isKeelError(error, 'KEEL_NOT_FOUND')) return null;
      throw error;
    }
  };

  const swap = (state: ArmState<I, O>, next: Serving<I, O> | undefined): void => {
    const previous = state.serving?.version.version ?? null;
    const version = next?.version.version ?? null;
    if (previous === version) return;
    state.serving = next;
    events.emit('swapped', {
      model,
      arm: state.arm,
      alias: state.alias,
      version,
      previousVersion: previous,
    });
  };

  /** Makes `state` serve `target` (null: the alias is unset), keeping the last good on failure. */
  const follow = async (
    state: ArmState<I, O>,
    target: ModelVersion | null,
    initial = false,
  ): Promise<void> => {
    const seq = ++state.seq;
    if (state.arm === 'challenger' && blocked !== undefined && target?.version !== blocked) {
      blocked = undefined;
    }
    if (target === null) {
      if (state.arm === 'challenger') swap(state, undefined);
      else if (state.serving) {
        emitError(
          'refresh',
          notFound(model, state.alias, 'is no longer set; serving the last champion'),
        );
      }
      return;
    }
    if (state.arm === 'challenger' && target.version === blocked) return;
    if (state.serving?.version.version === target.version) return;
    let predict: Predictor<I, O>;
    try {
      predict = await loadVersion(target);
    } catch (error) {
      if (initial) throw error;
      emitError('load', error, target.version);
      return;
    }
    if (seq !== state.seq || closed) return;
    swap(state, newServing(target, predict, windowSize));
  };

  const emitError = (
    operation: RouterEvents['error']['operation'],
    error: unknown,
    version?: number,
  ) => {
    events.emit('error', {
      model,
      operation,
      error,
      ...(version === undefined ? {} : { version }),
    });
  };

  const start = async (): Promise<void> => {
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
    const championVersion = await resolveAlias(champion.alias);
    if (championVersion === null) throw notFound(model, champion.alias, 'is not set');
    await follow(champion, championVersion, true);
    try {
      await follow(challenger, await resolveAlias(challenger.alias));
    } catch (error) {
      emitError('refresh', error);
    }
  };
  const started = start();
  started.catch(() => {}); // reported through ready() and predict(), never as unhandled

  const refresh = async (): Promise<void> => {
    await started;
    for (const state of [champion, challenger]) {
      await follow(state, await resolveAlias(state.alias));
    }
  };

  const track = <T>(promise: Promise<T>): Promise<T> => {
    background.add(promise);
    promise.then(
      () => background.delete(promise),
      () => background.delete(promise),
    );
    return promise;
  };

  const timer = setInterval(() => {
    if (closed) return;
    track(refresh()).catch((error: unknown) => {
      if (!closed) emitError('refresh', error);
    });
  }, parsed.refreshMs);
  (timer as { unref?: () => void }).unref?.();

  const onAliasChanged = (payload: object): void => {
    const change = payload as Partial<RouterAliasChange>;
    if (closed || change.model !== model) return;
    const state =
      change.alias === champion.alias
        ? champion
        : change.alias === challenger.alias
          ? challenger
          : undefined;
    if (!state) return;
    const version = change.version;
    track(
      (async () => {
        await started;
        const target =
          typeof version === 'number' ? await keel.registry.getVersion(model, version) : null;
        await follow(state, target);
      })(),
    ).catch((error: unknown) => {
      if (!closed) emitError('refresh', error, typeof version === 'number' ? version : undefined);
    });
  };
  keel.events.on('alias:changed', onAliasChanged);

  /** The challenger when it should get traffic: set, not rolled back, not the champion's version. */
  const routableChallenger = (champ: Serving<I, O>): Serving<I, O> | undefined => {
    const chal = challenger.serving;
    if (!chal || chal.version.version === champ.version.version) return undefined;
    return chal;
  };

  const call = async (arm: Arm, serving: Serving<I, O>, input: I): Promise<Prediction<O>> => {
    const { counters } = serving;
    const startAt = performance.now();
    let output: O;
    try {
      output = await serving.predict(input);
    } catch (error) {
      counters.count++;
      counters.errors++;
      counters.latencies.push(performance.now() - startAt);
      if (arm === 'challenger') afterChallengerRequest(serving);
      throw error;
    }
    const latencyMs = performance.now() - startAt;
    counters.count++;
    counters.latencies.push(latencyMs);
    const predictionId = nextId();
    if (monitor) monitor.record(input, output, latencyMs, predictionId);
    if (arm === 'challenger') afterChallengerRequest(serving);
    return { output, version: serving.version.version, arm, predictionId };
  };

  const enqueueShadow = (serving: Serving<I, O>, input: I, championOutput: O): void => {
    if (shadowQueue.length >= queueSize) {
      serving.counters.dropped++;
      return;
    }
    shadowQueue.push({ serving, input, championOutput });
    schedulePump();
  };

  const schedulePump = (): void => {
    if (pumpScheduled || closed) return;
    pumpScheduled = true;
    // A timer, not a microtask: the caller's answer is delivered before any shadow work starts.
    setTimeout(pump, 0);
  };

  const pump = (): void => {
    pumpScheduled = false;
    while (!closed && shadowRunning < concurrency && shadowQueue.length > 0) {
      const job = shadowQueue.shift()!;
      shadowRunning++;
      track(runShadow(job)).finally(() => {
        shadowRunning--;
        if (shadowQueue.length > 0) schedulePump();
      });
    }
  };

  const runShadow = async ({ serving, input, championOutput }: ShadowJob<I, O>): Promise<void> => {
    const { counters } = serving;
    const startAt = performance.now();
    try {
      const output = await serving.predict(input);
      counters.latencies.push(performance.now() - startAt);
      counters.count++;
      counters.compared++;
      if (!sameOutput(output, championOutput)) counters.differing++;
    } catch {
      // The challenger's failure is its own statistic; it never reaches a caller.
      counters.latencies.push(performance.now() - startAt);
      counters.count++;
      counters.errors++;
    }
    afterChallengerRequest(serving);
  };

  const afterChallengerRequest = (serving: Serving<I, O>): void => {
    if (!autoRelease || closed) return;
    const version = serving.version.version;
    const due = nextJudgement.get(version) ?? autoRelease.minSamples;
    if (serving.counters.count < due) return;
    nextJudgement.set(version, Number.POSITIVE_INFINITY);
    // Judged off the caller's path.
    setTimeout(() => {
      track(release(serving, autoRelease)).catch((error: unknown) => {
        if (closed) return;
        if (isKeelError(error, ErrorCodes.policy) || isKeelError(error, ErrorCodes.unauthorized)) {
          nextJudgement.set(version, serving.counters.count + autoRelease.minSamples);
        }
        emitError('auto-release', error, version);
      });
    }, 0);
  };

  const release = async (serving: Serving<I, O>, policy: AutoRelease): Promise<void> => {
    if (closed || challenger.serving !== serving) return;
    const report = await analyzeServing(policy.policy, serving);
    if (closed || challenger.serving !== serving) return;
    const n = serving.counters.count;
    if (report.passed && policy.onPass === 'promote') {
      await promoteServing(serving, {
        evidence: report,
        reason: `auto-release: gate "${report.policy}" passed on ${n} challenger requests`,
        automatic: true,
      });
    } else if (!report.passed && policy.onFail === 'rollback') {
      await rollbackServing(serving, {
        reason: `auto-release: gate "${report.policy}" failed on ${n} challenger requests`,
        report,
        automatic: true,
      });
    }
  };

  const analyzeServing = async (policy: GatePolicy, chal: Serving<I, O>): Promise<GateReport> => {
    const champ = champion.serving;
    const evidence = {
      candidate: armEvidence(chal, strategy.kind === 'shadow'),
      ...(champ ? { champion: armEvidence(champ, false) } : {}),
    };
    const report = await keel.gates.evaluate(policy, evidence, {
      subject: { model, version: chal.version.version },
    });
    events.emit('analysis', { model, version: chal.version.version, report });
    return report;
  };

  const promoteServing = async (
    chal: Serving<I, O>,
    opts: {
      evidence?: GateReport;
      reason?: string | undefined;
      actor?: Actor | undefined;
      automatic: boolean;
    },
  ): Promise<AliasChange> => {
    const previous = champion.serving?.version.version ?? null;
    const version = chal.version.version;
    const who = opts.actor ?? actor;
    const change = await keel.registry.setAlias(model, champion.alias, version, {
      reason: opts.reason ?? `router: promoted ${model} v${version} from ${challenger.alias}`,
      expectedVersion: previous,
      ...(opts.evidence ? { evidence: opts.evidence } : {}),
      ...(who ? { actor: who } : {}),
    });
    champion.seq++;
    swap(champion, newServing(chal.version, chal.predict, windowSize));
    events.emit('promoted', {
      model,
      alias: champion.alias,
      version,
      previousVersion: previous,
      ...(opts.evidence ? { report: opts.evidence } : {}),
      automatic: opts.automatic,
    });
    return change;
  };

  const rollbackServing = async (
    chal: Serving<I, O>,
    opts: {
      reason?: string | undefined;
      actor?: Actor | undefined;
      report?: GateReport;
      automatic: boolean;
    },
  ): Promise<void> => {
    const version = chal.version.version;
    const reason =
      opts.reason ?? `router: rolled back ${model} v${version} from ${challenger.alias}`;
    // Stop routing first: no request may reach the challenger once rollback has begun.
    blocked = version;
    challenger.seq++;
    swap(challenger, undefined);
    shadowQueue.length = 0;
    const who = opts.actor ?? actor;
    const current = await resolveAlias(challenger.alias);
    if (current?.version === version) {
      await keel.registry.deleteAlias(model, challenger.alias, {
        reason,
        ...(who ? { actor: who } : {}),
      });
    }
    events.emit('rolledback', {
      model,
      alias: challenger.alias,
      version,
      reason,
      ...(opts.report ? { report: opts.report } : {}),
      automatic: opts.automatic,
    });
  };

  const requireChallenger = (what: string): Serving<I, O> => {
    const chal = challenger.serving;
    if (!chal) {
      throw new NotFoundError(
        `[keel] cannot ${what} for model "${model}": no challenger is being served (alias "${challenger.alias}" is unset, rolled back or still loading); set the alias and await router.refresh()`,
      );
    }
    return chal;
  };

  const router = {
    ...events.methods(() => router),
    ready: () => started,
    async predict(input: I, opts?: { key?: string }): Promise<Prediction<O>> {
      const key = opts?.key;
      if (key !== undefined && typeof key !== 'string') {
        throw new ValidationError(
          `[keel] invalid predict options: key must be a string, got ${typeof key}; pass a stable id such as the user id`,
          { issues: [{ path: ['key'], message: 'expected a string' }] },
        );
      }
      let champ = champion.serving;
      if (!champ) {
        await started;
        champ = champion.serving;
        if (!champ) throw notFound(model, champion.alias, 'is not served');
      }
      const chal = routableChallenger(champ);
      if (strategy.kind === 'shadow') {
        const answer = await call('champion', champ, input);
        if (chal && !closed) enqueueShadow(chal, input, answer.output);
        return answer;
      }
      if (chal && (key === undefined ? random() : stableUnit(key, model)) < weight) {
        return call('challenger', chal, input);
      }
      return call('champion', champ, input);
    },
    stats(): RouterStats {
      const out: RouterStats = {
        model,
        strategy: strategy.kind,
        champion: armStats(champion),
        challenger: armStats(challenger),
      };
      if (strategy.kind === 'shadow') {
        const c = challenger.serving?.counters;
        out.shadow = {
          compared: c?.compared ?? 0,
          differing: c?.differing ?? 0,
          differingShare: c && c.compared > 0 ? c.differing / c.compared : Number.NaN,
          dropped: c?.dropped ?? 0,
          pending: shadowQueue.length + shadowRunning,
        };
      }
      return out;
    },
    async analyze(policy: GatePolicy): Promise<GateReport> {
      await started;
      return analyzeServing(policy, requireChallenger('analyze the challenger'));
    },
    async promote(opts: ReleaseActionOptions & { evidence?: GateReport } = {}) {
      const checked = parseWith(actionSchema, opts, 'promote options');
      await started;
      return promoteServing(requireChallenger('promote the challenger'), {
        ...checked,
        ...(opts.evidence ? { evidence: opts.evidence } : {}),
        automatic: false,
      });
    },
    async rollback(opts: ReleaseActionOptions = {}) {
      const checked = parseWith(actionSchema, opts, 'rollback options');
      await started;
      await rollbackServing(requireChallenger('roll back the challenger'), {
        ...checked,
        automatic: false,
      });
    },
    refresh,
    async close() {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        keel.events.off('alias:changed', onAliasChanged);
        shadowQueue.length = 0;
      }
      await Promise.allSettled([...background]);
      events.clear();
    },
  } as Router<I, O>;
  return router;

  function armStats(state: ArmState<I, O>): ArmStats {
    const serving = state.serving;
    const c = serving?.counters;
    const [p50, p95, p99] = c ? c.latencies.percentiles([50, 95, 99]) : [];
    return {
      alias: state.alias,
      version: serving?.version.version ?? null,
      count: c?.count ?? 0,
      errors: c?.errors ?? 0,
      errorRate: c && c.count > 0 ? c.errors / c.count : Number.NaN,
      latencyMs: { p50: p50 ?? Number.NaN, p95: p95 ?? Number.NaN, p99: p99 ?? Number.NaN },
    };
  }
}

interface RouterAliasChange {
  model: string;
  alias: string;
  version: number | null;
}

interface Counters {
  count: number;
  errors: number;
  latencies: NumberRing;
  compared: number;
  differing: number;
  dropped: number;
}

/** One loaded version on one arm; its counters start fresh with every swap. */
interface Serving<I, O> {
  version: ModelVersion;
  predict: Predictor<I, O>;
  counters: Counters;
}

interface ArmState<I, O> {
  arm: Arm;
  alias: string;
  serving?: Serving<I, O> | undefined;
  /** Bumped by every follow/swap so a slow load cannot overwrite a newer decision. */
  seq: number;
}

interface ShadowJob<I, O> {
  serving: Serving<I, O>;
  input: I;
  championOutput: O;
}

const weightSchema = z
  .number()
  .min(0, 'weight must be in [0, 1]')
  .max(1, 'weight must be in [0, 1]');

const strategySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('canary'), weight: weightSchema }),
  z.strictObject({ kind: z.literal('shadow') }),
  z.strictObject({ kind: z.literal('ab'), weight: weightSchema.default(0.5) }),
]);

const optionsSchema = z
  .object({
    model: modelNameSchema,
    strategy: strategySchema,
    champion: readableAliasSchema.default('champion'),
    challenger: readableAliasSchema.default('challenger'),
    autoRelease: z
      .strictObject({
        policy: gatePolicySchema,
        minSamples: z.number().int().min(1),
        onPass: z.enum(['promote', 'none']),
        onFail: z.enum(['rollback', 'none']),
      })
      .optional(),
    refreshMs: z.number().int().min(10).default(2000),
    window: z.strictObject({ size: z.number().int().min(1).max(10_000_000) }).optional(),
    shadow: z
      .strictObject({
        queueSize: z.number().int().min(0).optional(),
        concurrency: z.number().int().min(1).optional(),
      })
      .optional(),
    actor: actorSchema.optional(),
  })
  .refine((o) => o.champion !== o.challenger, {
    message: 'champion and challenger must be different aliases',
    path: ['challenger'],
  });

const actionSchema = z.object({
  actor: actorSchema.optional(),
  reason: z.string().max(4096).optional(),
});

function newServing<I, O>(
  version: ModelVersion,
  predict: Predictor<I, O>,
  size: number,
): Serving<I, O> {
  return {
    version,
    predict,
    counters: {
      count: 0,
      errors: 0,
      latencies: new NumberRing(size),
      compared: 0,
      differing: 0,
      dropped: 0,
    },
  };
}

function armEvidence<I, O>(
  serving: Serving<I, O>,
  shadow: boolean,
): { metrics: Record<string, number>; latenciesMs: Float64Array } {
  const c = serving.counters;
  const [p50, p95, p99] = c.latencies.percentiles([50, 95, 99]);
  const metrics: Record<string, number> = {
    error_rate: c.count > 0 ? c.errors / c.count : Number.NaN,
    latency_p50: p50 ?? Number.NaN,
    latency_p95: p95 ?? Number.NaN,
    latency_p99: p99 ?? Number.NaN,
    requests: c.count,
  };
  if (shadow)
    metrics.shadow_differing_share = c.compared > 0 ? c.differing / c.compared : Number.NaN;
  return { metrics, latenciesMs: c.latencies.toArray() };
}

function sameOutput(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false; // not JSON-comparable and not identical
  }
}

function notFound(model: string, alias: string, what: string): NotFoundError {
  return new NotFoundError(
    `[keel] router for model "${model}": alias "${alias}" ${what}; set it with registry.setAlias("${model}", "${alias}", version)`,
  );
}

function pick<I, O>(options: RouterOptions<I, O>): Record<string, unknown> {
  const { keel: _keel, load: _load, monitor: _monitor, random: _random, ...rest } = options;
  return rest;
}

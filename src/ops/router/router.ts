/**
 * @module
 * `createRouter`: serves the versions behind two aliases of one model (champion and
 * challenger) as a canary, a shadow or an A/B test; keeps per-arm live statistics; judges the
 * challenger with the GateEvaluator and promotes or rolls it back through the Registry.
 * Options live in `options.ts`, the split in `assignment.ts`, counters and evidence in
 * `stats.ts`, the shadow queue in `shadow.ts`, the auto-release decision in `auto-release.ts`.
 */
import { isKeelError, NotFoundError, ValidationError } from '../../core/errors.js';
import { createIdGenerator } from '../../core/ids.js';
import { assertReadableObject, readProperty } from '../../core/validate.js';
import type { GatePolicy } from '../../gates/schema.js';
import type { GateReport } from '../../gates/types.js';
import type { ModelVersion } from '../../registry/types.js';
import { checkOpsKeel } from '../context.js';
import { listenable } from '../emitter.js';
import { routesToChallenger } from './assignment.js';
import { isRefusal, JudgementSchedule, type ReleaseAction, releaseAction } from './auto-release.js';
import { cachedLoader, resolveOrNull } from './loading.js';
import { parseActionOptions, parseRouterOptions } from './options.js';
import { promoteServing, type ReleaseContext, rollbackServing } from './release-actions.js';
import { type MergedRelease, mergedEvidence } from './replicas.js';
import { ShadowQueue } from './shadow.js';
import { ReplicaSharing, replicaStore } from './sharing.js';
import {
  type ArmState,
  armEvidence,
  armStats,
  newServing,
  recordCall,
  type Serving,
  shadowStats,
} from './stats.js';
import type {
  Arm,
  AutoRelease,
  Prediction,
  Predictor,
  ReleaseActionOptions,
  Router,
  RouterEvents,
  RouterOptions,
  RouterStats,
} from './types.js';

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
  assertReadableObject(options, 'router options');
  const { keel, load, monitor } = options ?? ({} as RouterOptions<I, O>);
  checkOpsKeel(keel);
  const settings = parseRouterOptions(options);
  const { model, strategy, weight, autoRelease, actor, windowSize } = settings;
  const shared = settings.replicas !== undefined;
  const random = options.random ?? Math.random;
  const nextId = createIdGenerator(keel.clock);
  const events = listenable<RouterEvents>();
  const sharedStore = settings.replicas && replicaStore(options.replicas?.store, keel);

  const champion: ArmState<I, O> = { arm: 'champion', alias: settings.champion, seq: 0 };
  const challenger: ArmState<I, O> = { arm: 'challenger', alias: settings.challenger, seq: 0 };
  const schedule = autoRelease ? new JudgementSchedule(autoRelease.minSamples) : undefined;
  const background = new Set<Promise<unknown>>();
  // A rolled-back version is not served again until its alias is seen pointing elsewhere.
  let blocked: number | undefined;
  let closed = false;

  const loadVersion = cachedLoader(model, load);
  const resolveAlias = (alias: string): Promise<ModelVersion | null> =>
    resolveOrNull(keel.registry, model, alias);

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
    swap(state, newServing(target, predict, windowSize, shared));
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

  const shadows = new ShadowQueue<I, O>({
    queueSize: settings.queueSize,
    concurrency: settings.concurrency,
    track,
    onDone: (serving) => afterChallengerRequest(serving),
  });

  const timer = setInterval(() => {
    if (closed) return;
    track(refresh()).catch((error: unknown) => {
      if (!closed) emitError('refresh', error);
    });
  }, settings.refreshMs);
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
    const startAt = performance.now();
    let output: O;
    try {
      output = await serving.predict(input);
    } catch (error) {
      recordCall(serving.counters, performance.now() - startAt, true);
      if (arm === 'challenger') afterChallengerRequest(serving);
      throw error;
    }
    const latencyMs = performance.now() - startAt;
    recordCall(serving.counters, latencyMs, false);
    const predictionId = nextId();
    if (monitor) monitor.record(input, output, latencyMs, predictionId);
    if (arm === 'challenger') afterChallengerRequest(serving);
    return { output, version: serving.version.version, arm, predictionId };
  };

  const afterChallengerRequest = (serving: Serving<I, O>): void => {
    // Replicas judge merged evidence on their exchange timer instead (see share).
    if (!autoRelease || closed || settings.replicas) return;
    const version = serving.version.version;
    if (!schedule?.claim(version, serving.counters.count)) return;
    // Judged off the caller's path.
    setTimeout(() => {
      track(release(serving, autoRelease)).catch((error: unknown) => {
        if (closed) return;
        if (isRefusal(error)) schedule?.retryAfter(version, serving.counters.count);
        emitError('auto-release', error, version);
      });
    }, 0);
  };

  /** Judges the challenger and acts; resolves what was done (`undefined`: it is no longer served). */
  const release = async (
    serving: Serving<I, O>,
    policy: AutoRelease,
    merged?: MergedRelease,
  ): Promise<ReleaseAction | undefined> => {
    if (closed || challenger.serving !== serving) return undefined;
    const report = await analyzeServing(policy.policy, serving, merged);
    if (closed || challenger.serving !== serving) return undefined;
    const requests = merged ? merged.challenger.count : serving.counters.count;
    const action = releaseAction(report, policy, requests);
    if (action.kind === 'promote') {
      await promoteServing(actions, serving, {
        evidence: report,
        reason: action.reason,
        automatic: true,
      });
    } else if (action.kind === 'rollback') {
      await rollbackServing(actions, serving, { reason: action.reason, report, automatic: true });
    }
    return action;
  };

  /** Gate evidence of this process's traffic, or of every replica's when `merged` is given. */
  const analyzeServing = async (
    policy: GatePolicy,
    chal: Serving<I, O>,
    merged?: MergedRelease,
  ): Promise<GateReport> => {
    const champ = champion.serving;
    const shadow = strategy.kind === 'shadow';
    const evidence = merged
      ? {
          candidate: mergedEvidence(merged.challenger, windowSize, shadow),
          champion: mergedEvidence(merged.champion, windowSize, false),
        }
      : {
          candidate: armEvidence(chal, shadow),
          ...(champ ? { champion: armEvidence(champ, false) } : {}),
        };
    const report = await keel.gates.evaluate(policy, evidence, {
      subject: { model, version: chal.version.version },
    });
    events.emit('analysis', { model, version: chal.version.version, report });
    return report;
  };

  const actions: ReleaseContext<I, O> = {
    keel,
    model,
    actor,
    champion,
    challenger,
    events,
    serveAsChampion(chal) {
      champion.seq++;
      swap(champion, newServing(chal.version, chal.predict, windowSize, shared));
    },
    stopChallenger(version) {
      blocked = version;
      challenger.seq++;
      swap(challenger, undefined);
      shadows.clear();
    },
    resolveAlias,
  };

  const sharing =
    settings.replicas &&
    new ReplicaSharing<Serving<I, O>>(sharedStore!, keel, settings.replicas, autoRelease, {
      started,
      current() {
        const champ = champion.serving;
        const chal = champ && routableChallenger(champ);
        if (!champ || !chal || closed) return undefined;
        return {
          release: {
            champion: { alias: champion.alias, version: champ.version.version },
            challenger: { alias: challenger.alias, version: chal.version.version },
          },
          challenger: chal,
          version: chal.version.version,
          championCounters: champ.counters,
          challengerCounters: chal.counters,
        };
      },
      judge: (chal, merged) => release(chal, autoRelease!, merged),
      onError: emitError,
      track,
    });

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
      const key = readProperty(opts, 'key', 'predict options');
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
        if (chal && !closed) shadows.enqueue(chal, input, answer.output);
        return answer;
      }
      if (chal && routesToChallenger(weight, key, model, random)) {
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
        out.shadow = shadowStats(challenger.serving?.counters, shadows.pending);
      }
      if (sharing?.last) out.shared = sharing.last;
      return out;
    },
    async analyze(policy: GatePolicy): Promise<GateReport> {
      await started;
      const merged = await sharing?.exchange();
      if (merged) return analyzeServing(policy, merged.challenger, merged.merged);
      return analyzeServing(policy, requireChallenger('analyze the challenger'));
    },
    async promote(opts: ReleaseActionOptions & { evidence?: GateReport } = {}) {
      const checked = parseActionOptions(opts, 'promote');
      await started;
      return promoteServing(actions, requireChallenger('promote the challenger'), {
        ...checked,
        ...(opts.evidence ? { evidence: opts.evidence } : {}),
        automatic: false,
      });
    },
    async rollback(opts: ReleaseActionOptions = {}) {
      const checked = parseActionOptions(opts, 'rollback');
      await started;
      await rollbackServing(actions, requireChallenger('roll back the challenger'), {
        ...checked,
        automatic: false,
      });
    },
    refresh,
    share: async () => sharing?.share(),
    async close() {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        keel.events.off('alias:changed', onAliasChanged);
        shadows.close();
      }
      await Promise.allSettled([...background]);
      await sharing?.close();
      events.clear();
    },
  } as Router<I, O>;
  return router;
}

interface RouterAliasChange {
  model: string;
  alias: string;
  version: number | null;
}

function notFound(model: string, alias: string, what: string): NotFoundError {
  return new NotFoundError(
    `[keel] router for model "${model}": alias "${alias}" ${what}; set it with registry.setAlias("${model}", "${alias}", version)`,
  );
}

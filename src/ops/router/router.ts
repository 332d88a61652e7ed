/**
 * @module
 * `createRouter`: serves the versions behind two aliases of one model (champion and
 * challenger) as a canary, a shadow or an A/B test; keeps per-arm live statistics; judges the
 * challenger with the GateEvaluator and promotes or rolls it back through the Registry.
 * This file composes the parts: options in `options.ts`, the arms and their swaps in
 * `swap.ts`, alias following in `follow.ts`, the split in `assignment.ts`, counters and
 * evidence in `stats.ts`, the shadow queue in `shadow.ts`, the judgement in `judge.ts` (its
 * decision in `auto-release.ts`), promotion and rollback in `release-actions.ts`, replicas in
 * `sharing.ts`.
 */
import { ValidationError } from '../../core/errors.js';
import { createIdGenerator } from '../../core/ids.js';
import { assertReadableObject, readProperty } from '../../core/validate.js';
import type { GatePolicy } from '../../gates/schema.js';
import type { GateReport } from '../../gates/types.js';
import type { ModelVersion } from '../../registry/types.js';
import { checkOpsKeel } from '../context.js';
import { listenable } from '../emitter.js';
import { routesToChallenger } from './assignment.js';
import { AliasFollower, aliasNotFound } from './follow.js';
import { ChallengerJudge } from './judge.js';
import { cachedLoader, resolveOrNull } from './loading.js';
import { parseActionOptions, parseRouterOptions } from './options.js';
import { promoteServing, type ReleaseContext, rollbackServing } from './release-actions.js';
import { ShadowQueue } from './shadow.js';
import { ReplicaSharing, replicaStore } from './sharing.js';
import { armStats, recordCall, type Serving, shadowStats } from './stats.js';
import { ArmSwitch } from './swap.js';
import type {
  Arm,
  Prediction,
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
 * import { createRouter, getJson, putJson } from 'keel';
 *
 * // two versions of a model whose artifact is a threshold
 * for (const threshold of [0.5, 0.4]) {
 *   const { digest } = await putJson(keel.artifacts, { threshold });
 *   await keel.registry.registerVersion('churn', { artifact: digest });
 * }
 * await keel.registry.setAlias('churn', 'champion', 1);
 * await keel.registry.setAlias('churn', 'challenger', 2);
 *
 * type Row = { userId: string; score: number };
 * const router = createRouter<Row, boolean>({
 *   keel,
 *   model: 'churn',
 *   strategy: { kind: 'canary', weight: 0.1 }, // 10% of users see the challenger
 *   load: async (v) => {
 *     const { threshold } = (await getJson(keel.artifacts, v.artifact.digest)) as {
 *       threshold: number;
 *     };
 *     return (row: Row) => row.score > threshold;
 *   },
 *   autoRelease: {
 *     policy: { name: 'live', rules: [{ kind: 'metric', metric: 'error_rate', max: 0.01 }] },
 *     minSamples: 500,
 *     onPass: 'promote',
 *     onFail: 'rollback',
 *   },
 * });
 * const row = { userId: 'u-42', score: 0.45 };
 * const { output, arm, version } = await router.predict(row, { key: row.userId });
 * console.log(arm, version, output); // champion 1 false
 * await router.close();
 * ```
 *
 * @throws {ValidationError} when an option is malformed: no keel instance, no model name, a
 *   `strategy` or `weight` out of range, `load` not a function, bad `autoRelease`, `replicas`
 *   without a MetadataStore, an unknown option. Nothing is loaded then. Loading failures come
 *   later, from {@link Router.ready} and {@link Router.predict}.
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

  const arms = new ArmSwitch<I, O>({
    model,
    champion: settings.champion,
    challenger: settings.challenger,
    events,
    windowSize,
    shared,
  });
  const { champion, challenger } = arms;
  const background = new Set<Promise<unknown>>();
  let closed = false;

  const resolveAlias = (alias: string): Promise<ModelVersion | null> =>
    resolveOrNull(keel.registry, model, alias);

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

  const track = <T>(promise: Promise<T>): Promise<T> => {
    background.add(promise);
    promise.then(
      () => background.delete(promise),
      () => background.delete(promise),
    );
    return promise;
  };

  const follower = new AliasFollower<I, O>({
    keel,
    model,
    arms,
    load: cachedLoader(model, load),
    resolveAlias,
    refreshMs: settings.refreshMs,
    onError: emitError,
    track,
    closed: () => closed,
  });
  const { started } = follower;

  const shadows = new ShadowQueue<I, O>({
    queueSize: settings.queueSize,
    concurrency: settings.concurrency,
    track,
    onDone: (serving) => judge.afterRequest(serving),
  });

  const call = async (arm: Arm, serving: Serving<I, O>, input: I): Promise<Prediction<O>> => {
    const startAt = performance.now();
    let output: O;
    try {
      output = await serving.predict(input);
    } catch (error) {
      recordCall(serving.counters, performance.now() - startAt, true);
      if (arm === 'challenger') judge.afterRequest(serving);
      throw error;
    }
    const latencyMs = performance.now() - startAt;
    recordCall(serving.counters, latencyMs, false);
    const predictionId = nextId();
    if (monitor) monitor.record(input, output, latencyMs, predictionId);
    if (arm === 'challenger') judge.afterRequest(serving);
    return { output, version: serving.version.version, arm, predictionId };
  };

  const actions: ReleaseContext<I, O> = {
    keel,
    model,
    actor,
    champion,
    challenger,
    events,
    serveAsChampion: (chal) => arms.serveAsChampion(chal),
    stopChallenger(version) {
      arms.stopChallenger(version);
      shadows.clear();
    },
    resolveAlias,
  };

  const judge = new ChallengerJudge<I, O>({
    release: actions,
    shadow: strategy.kind === 'shadow',
    windowSize,
    autoRelease,
    replicas: shared,
    track,
    onError: emitError,
    closed: () => closed,
  });

  const sharing =
    settings.replicas &&
    new ReplicaSharing<Serving<I, O>>(sharedStore!, keel, settings.replicas, autoRelease, {
      started,
      current() {
        const champ = champion.serving;
        const chal = champ && arms.routableChallenger(champ);
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
      judge: (chal, merged) => judge.release(chal, autoRelease!, merged),
      onError: emitError,
      track,
    });

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
        if (!champ) throw aliasNotFound(model, champion.alias, 'is not served');
      }
      const chal = arms.routableChallenger(champ);
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
      if (merged) return judge.analyze(policy, merged.challenger, merged.merged);
      return judge.analyze(policy, arms.requireChallenger('analyze the challenger'));
    },
    async promote(opts: ReleaseActionOptions & { evidence?: GateReport } = {}) {
      const checked = parseActionOptions(opts, 'promote');
      await started;
      return promoteServing(actions, arms.requireChallenger('promote the challenger'), {
        ...checked,
        ...(opts.evidence ? { evidence: opts.evidence } : {}),
        automatic: false,
      });
    },
    async rollback(opts: ReleaseActionOptions = {}) {
      const checked = parseActionOptions(opts, 'rollback');
      await started;
      await rollbackServing(actions, arms.requireChallenger('roll back the challenger'), {
        ...checked,
        automatic: false,
      });
    },
    refresh: () => follower.refresh(),
    share: async () => sharing?.share(),
    async close() {
      if (!closed) {
        closed = true;
        follower.close();
        shadows.close();
      }
      await Promise.allSettled([...background]);
      await sharing?.close();
      events.clear();
    },
  } as Router<I, O>;
  return router;
}

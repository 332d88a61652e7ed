/**
 * @module
 * How the router judges its challenger: gate evidence from live counters (this process's, or
 * every replica's merged), the report from the GateEvaluator, and with `autoRelease` the
 * promotion or rollback it calls for, scheduled off the caller's path every `minSamples`.
 */
import type { GatePolicy } from '../../gates/schema.js';
import type { GateReport } from '../../gates/types.js';
import { isRefusal, JudgementSchedule, type ReleaseAction, releaseAction } from './auto-release.js';
import { promoteServing, type ReleaseContext, rollbackServing } from './release-actions.js';
import { type MergedRelease, mergedEvidence } from './replicas.js';
import { armEvidence, type Serving } from './stats.js';
import type { AutoRelease, RouterEvents } from './types.js';

/** What {@link ChallengerJudge} needs from the router. */
export interface JudgeOptions<I, O> {
  /** The router's arms, keel and events, as promotion and rollback use them. */
  release: ReleaseContext<I, O>;
  /** Whether the challenger runs in shadow (its evidence then includes output differences). */
  shadow: boolean;
  /** Latencies kept per served version. */
  windowSize: number;
  /** When set, the judgement after every `minSamples` challenger requests. */
  autoRelease: AutoRelease | undefined;
  /** Whether replicas judge merged evidence (on their exchange timer, not per request). */
  replicas: boolean;
  /** Registers background work so the router's `close()` waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Reports a failed automatic release as the router's `error` event. */
  onError(operation: RouterEvents['error']['operation'], error: unknown, version?: number): void;
  /** Whether the router is closed (nothing is judged then). */
  closed(): boolean;
}

/** Judges the challenger on demand (`analyze`) and, with `autoRelease`, as traffic arrives. */
export class ChallengerJudge<I, O> {
  readonly #o: JudgeOptions<I, O>;
  readonly #schedule: JudgementSchedule | undefined;

  /** A judge; nothing is judged until traffic or a call asks for it. */
  constructor(options: JudgeOptions<I, O>) {
    this.#o = options;
    this.#schedule = options.autoRelease && new JudgementSchedule(options.autoRelease.minSamples);
  }

  /** After each challenger request: schedules the automatic judgement when it is due. */
  afterRequest(serving: Serving<I, O>): void {
    const { autoRelease, replicas, track, onError, closed } = this.#o;
    // Replicas judge merged evidence on their exchange timer instead (see share).
    if (!autoRelease || closed() || replicas) return;
    const version = serving.version.version;
    if (!this.#schedule?.claim(version, serving.counters.count)) return;
    // Judged off the caller's path.
    setTimeout(() => {
      track(this.release(serving, autoRelease)).catch((error: unknown) => {
        if (closed()) return;
        if (isRefusal(error)) this.#schedule?.retryAfter(version, serving.counters.count);
        onError('auto-release', error, version);
      });
    }, 0);
  }

  /**
   * Judges the challenger and acts; resolves what was done (`undefined`: it is no longer
   * served).
   *
   * @throws {PolicyError} (as a rejection) when the champion alias's policy refuses the
   *   promotion.
   * @throws {UnauthorizedError} (as a rejection) when the router's actor may not move the alias.
   * @throws {ConflictError} (as a rejection) when the champion alias moved meanwhile.
   */
  async release(
    serving: Serving<I, O>,
    policy: AutoRelease,
    merged?: MergedRelease,
  ): Promise<ReleaseAction | undefined> {
    const { release: ctx, closed } = this.#o;
    if (closed() || ctx.challenger.serving !== serving) return undefined;
    const report = await this.analyze(policy.policy, serving, merged);
    if (closed() || ctx.challenger.serving !== serving) return undefined;
    const requests = merged ? merged.challenger.count : serving.counters.count;
    const action = releaseAction(report, policy, requests);
    if (action.kind === 'promote') {
      await promoteServing(ctx, serving, {
        evidence: report,
        reason: action.reason,
        automatic: true,
      });
    } else if (action.kind === 'rollback') {
      await rollbackServing(ctx, serving, { reason: action.reason, report, automatic: true });
    }
    return action;
  }

  /**
   * Gate evidence of this process's traffic, or of every replica's when `merged` is given,
   * judged with `policy`; emits `analysis`.
   *
   * @throws {ValidationError} (as a rejection) when `policy` is malformed.
   * @throws {IntegrityError} (as a rejection) when the stored report does not read back.
   */
  async analyze(
    policy: GatePolicy,
    chal: Serving<I, O>,
    merged?: MergedRelease,
  ): Promise<GateReport> {
    const { release: ctx, shadow, windowSize } = this.#o;
    const champ = ctx.champion.serving;
    const evidence = merged
      ? {
          candidate: mergedEvidence(merged.challenger, windowSize, shadow),
          champion: mergedEvidence(merged.champion, windowSize, false),
        }
      : {
          candidate: armEvidence(chal, shadow),
          ...(champ ? { champion: armEvidence(champ, false) } : {}),
        };
    const report = await ctx.keel.gates.evaluate(policy, evidence, {
      subject: { model: ctx.model, version: chal.version.version },
    });
    ctx.events.emit('analysis', { model: ctx.model, version: chal.version.version, report });
    return report;
  }
}

/**
 * @module
 * The auto-release decision: when a challenger version is due for judgement, what a gate
 * report makes the router do (promote, roll back, nothing), and which failures earn a retry.
 */
import { ErrorCodes, isKeelError } from '../../core/errors.js';
import type { GateReport } from '../../gates/types.js';
import type { AutoRelease } from './types.js';

/** What auto-release does after a judgement. */
export type ReleaseAction =
  | { kind: 'promote'; reason: string }
  | { kind: 'rollback'; reason: string }
  | { kind: 'none' };

/**
 * Per challenger version, the request count at which auto-release judges it next. A judgement
 * whose action the registry refuses (e.g. an approval still missing) is tried again after
 * another `minSamples` requests, so a late approval still releases the version.
 */
export class JudgementSchedule {
  readonly #minSamples: number;
  readonly #next = new Map<number, number>();

  /** @param minSamples requests to see before the first judgement of a version. */
  constructor(minSamples: number) {
    this.#minSamples = minSamples;
  }

  /**
   * True exactly once when `count` reaches the version's next judgement; false afterwards
   * until {@link JudgementSchedule.retryAfter} schedules another.
   */
  claim(version: number, count: number): boolean {
    const due = this.#next.get(version) ?? this.#minSamples;
    if (count < due) return false;
    this.#next.set(version, Number.POSITIVE_INFINITY);
    return true;
  }

  /** Schedules another judgement of `version` once `minSamples` more requests are seen. */
  retryAfter(version: number, count: number): void {
    this.#next.set(version, count + this.#minSamples);
  }
}

/** Whether a failed release action was a refusal worth judging again later (policy, authorization). */
export function isRefusal(error: unknown): boolean {
  return isKeelError(error, ErrorCodes.policy) || isKeelError(error, ErrorCodes.unauthorized);
}

/** What `autoRelease` does with `report`, judged on `requests` challenger requests. */
export function releaseAction(
  report: GateReport,
  autoRelease: AutoRelease,
  requests: number,
): ReleaseAction {
  if (report.passed && autoRelease.onPass === 'promote') {
    return {
      kind: 'promote',
      reason: `auto-release: gate "${report.policy}" passed on ${requests} challenger requests`,
    };
  }
  if (!report.passed && autoRelease.onFail === 'rollback') {
    return {
      kind: 'rollback',
      reason: `auto-release: gate "${report.policy}" failed on ${requests} challenger requests`,
    };
  }
  return { kind: 'none' };
}

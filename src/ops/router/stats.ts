/**
 * @module
 * What the router knows about the version each arm serves: live counters (requests, errors, a
 * latency window, shadow comparisons), the statistics read from them, and the gate evidence
 * built from them.
 */
import { canonicalJson } from '../../core/canonical-json.js';
import { percentileSorted } from '../../gates/stats.js';
import type { ModelVersion } from '../../registry/types.js';
import { LatencyHistogram } from '../replicas/histogram.js';
import { NumberRing } from '../window.js';
import type { Arm, ArmStats, Predictor, ShadowStats } from './types.js';

/** Live counters of one served version. */
export interface Counters {
  /** Requests answered (or shadow calls completed). */
  count: number;
  /** Requests whose predictor threw. */
  errors: number;
  /** The most recent latencies, in ms. */
  latencies: NumberRing;
  /** Shadow pairs compared. */
  compared: number;
  /** Shadow pairs whose outputs differ. */
  differing: number;
  /** Shadow calls dropped because the queue was full. */
  dropped: number;
  /** Every latency since the swap, binned for sharing with other replicas (only when shared). */
  histogram?: LatencyHistogram;
}

/** One loaded version on one arm; its counters start fresh with every swap. */
export interface Serving<I, O> {
  /** The version served. */
  version: ModelVersion;
  /** Its loaded predictor. */
  predict: Predictor<I, O>;
  /** Its live counters. */
  counters: Counters;
}

/** One arm of the router: the alias it follows and what it serves now. */
export interface ArmState<I, O> {
  /** Which arm. */
  arm: Arm;
  /** The alias followed. */
  alias: string;
  /** The version served, if any. */
  serving?: Serving<I, O> | undefined;
  /** Bumped by every follow/swap so a slow load cannot overwrite a newer decision. */
  seq: number;
}

/** The evidence one arm gives the gate evaluator. */
export interface ArmEvidence {
  /** `error_rate`, `latency_p50/p95/p99`, `requests` (and `shadow_differing_share`). */
  metrics: Record<string, number>;
  /** The latency samples, for distribution rules. */
  latenciesMs: Float64Array;
}

/**
 * A fresh serving of `version` with zeroed counters and a latency window of `size`; `shared`
 * also bins every latency for the other replicas.
 */
export function newServing<I, O>(
  version: ModelVersion,
  predict: Predictor<I, O>,
  size: number,
  shared = false,
): Serving<I, O> {
  const counters: Counters = {
    count: 0,
    errors: 0,
    latencies: new NumberRing(size),
    compared: 0,
    differing: 0,
    dropped: 0,
  };
  if (shared) counters.histogram = new LatencyHistogram();
  return { version, predict, counters };
}

/** Records one finished call on `counters`. */
export function recordCall(counters: Counters, latencyMs: number, failed: boolean): void {
  counters.count++;
  if (failed) counters.errors++;
  counters.latencies.push(latencyMs);
  counters.histogram?.record(latencyMs);
}

/** The statistics of one arm, for {@link Router.stats}. */
export function armStats<I, O>(state: ArmState<I, O>): ArmStats {
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

/** The shadow statistics of the challenger's counters; `pending` is the queue's own count. */
export function shadowStats(c: Counters | undefined, pending: number): ShadowStats {
  return {
    compared: c?.compared ?? 0,
    differing: c?.differing ?? 0,
    differingShare: c && c.compared > 0 ? c.differing / c.compared : Number.NaN,
    dropped: c?.dropped ?? 0,
    pending,
  };
}

/** The gate evidence of one served version; `shadow` adds the differing share. */
export function armEvidence<I, O>(serving: Serving<I, O>, shadow: boolean): ArmEvidence {
  return evidenceFrom(serving.counters, serving.counters.latencies.toArray(), shadow);
}

/** The counts gate evidence is built from: one replica's, or the sum over replicas. */
export interface EvidenceCounts {
  /** Requests answered. */
  count: number;
  /** Requests whose predictor threw. */
  errors: number;
  /** Shadow pairs compared. */
  compared: number;
  /** Shadow pairs whose outputs differ. */
  differing: number;
}

/** Gate evidence from counts and latency samples; `shadow` adds the differing share. */
export function evidenceFrom(
  c: EvidenceCounts,
  latenciesMs: Float64Array,
  shadow: boolean,
): ArmEvidence {
  const sorted = latenciesMs.slice().sort();
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentileSorted(sorted, p));
  const metrics: Record<string, number> = {
    error_rate: c.count > 0 ? c.errors / c.count : Number.NaN,
    latency_p50: p50 ?? Number.NaN,
    latency_p95: p95 ?? Number.NaN,
    latency_p99: p99 ?? Number.NaN,
    requests: c.count,
  };
  if (shadow)
    metrics.shadow_differing_share = c.compared > 0 ? c.differing / c.compared : Number.NaN;
  return { metrics, latenciesMs };
}

/** Whether two outputs are the same: identical, or equal as canonical JSON. */
export function sameOutput(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false; // not JSON-comparable and not identical
  }
}

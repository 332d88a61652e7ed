/**
 * @module
 * The shared documents of a monitor group besides the replicas' windows: the `judge` document
 * (who judges, how far the judged checks have covered each replica's predictions, the group's
 * prediction count and last loud check) and the `episode` document (the group's current or
 * last episode). Reading is defensive: a document this version of keel did not write reads as
 * absent, so a replica starts afresh instead of trusting it.
 */
import type { JsonValue } from '../../core/json.js';
import type { WindowSummary } from './group-window.js';
import type { DriftEpisode } from './types.js';

/** Replicas that left the group whose coverage is still remembered (a returning replica's predictions are not counted twice). */
const REMEMBERED = 64;

/** Per replica id: the monitor instance and how many of its predictions judged checks covered. */
export type Coverage = Readonly<Record<string, { nonce: string; processed: number }>>;

/** The judge document, as read. */
export interface JudgeDoc {
  /** The replica that judged last. */
  by: string;
  /** Group predictions covered by judged checks. */
  position: number;
  /** The group prediction count at the last check that was not quiet. */
  lastLoud: number;
  /** Coverage per replica. */
  covered: Coverage;
}

/** The episode document, as read. */
export interface EpisodeDoc {
  /** Whether the episode is still open. */
  open: boolean;
  /** The episode (resolved ones carry `endedAt`). */
  episode: DriftEpisode;
}

/** The judge document in `value`, or undefined when absent or not one keel wrote. */
export function readJudgeDoc(value: JsonValue | undefined): JudgeDoc | undefined {
  const v = value as Record<string, unknown> | null | undefined;
  if (typeof v !== 'object' || v === null || typeof v.by !== 'string') return undefined;
  if (!isCount(v.position) || !isCount(v.lastLoud) || !Array.isArray(v.covered)) return undefined;
  const covered: Record<string, { nonce: string; processed: number }> = Object.create(null);
  for (const entry of v.covered as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined;
    const [id, nonce, processed] = entry as unknown[];
    if (typeof id !== 'string' || typeof nonce !== 'string' || !isCount(processed))
      return undefined;
    covered[id] = { nonce, processed };
  }
  return { by: v.by, position: v.position, lastLoud: v.lastLoud, covered };
}

/** `coverage` after a judged check of `parts`: theirs now, then the most recent others. */
export function withCoverage(
  coverage: Coverage,
  parts: ReadonlyMap<string, WindowSummary>,
): JsonValue {
  const out: JsonValue[] = [];
  for (const [id, part] of parts) out.push([id, part.nonce, part.processed]);
  let kept = 0;
  for (const [id, seen] of Object.entries(coverage)) {
    if (parts.has(id) || kept >= REMEMBERED) continue;
    out.push([id, seen.nonce, seen.processed]);
    kept++;
  }
  return out;
}

/** The episode document in `value`, or undefined when absent or not one keel wrote. */
export function readEpisodeDoc(value: JsonValue | undefined): EpisodeDoc | undefined {
  const v = value as Record<string, unknown> | null | undefined;
  if (typeof v !== 'object' || v === null || typeof v.open !== 'boolean') return undefined;
  const e = v.episode as Record<string, unknown> | null;
  if (typeof e !== 'object' || e === null || !isCount(e.id) || e.id < 1) return undefined;
  if (typeof e.startedAt !== 'string' || !isCount(e.startedAtPrediction)) return undefined;
  if (!isCount(e.alarms) || !Array.isArray(e.columns)) return undefined;
  if (!e.columns.every((c) => typeof c === 'string')) return undefined;
  const episode: DriftEpisode = {
    id: e.id,
    startedAt: e.startedAt,
    startedAtPrediction: e.startedAtPrediction,
    columns: [...(e.columns as string[])],
    alarms: e.alarms,
    ...(typeof e.endedAt === 'string' ? { endedAt: e.endedAt } : {}),
    ...(isCount(e.endedAtPrediction) ? { endedAtPrediction: e.endedAtPrediction } : {}),
  };
  return { open: v.open, episode };
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

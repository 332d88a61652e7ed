/**
 * @module
 * Reading and writing run documents: every change is a compare-and-swap on the document,
 * retried on conflict, so concurrent writers (other handles, other processes) never lose
 * an update, and each write is announced in the journal first (see run-index.ts).
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { Clock } from '../core/clock.js';
import {
  ConflictError,
  ErrorCodes,
  isKeelError,
  NotFoundError,
  ValidationError,
} from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { Telemetry } from '../core/telemetry.js';
import type { MetadataStore } from '../metadata/types.js';
import {
  RUN_ID_PATTERN,
  type RunDocument,
  runFromJson,
  runToJson,
  trackingKeys,
} from './records.js';
import type { RunIndex } from './run-index.js';
import type { Run, TrackerEvents } from './types.js';

/** What the tracker and its run handles share. */
export interface TrackerContext {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  clock: Clock;
  telemetry: Telemetry;
  emit: Emit<TrackerEvents>;
  index: RunIndex;
  newId: () => string;
  flushSize: number;
  flushIntervalMs: number;
}

/** Compare-and-swap attempts before a write gives up with `ConflictError`. */
const MAX_ATTEMPTS = 200;

/**
 * Checks a run id given by a caller: a non-string is `ValidationError`; a string that no run
 * can have is `NotFoundError` (nothing is read with it).
 */
export function checkRunId(runId: unknown, what = 'run id'): string {
  if (typeof runId !== 'string')
    throw new ValidationError(`[keel] invalid ${what}: expected a string; pass Run.id`);
  if (!RUN_ID_PATTERN.test(runId)) throw notFound(runId);
  return runId;
}

/** The stored run, or `undefined`. */
export async function readRun(
  ctx: TrackerContext,
  runId: string,
): Promise<RunDocument | undefined> {
  const key = trackingKeys.run(runId);
  const stored = await ctx.metadata.get(key);
  if (stored === undefined) return undefined;
  const doc = runFromJson(key, stored.value);
  ctx.index.remember(doc);
  return doc;
}

/** The stored run; `NotFoundError` when absent. */
export async function requireRun(ctx: TrackerContext, runId: string): Promise<RunDocument> {
  const doc = await readRun(ctx, runId);
  if (doc === undefined) throw notFound(runId);
  return doc;
}

/** Writes a new run document (`ConflictError` if the id exists). */
export async function createRunDocument(ctx: TrackerContext, run: Run): Promise<void> {
  await ctx.metadata.append(trackingKeys.journal, [[run.id, 0]]);
  await ctx.metadata.put(trackingKeys.run(run.id), runToJson({ run, seq: 0 }), {
    ifRevision: null,
  });
  ctx.index.remember({ run, seq: 0 });
}

/**
 * Applies `mutate` to the current run and stores the result with compare-and-swap, retrying
 * on conflict. `mutate` edits the run in place and returns whether it changed anything; it
 * may throw (nothing is written then). Returns the run as stored.
 */
export async function updateRun(
  ctx: TrackerContext,
  runId: string,
  mutate: (run: Run) => boolean,
): Promise<Run> {
  const key = trackingKeys.run(runId);
  for (let attempt = 1; ; attempt++) {
    const stored = await ctx.metadata.get(key);
    if (stored === undefined) throw notFound(runId);
    const doc = runFromJson(key, stored.value);
    if (!mutate(doc.run)) {
      ctx.index.remember(doc);
      return doc.run;
    }
    const next: RunDocument = { run: doc.run, seq: doc.seq + 1 };
    await ctx.metadata.append(trackingKeys.journal, [[runId, next.seq]]);
    try {
      await ctx.metadata.put(key, runToJson(next), { ifRevision: stored.revision });
      ctx.index.remember(next);
      return next.run;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.conflict)) throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new ConflictError(
          `[keel] could not update run ${runId}: ${MAX_ATTEMPTS} concurrent writers won in a row; retry later`,
          { cause: error },
        );
      }
      // spread competing writers (possibly other processes) apart before the next read
      if (attempt > 1) await sleep(Math.random() * Math.min(50, 2 ** attempt));
    }
  }
}

/** Throws `ConflictError` unless the run is still running. */
export function assertRunning(run: Run): void {
  if (run.status !== 'running') throw endedError(run.id, run.status);
}

/** The error every write to an ended run gets. */
export function endedError(runId: string, status: string): ConflictError {
  return new ConflictError(
    `[keel] run ${runId} has ended (status ${status}): it accepts no more writes; start a new run`,
    { details: { runId, status } },
  );
}

/** The error for an unknown run id. */
export function notFound(runId: string): NotFoundError {
  const shown = JSON.stringify(runId.length > 80 ? `${runId.slice(0, 80)}...` : runId);
  return new NotFoundError(`[keel] no run ${shown}: check the id (Run.id / RunHandle.id)`, {
    details: { runId },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

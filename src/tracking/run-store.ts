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
  sameRef,
  trackingKeys,
} from './records.js';
import type { RunIndex } from './run-index.js';
import type { LineageRef, Run, RunStatus, TrackerEvents } from './types.js';

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
  /** Experiments known to exist (they are never deleted): saves a read per startRun. */
  experiments: Set<string>;
  /** Runs started with `deferWriteMs` and not stored yet, by id: reads store them first. */
  unborn: Map<string, { store(): Promise<void> }>;
  /** Set by `Tracker.close()`: no run starts and no handle writes after it. */
  closed: boolean;
  /** The handles of this tracker whose run has not ended through them: `close()` flushes them. */
  live: Set<LiveHandle>;
  /** Calls started before `close()` and still under way: `close()` waits for them. */
  pending: Set<Promise<unknown>>;
}

/** What `Tracker.close()` needs of a run handle. */
export interface LiveHandle {
  /** Stores the deferred run and writes every buffered point; the run stays running. */
  persist(): Promise<void>;
}

/** Counts `work` as under way (`ctx.pending`) until it settles; returns it. */
export function track<T>(ctx: TrackerContext, work: Promise<T>): Promise<T> {
  ctx.pending.add(work);
  const done = (): void => {
    ctx.pending.delete(work);
  };
  // the caller gets the rejection through `work`; this branch only forgets it
  work.then(done, done);
  return work;
}

/** The error of every write and `startRun`/`resumeRun` after `Tracker.close()`. */
export function closedError(): ConflictError {
  return new ConflictError(
    '[keel] the tracker is closed: it starts no runs and accepts no writes after close(); create a new tracker (or keel) to record more',
  );
}

/** Throws the error of {@link closedError} once the tracker is closed. */
export function assertNotClosed(ctx: TrackerContext): void {
  if (ctx.closed) throw closedError();
}

/** Stores the deferred runs `ids` (default: all) of this tracker, so that reads see them. */
export async function storeDeferred(ctx: TrackerContext, ids?: readonly string[]): Promise<void> {
  if (ctx.unborn.size === 0) return;
  const handles =
    ids === undefined
      ? [...ctx.unborn.values()]
      : ids.flatMap((id) => {
          const handle = ctx.unborn.get(id);
          return handle === undefined ? [] : [handle];
        });
  await Promise.all(handles.map((handle) => handle.store()));
}

/** A run document as this process last wrote it, with its revision: the first guess of a write. */
export interface StoredRun {
  doc: RunDocument;
  revision: string;
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
export async function createRunDocument(ctx: TrackerContext, run: Run): Promise<StoredRun> {
  const doc: RunDocument = { run, seq: 0 };
  await announce(ctx, run.id, 0);
  const { revision } = await ctx.metadata.put(trackingKeys.run(run.id), runToJson(doc), {
    ifRevision: null,
  });
  ctx.index.remember(doc);
  ctx.index.noteWrite();
  return { doc, revision };
}

/** Appends copies of the references not yet in `refs`; returns whether any was added. */
export function addRefs(refs: LineageRef[], added: readonly LineageRef[]): boolean {
  let changed = false;
  for (const ref of added) {
    if (refs.some((existing) => sameRef(existing, ref))) continue;
    const copy: LineageRef = { digest: ref.digest };
    if (ref.name !== undefined) copy.name = ref.name;
    if (ref.kind !== undefined) copy.kind = ref.kind;
    refs.push(copy);
    changed = true;
  }
  return changed;
}

/**
 * Applies `mutate` to the current run and stores the result with compare-and-swap, retrying
 * on conflict. `mutate` edits the run in place and returns whether it changed anything; it
 * may throw (nothing is written then). Returns the run as stored, with its revision.
 *
 * `known` (what this process last wrote) is tried first without reading the document: when
 * someone else wrote in between, the compare-and-swap fails and the document is read.
 */
export async function updateRun(
  ctx: TrackerContext,
  runId: string,
  mutate: (run: Run) => boolean,
  known?: StoredRun,
): Promise<StoredRun> {
  const key = trackingKeys.run(runId);
  for (let attempt = 1; ; attempt++) {
    let doc: RunDocument;
    let revision: string;
    const guess = attempt === 1 ? known : undefined;
    if (guess !== undefined) {
      doc = { run: copyRun(guess.doc.run), seq: guess.doc.seq };
      revision = guess.revision;
      // "nothing to change" judged on a possibly stale copy is not trusted: read and judge again
      if (!mutate(doc.run)) continue;
    } else {
      const stored = await ctx.metadata.get(key);
      if (stored === undefined) throw notFound(runId);
      doc = runFromJson(key, stored.value);
      revision = stored.revision;
      if (!mutate(doc.run)) {
        ctx.index.remember(doc);
        return { doc, revision };
      }
    }
    const next: RunDocument = { run: doc.run, seq: doc.seq + 1 };
    await announce(ctx, runId, next.seq);
    try {
      const written = await ctx.metadata.put(key, runToJson(next), { ifRevision: revision });
      ctx.index.remember(next);
      ctx.index.noteWrite();
      return { doc: next, revision: written.revision };
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.conflict)) throw error;
      if (guess !== undefined) continue;
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

/**
 * The error every write to an ended run gets: the message and `details.status` give the
 * status the run ended with.
 */
export function endedError(runId: string, status: RunStatus): ConflictError {
  return new ConflictError(
    `[keel] run ${runId} has ended (status ${status}): it accepts no more writes; start a new run`,
    { details: { runId, status } },
  );
}

/**
 * The verified bytes of the output named `name` of run `runId` (the latest logged, when the
 * name was used more than once). `NotFoundError` when the run has no output of that name,
 * naming the ones it has.
 */
export async function readRunArtifact(
  ctx: TrackerContext,
  runId: string,
  name: string,
): Promise<Uint8Array> {
  const { run } = await requireRun(ctx, runId);
  let found: LineageRef | undefined;
  // outputs are in the order they were logged: the last of a name is the newest
  for (const ref of run.outputs) if (ref.name === name) found = ref;
  if (found === undefined) {
    const names = [...new Set(run.outputs.flatMap((ref) => (ref.name ? [ref.name] : [])))];
    const shown = names.length
      ? `its named outputs are ${names
          .slice(0, 20)
          .map((n) => JSON.stringify(n))
          .join(', ')}${names.length > 20 ? ', ...' : ''}`
      : 'it has no named outputs';
    throw new NotFoundError(
      `[keel] run ${runId} has no artifact named ${JSON.stringify(name)}: ${shown}; log it with run.logArtifact(body, { name })`,
      { details: { runId, name, available: names } },
    );
  }
  return ctx.artifacts.get(found.digest);
}

/** The error for an unknown run id. */
export function notFound(runId: string): NotFoundError {
  const shown = JSON.stringify(runId.length > 80 ? `${runId.slice(0, 80)}...` : runId);
  return new NotFoundError(`[keel] no run ${shown}: check the id (Run.id / RunHandle.id)`, {
    details: { runId },
  });
}

/** A copy of a run that `mutate` callbacks may edit without touching the original. */
export function copyRun(run: Run): Run {
  return {
    ...run,
    params: { ...run.params },
    tags: { ...run.tags },
    metrics: { ...run.metrics },
    inputs: [...run.inputs],
    outputs: [...run.outputs],
  };
}

/**
 * Announces a run-document write in the journal. A journal damaged past repair by append
 * (a corrupt record in its middle) is reported and the write goes on: the run document is
 * the source of truth, and readers that meet the damage list the run documents instead
 * until `keel.doctor()` repairs the journal.
 *
 * The journal head is read again after the append: when a compaction (or `keel.doctor()`)
 * moved the journal to a new log meanwhile, the entry may have landed in the old log after
 * readers stopped reading it, so it is appended to the new log too (ADR 0017). The document
 * is written only after that, so no reader misses an acknowledged write.
 */
async function announce(ctx: TrackerContext, runId: string, seq: number): Promise<void> {
  let log = await ctx.index.journal();
  for (;;) {
    try {
      await ctx.metadata.append(log, [[runId, seq]]);
      ctx.index.noteAppend();
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      // keel.doctor() may have started a new journal since: announce there
      const current = await ctx.index.journal(true);
      if (current !== log) {
        log = current;
        continue;
      }
      const offset = error.details?.offset;
      ctx.index.noteAppend({
        key: log,
        ...(typeof offset === 'number' ? { offset } : {}),
        reason: error.message,
      });
      return;
    }
    const current = await ctx.index.journal(true);
    if (current === log) return;
    log = current;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

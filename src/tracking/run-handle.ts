/**
 * @module
 * The live run handle: a synchronous metric buffer in typed-array columns, encoded into a
 * batch when full and flushed in order (one log append and one run-document update per
 * flush), and the run's state machine (open -> closing -> ended). Each run-document write
 * starts from the document this handle last wrote (compare-and-swap, read only on conflict).
 * Failures of background flushes are kept and surface as the rejection of the next
 * `flush()` or `end()`; the points stay buffered.
 */
import type { ArtifactMeta } from '../artifacts/types.js';
import type { Body } from '../core/body.js';
import { isoNow } from '../core/clock.js';
import { ConflictError, ErrorCodes, isKeelError, ValidationError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { type Params, paramsSchema, type Tags, tagsSchema } from '../core/schemas.js';
import { inSpan } from '../core/telemetry.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import { encodeMetricBatch, isLaterOrSame } from './metric-batch.js';
import { quickEndRun } from './quick-validate.js';
import { type LineageRole, runFromJson, trackingKeys } from './records.js';
import {
  addRefs,
  assertRunning,
  closedError,
  copyRun,
  createRunDocument,
  endedError,
  type LiveHandle,
  readRunArtifact,
  type StoredRun,
  type TrackerContext,
  track,
  updateRun,
} from './run-store.js';
import {
  artifactNameSchema,
  endRunSchema,
  finalStatusSchema,
  lineageRefSchema,
  logArtifactSchema,
  metricKeySchema,
} from './schemas.js';
import type {
  EndRunOptions,
  FinalRunStatus,
  LineageRef,
  LogMetricOptions,
  MetricPoint,
  Run,
  RunHandle,
} from './types.js';

/** Most distinct metric keys one handle accepts. */
export const MAX_METRIC_KEYS = 100_000;

/** Longest stored error message of a failed run. */
const MAX_ERROR_MESSAGE = 6000;

/** Points buffered before the first flush grows the buffer (it grows to `flushSize`). */
const INITIAL_CAPACITY = 256;

/** A batch encoded when it was sealed, waiting to be written. */
interface SealedBatch {
  entry: JsonObject;
  latest: MetricPoint[];
  count: number;
  appended: boolean;
}

/** The {@link RunHandle} of one run in this process. */
export class TrackedRunHandle implements RunHandle, LiveHandle {
  /** The run's id. */
  readonly id: string;
  private readonly ctx: TrackerContext;
  private state: 'open' | 'closing' | 'ended' = 'open';
  /** The status the run ended with through this handle (what later writes are told). */
  private endedWith: FinalRunStatus = 'completed';
  private ending: Promise<Run> | undefined;
  /** The run document as this handle last wrote or read it: the first guess of each write. */
  private stored: StoredRun | undefined;
  /** A deferred run not stored yet (`deferWriteMs`), and its storing in flight. */
  private unborn: Run | undefined;
  private birth: Promise<boolean> | undefined;
  private deferTimer: ReturnType<typeof setTimeout> | undefined;
  private writerId: string | undefined;
  private batchSeq = 0;
  // metric keys seen by this handle, validated once each
  private keyIds: Map<string, number> | undefined;
  private readonly keyNames: string[] = [];
  private readonly lastStep: number[] = [];
  // the open buffer, in columns (allocated on the first point, reused after each seal)
  private keyIndex: Uint32Array = EMPTY_U32;
  private values: Float64Array = EMPTY_F64;
  private steps: Float64Array = EMPTY_F64;
  private timestamps: Float64Array = EMPTY_F64;
  private count = 0;
  private readonly sealed: SealedBatch[] = [];
  private queue: Promise<void> = RESOLVED;
  private failure: { error: unknown } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: TrackerContext, runId: string, stored?: StoredRun) {
    this.ctx = ctx;
    this.id = runId;
    this.stored = stored;
    // until its run ends through it, Tracker.close() flushes it
    ctx.live.add(this);
  }

  /**
   * A handle of a run that is not stored yet: it is stored at the first write, after
   * `deferMs`, or (already ended, in one write) by `end()`.
   */
  static deferred(ctx: TrackerContext, run: Run, deferMs: number): TrackedRunHandle {
    const handle = new TrackedRunHandle(ctx, run.id);
    handle.unborn = run;
    ctx.unborn.set(run.id, { store: () => handle.born() });
    const timer = setTimeout(() => {
      handle.deferTimer = undefined;
      // a failure here is retried by the next write or by end()
      handle.born().catch(() => {});
    }, deferMs);
    (timer as { unref?: () => void }).unref?.();
    handle.deferTimer = timer;
    return handle;
  }
  logParams(params: Params): Promise<void> {
    return this.write(async () => {
      const checked = parseWith(paramsSchema, params, 'params');
      this.assertOpen();
      await this.born();
      await this.update((run) => {
        assertRunning(run);
        let changed = false;
        for (const [key, value] of Object.entries(checked)) {
          if (Object.hasOwn(run.params, key)) {
            const existing = run.params[key];
            if (existing !== value) {
              throw new ConflictError(
                `[keel] param "${key}" of run ${this.id} is already ${JSON.stringify(existing)}: params are immutable; log the new value under another key or start a new run`,
                { details: { key, existing, attempted: value } },
              );
            }
            continue;
          }
          run.params[key] = value;
          changed = true;
        }
        return changed;
      });
    });
  }

  logMetric(key: string, value: number, opts?: LogMetricOptions): void {
    if (this.state !== 'open' || this.ctx.closed) this.assertOpen();
    let index = this.keyIds?.get(key);
    if (index === undefined) index = this.registerKey(key);
    if (typeof value !== 'number') throw badValue(key, value);
    let step: number;
    let timestamp: number;
    if (opts === undefined) {
      step = this.lastStep[index]! + 1;
      timestamp = this.ctx.clock.now();
    } else {
      step = opts.step === undefined ? this.lastStep[index]! + 1 : checkStep(opts.step);
      timestamp =
        opts.timestamp === undefined ? this.ctx.clock.now() : checkTimestamp(opts.timestamp);
    }
    this.push(index, value, step, timestamp);
  }

  logMetrics(values: Record<string, number>, opts?: LogMetricOptions): void {
    this.assertOpen();
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new ValidationError(
        '[keel] invalid metrics: pass an object of metric key to number, e.g. { loss: 0.1 }',
      );
    }
    assertReadableObject(values, 'metrics');
    const entries = Object.entries(values);
    const indexes = entries.map(([key, value]) => {
      const index = this.keyIds?.get(key) ?? this.registerKey(key);
      if (typeof value !== 'number') throw badValue(key, value);
      return index;
    });
    const step = opts?.step === undefined ? undefined : checkStep(opts.step);
    const timestamp =
      opts?.timestamp === undefined ? this.ctx.clock.now() : checkTimestamp(opts.timestamp);
    for (let i = 0; i < entries.length; i++) {
      const index = indexes[i]!;
      this.push(index, entries[i]![1], step ?? this.lastStep[index]! + 1, timestamp);
    }
  }

  setTags(tags: Tags): Promise<void> {
    return this.write(async () => {
      const checked = parseWith(tagsSchema, tags, 'tags');
      this.assertOpen();
      await this.born();
      await this.update((run) => {
        assertRunning(run);
        return setTagsOf(run, checked);
      });
    });
  }

  logInput(ref: LineageRef): Promise<void> {
    return this.write(async () => this.storeRef(this.checkRef(ref, 'consumed'), 'consumed'));
  }

  logOutput(ref: LineageRef): Promise<void> {
    return this.write(async () => this.storeRef(this.checkRef(ref, 'produced'), 'produced'));
  }

  logArtifact(body: Body, opts?: { name?: string; mediaType?: string }): Promise<ArtifactMeta> {
    return this.write(async () => {
      const checked = parseWith(logArtifactSchema, opts ?? {}, 'logArtifact options');
      this.assertOpen();
      const meta = await this.ctx.artifacts.put(
        body,
        checked.mediaType === undefined ? undefined : { mediaType: checked.mediaType },
      );
      const ref: LineageRef = { digest: meta.digest, kind: 'artifact' };
      if (checked.name !== undefined) ref.name = checked.name;
      // checked before the upload: a close() since then waits for this call instead
      await this.storeRef(ref, 'produced');
      return meta;
    });
  }

  async artifact(name: string): Promise<Uint8Array> {
    const artifactName = parseWith(artifactNameSchema, name, 'artifact name');
    // a deferred run is stored first, as every read of the tracker does
    await this.born();
    return readRunArtifact(this.ctx, this.id, artifactName);
  }

  async flush(): Promise<void> {
    this.seal();
    // nothing buffered, nothing in flight (a batch leaves `sealed` once written), no failure
    if (this.sealed.length === 0 && this.failure === undefined) return;
    await this.enqueue(async () => {
      const failure = this.failure;
      if (failure !== undefined) {
        this.failure = undefined;
        throw failure.error;
      }
      await this.drain();
    });
  }

  end(status: FinalRunStatus = 'completed', error?: unknown, opts?: EndRunOptions): Promise<Run> {
    if (this.ending) return this.ending;
    if (this.ctx.closed) return Promise.reject(closedError());
    let checked: FinalRunStatus;
    let options: EndRunOptions;
    try {
      checked = parseWith(finalStatusSchema, status, 'run status');
      options =
        opts === undefined
          ? {}
          : (quickEndRun(opts) ?? parseWith(endRunSchema, opts, 'end options'));
    } catch (problem) {
      return Promise.reject(problem);
    }
    this.state = 'closing';
    const ending = this.finish(checked, error, options);
    this.ending = ending;
    ending.catch(() => {
      // a failed end leaves the run running: a later end() tries again
      if (this.state !== 'ended') {
        this.state = 'open';
        this.ending = undefined;
      }
    });
    return ending;
  }

  private async finish(status: FinalRunStatus, error: unknown, opts: EndRunOptions): Promise<Run> {
    await this.flush();
    this.clearTimer();
    const outputs = opts.outputs ?? [];
    const final = (current: Run): true => {
      current.status = status;
      current.endTime = isoNow(this.ctx.clock);
      if (error !== undefined) current.error = describeError(error);
      if (opts.tags !== undefined) setTagsOf(current, opts.tags);
      addRefs(current.outputs, outputs);
      return true;
    };
    let run: Run;
    const unborn = this.unborn;
    if (unborn !== undefined && this.birth === undefined) {
      // never stored: store it once, already ended
      const ended = copyRun(unborn);
      final(ended);
      this.birth = this.storeUnborn(ended);
      if (await this.birth) run = ended;
      else {
        // an earlier attempt stored it running after all: end it as usual
        run = await this.update((current) => {
          assertRunning(current);
          return final(current);
        });
      }
    } else {
      await this.born();
      run = await this.update((current) => {
        assertRunning(current);
        return final(current);
      });
    }
    this.endedWith = status;
    this.state = 'ended';
    this.ctx.live.delete(this);
    this.ctx.emit('run:ended', {
      runId: this.id,
      experiment: run.experiment,
      status,
      run: copyRun(run),
    });
    return run;
  }

  /**
   * For `Tracker.close()`: stores the run if its storing is still deferred and writes every
   * buffered point, including those an earlier failed background flush kept (that failure is
   * then moot). The run stays running. Rejects when something could not be written; the
   * points stay buffered and the next call tries again.
   */
  async persist(): Promise<void> {
    // an end() under way writes everything itself; if it fails, the run is open again
    if (this.ending !== undefined) await this.ending.catch(() => {});
    if (this.state === 'ended') return;
    await this.born();
    this.seal();
    await this.enqueue(async () => {
      this.failure = undefined;
      await this.drain();
    });
  }

  /** Runs one asynchronous write, counted as under way for `Tracker.close()`. */
  private write<T>(work: () => Promise<T>): Promise<T> {
    return track(this.ctx, work());
  }

  /** Validates a lineage reference and checks that the handle accepts writes. */
  private checkRef(ref: LineageRef, role: LineageRole): LineageRef {
    const checked = parseWith(
      lineageRefSchema,
      ref,
      role === 'produced' ? 'output reference' : 'input reference',
    );
    this.assertOpen();
    return checked;
  }

  private async storeRef(ref: LineageRef, role: LineageRole): Promise<void> {
    await this.born();
    await this.update((run) => {
      assertRunning(run);
      return addRefs(role === 'produced' ? run.outputs : run.inputs, [ref]);
    });
  }

  /** Stores a deferred run now (once; a failure is retried by the next call). */
  private async born(): Promise<void> {
    const run = this.unborn;
    if (run === undefined) return;
    this.birth ??= this.storeUnborn(run);
    await this.birth;
  }

  /** Stores `run` as the run's first version; `false` when a version was already stored. */
  private async storeUnborn(run: Run): Promise<boolean> {
    try {
      let stored: StoredRun;
      let mine = true;
      try {
        stored = await createRunDocument(this.ctx, run);
      } catch (error) {
        // an earlier attempt whose outcome was unknown may have stored it after all
        const existing = isKeelError(error, ErrorCodes.conflict)
          ? await this.ctx.metadata.get(trackingKeys.run(this.id))
          : undefined;
        if (existing === undefined) throw error;
        stored = {
          doc: runFromJson(trackingKeys.run(this.id), existing.value),
          revision: existing.revision,
        };
        this.ctx.index.remember(stored.doc);
        mine = false;
      }
      this.stored = stored;
      this.unborn = undefined;
      this.ctx.unborn.delete(this.id);
      if (this.deferTimer !== undefined) {
        clearTimeout(this.deferTimer);
        this.deferTimer = undefined;
      }
      return mine;
    } finally {
      this.birth = undefined;
    }
  }

  /** Read-modify-write of the run document, starting from what this handle last wrote. */
  private async update(mutate: (run: Run) => boolean): Promise<Run> {
    const result = await updateRun(this.ctx, this.id, mutate, this.stored);
    if (this.stored === undefined || this.stored.doc.seq <= result.doc.seq) this.stored = result;
    return result.doc.run;
  }

  private assertOpen(): void {
    if (this.state === 'ended') throw endedError(this.id, this.endedWith);
    if (this.ctx.closed) throw closedError();
    if (this.state === 'open') return;
    throw new ConflictError(
      `[keel] run ${this.id} is ending: it accepts no more writes; start a new run`,
    );
  }

  private registerKey(key: string): number {
    parseWith(metricKeySchema, key, 'metric key');
    if (this.keyNames.length >= MAX_METRIC_KEYS) {
      throw new ValidationError(
        `[keel] too many metric keys in run ${this.id}: at most ${MAX_METRIC_KEYS}; reuse keys and vary the step`,
      );
    }
    const index = this.keyNames.length;
    this.keyIds ??= new Map();
    this.keyIds.set(key, index);
    this.keyNames.push(key);
    this.lastStep.push(-1);
    return index;
  }

  private push(index: number, value: number, step: number, timestamp: number): void {
    const i = this.count;
    if (i === this.values.length) this.grow();
    this.keyIndex[i] = index;
    this.values[i] = value;
    this.steps[i] = step;
    this.timestamps[i] = timestamp;
    this.lastStep[index] = step;
    this.count = i + 1;
    if (i + 1 >= this.ctx.flushSize) {
      this.background();
    } else if (this.timer === undefined && this.ctx.flushIntervalMs > 0) {
      this.startTimer();
    }
  }

  /** Doubles the open buffer (up to `flushSize`), keeping its points. */
  private grow(): void {
    const capacity = Math.min(
      this.ctx.flushSize,
      Math.max(INITIAL_CAPACITY, this.values.length * 2),
    );
    // one allocation for the four columns
    const buffer = new ArrayBuffer(capacity * 28);
    const values = new Float64Array(buffer, 0, capacity);
    const steps = new Float64Array(buffer, capacity * 8, capacity);
    const timestamps = new Float64Array(buffer, capacity * 16, capacity);
    const keyIndex = new Uint32Array(buffer, capacity * 24, capacity);
    values.set(this.values.subarray(0, this.count));
    steps.set(this.steps.subarray(0, this.count));
    timestamps.set(this.timestamps.subarray(0, this.count));
    keyIndex.set(this.keyIndex.subarray(0, this.count));
    this.values = values;
    this.steps = steps;
    this.timestamps = timestamps;
    this.keyIndex = keyIndex;
  }

  /** Encodes the open buffer into a batch waiting to be written; the buffer is reused. */
  private seal(): void {
    this.clearTimer();
    if (this.count === 0) return;
    this.writerId ??= this.ctx.newId();
    const { entry, latest } = encodeMetricBatch(`${this.writerId}-${this.batchSeq++}`, {
      keys: this.keyNames,
      keyIndex: this.keyIndex,
      values: this.values,
      steps: this.steps,
      timestamps: this.timestamps,
      count: this.count,
    });
    this.sealed.push({ entry, latest, count: this.count, appended: false });
    this.count = 0;
  }

  /** Flushes in the background; a failure is kept for the next flush()/end(). */
  private background(): void {
    this.seal();
    void this.enqueue(async () => {
      if (this.failure !== undefined) return;
      try {
        await this.drain();
      } catch (error) {
        this.failure = { error };
      }
    });
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Writes every sealed batch: one log append, one run-document update. Runs serially. */
  private async drain(): Promise<void> {
    const batches = this.sealed.slice();
    if (batches.length === 0) return;
    await this.born();
    let count = 0;
    for (const batch of batches) count += batch.count;
    const { telemetry, metadata } = this.ctx;
    const attributes = { 'keel.tracker.run_id': this.id, 'keel.tracker.points': count };
    const keys = new Set<string>();
    await inSpan(telemetry, 'keel.tracker.log_batch', attributes, async () => {
      const toAppend = batches.filter((batch) => !batch.appended);
      if (toAppend.length > 0) {
        await metadata.append(
          trackingKeys.metricsLog(this.id),
          toAppend.map((batch) => batch.entry),
        );
        for (const batch of toAppend) batch.appended = true;
      }
      await this.update((run) => {
        let changed = false;
        for (const batch of batches) {
          for (const point of batch.latest) {
            keys.add(point.key);
            const current = Object.hasOwn(run.metrics, point.key)
              ? run.metrics[point.key]
              : undefined;
            if (current !== undefined && !isLaterOrSame(point, current)) continue;
            run.metrics[point.key] = { ...point };
            changed = true;
          }
        }
        return changed;
      });
    });
    this.sealed.splice(0, batches.length);
    this.ctx.emit('metric:logged', { runId: this.id, count, keys: [...keys] });
  }

  private startTimer(): void {
    const timer = setTimeout(() => {
      this.timer = undefined;
      if (this.count > 0) this.background();
    }, this.ctx.flushIntervalMs);
    (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY_F64 = new Float64Array(0);
const EMPTY_U32 = new Uint32Array(0);

/** Sets tags on a run; returns whether any changed. */
function setTagsOf(run: Run, tags: Tags): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(tags)) {
    if (Object.hasOwn(run.tags, key) && run.tags[key] === value) continue;
    run.tags[key] = value;
    changed = true;
  }
  return changed;
}

function checkStep(step: unknown): number {
  if (typeof step === 'number' && Number.isSafeInteger(step) && step >= 0) return step;
  throw new ValidationError(
    `[keel] invalid metric step ${String(step)}: pass a non-negative integer`,
    {
      issues: [{ path: ['step'], message: 'must be a non-negative integer' }],
    },
  );
}

function checkTimestamp(timestamp: unknown): number {
  if (typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)
    return timestamp;
  throw new ValidationError(
    `[keel] invalid metric timestamp ${String(timestamp)}: pass milliseconds since the epoch (a non-negative integer)`,
    { issues: [{ path: ['timestamp'], message: 'must be a non-negative integer' }] },
  );
}

function badValue(key: string, value: unknown): ValidationError {
  return new ValidationError(
    `[keel] invalid value for metric "${key}": expected a number (NaN and infinities are fine), got ${typeof value}; convert it with Number()`,
    { issues: [{ path: [key], message: 'expected a number' }] },
  );
}

function describeError(error: unknown): { message: string; code?: string } {
  let message: string;
  if (error instanceof Error) message = error.message;
  else if (typeof error === 'string') message = error;
  else {
    try {
      message = JSON.stringify(error) ?? String(error);
    } catch {
      message = String(error);
    }
  }
  const out: { message: string; code?: string } = { message: message.slice(0, MAX_ERROR_MESSAGE) };
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && code.length > 0) out.code = code.slice(0, 250);
  else if (typeof code === 'number') out.code = String(code);
  return out;
}

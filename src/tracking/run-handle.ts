/**
 * @module
 * The live run handle: a synchronous metric buffer in typed-array columns, flushed in
 * order (one log append and one run-document update per flush), and the run's state
 * machine (open -> closing -> ended). Failures of background flushes are kept and
 * surface as the rejection of the next `flush()` or `end()`; the points stay buffered.
 */
import type { ArtifactMeta } from '../artifacts/types.js';
import type { Body } from '../core/body.js';
import { isoNow } from '../core/clock.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { type Params, paramsSchema, type Tags, tagsSchema } from '../core/schemas.js';
import { inSpan } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import { encodeMetricBatch, isLaterOrSame, type MetricColumns } from './metric-batch.js';
import { type LineageRole, sameRef, trackingKeys } from './records.js';
import { assertRunning, endedError, type TrackerContext, updateRun } from './run-store.js';
import {
  finalStatusSchema,
  lineageRefSchema,
  logArtifactSchema,
  metricKeySchema,
} from './schemas.js';
import type {
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

interface SealedBatch {
  id: string;
  columns: MetricColumns;
  entry?: JsonObject;
  latest?: MetricPoint[];
  appended: boolean;
}

/** The {@link RunHandle} of one run in this process. */
export class TrackedRunHandle implements RunHandle {
  /** The run's id. */
  readonly id: string;
  private readonly ctx: TrackerContext;
  private state: 'open' | 'closing' | 'ended' = 'open';
  private ending: Promise<Run> | undefined;
  private readonly writerId: string;
  private batchSeq = 0;
  // metric keys seen by this handle, validated once each
  private readonly keyIds = new Map<string, number>();
  private readonly keyNames: string[] = [];
  private readonly lastStep: number[] = [];
  // the open buffer, in columns
  private keyIndex: Uint32Array;
  private values: Float64Array;
  private steps: Float64Array;
  private timestamps: Float64Array;
  private count = 0;
  private readonly sealed: SealedBatch[] = [];
  private queue: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: TrackerContext, runId: string) {
    this.ctx = ctx;
    this.id = runId;
    this.writerId = ctx.newId();
    const capacity = Math.min(ctx.flushSize, 1024);
    this.keyIndex = new Uint32Array(capacity);
    this.values = new Float64Array(capacity);
    this.steps = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
  }

  async logParams(params: Params): Promise<void> {
    const checked = parseWith(paramsSchema, params, 'params');
    this.assertOpen();
    await updateRun(this.ctx, this.id, (run) => {
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
  }

  logMetric(key: string, value: number, opts?: LogMetricOptions): void {
    this.assertOpen();
    const index = this.keyIds.get(key) ?? this.registerKey(key);
    if (typeof value !== 'number') throw badValue(key, value);
    const step = opts?.step === undefined ? this.lastStep[index]! + 1 : checkStep(opts.step);
    const timestamp =
      opts?.timestamp === undefined ? this.ctx.clock.now() : checkTimestamp(opts.timestamp);
    this.push(index, value, step, timestamp);
  }

  logMetrics(values: Record<string, number>, opts?: LogMetricOptions): void {
    this.assertOpen();
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new ValidationError(
        '[keel] invalid metrics: pass an object of metric key to number, e.g. { loss: 0.1 }',
      );
    }
    const entries = Object.entries(values);
    const indexes = entries.map(([key, value]) => {
      const index = this.keyIds.get(key) ?? this.registerKey(key);
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

  async setTags(tags: Tags): Promise<void> {
    const checked = parseWith(tagsSchema, tags, 'tags');
    this.assertOpen();
    await updateRun(this.ctx, this.id, (run) => {
      assertRunning(run);
      let changed = false;
      for (const [key, value] of Object.entries(checked)) {
        if (Object.hasOwn(run.tags, key) && run.tags[key] === value) continue;
        run.tags[key] = value;
        changed = true;
      }
      return changed;
    });
  }

  logInput(ref: LineageRef): Promise<void> {
    return this.logRef(ref, 'consumed');
  }

  logOutput(ref: LineageRef): Promise<void> {
    return this.logRef(ref, 'produced');
  }

  async logArtifact(
    body: Body,
    opts?: { name?: string; mediaType?: string },
  ): Promise<ArtifactMeta> {
    const checked = parseWith(logArtifactSchema, opts ?? {}, 'logArtifact options');
    this.assertOpen();
    const meta = await this.ctx.artifacts.put(
      body,
      checked.mediaType === undefined ? undefined : { mediaType: checked.mediaType },
    );
    const ref: LineageRef = { digest: meta.digest, kind: 'artifact' };
    if (checked.name !== undefined) ref.name = checked.name;
    await this.logOutput(ref);
    return meta;
  }

  async flush(): Promise<void> {
    this.seal();
    await this.enqueue(async () => {
      const failure = this.failure;
      if (failure !== undefined) {
        this.failure = undefined;
        throw failure.error;
      }
      await this.drain();
    });
  }

  end(status: FinalRunStatus = 'completed', error?: unknown): Promise<Run> {
    if (this.ending) return this.ending;
    let checked: FinalRunStatus;
    try {
      checked = parseWith(finalStatusSchema, status, 'run status');
    } catch (problem) {
      return Promise.reject(problem);
    }
    this.state = 'closing';
    const ending = this.finish(checked, error);
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

  private async finish(status: FinalRunStatus, error: unknown): Promise<Run> {
    await this.flush();
    this.clearTimer();
    const run = await updateRun(this.ctx, this.id, (current) => {
      assertRunning(current);
      current.status = status;
      current.endTime = isoNow(this.ctx.clock);
      if (error !== undefined) current.error = describeError(error);
      return true;
    });
    this.state = 'ended';
    this.ctx.emit('run:ended', { runId: this.id, experiment: run.experiment, status });
    return run;
  }

  private async logRef(ref: LineageRef, role: LineageRole): Promise<void> {
    const checked = parseWith(
      lineageRefSchema,
      ref,
      role === 'produced' ? 'output reference' : 'input reference',
    );
    this.assertOpen();
    // the index entry comes first: lineage() confirms every entry against the run document
    await this.ctx.metadata.put(trackingKeys.lineage(checked.digest, role, this.id), {
      digest: checked.digest,
      runId: this.id,
      role,
    });
    await updateRun(this.ctx, this.id, (run) => {
      assertRunning(run);
      const refs = role === 'produced' ? run.outputs : run.inputs;
      if (refs.some((existing) => sameRef(existing, checked))) return false;
      const copy: LineageRef = { digest: checked.digest };
      if (checked.name !== undefined) copy.name = checked.name;
      if (checked.kind !== undefined) copy.kind = checked.kind;
      refs.push(copy);
      return true;
    });
  }

  private assertOpen(): void {
    if (this.state === 'open') return;
    if (this.state === 'ended') throw endedError(this.id, 'ended');
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
    this.keyIds.set(key, index);
    this.keyNames.push(key);
    this.lastStep.push(-1);
    return index;
  }

  private push(index: number, value: number, step: number, timestamp: number): void {
    if (this.count === this.values.length) this.grow();
    const i = this.count++;
    this.keyIndex[i] = index;
    this.values[i] = value;
    this.steps[i] = step;
    this.timestamps[i] = timestamp;
    this.lastStep[index] = step;
    if (this.count >= this.ctx.flushSize) {
      this.background();
    } else if (this.timer === undefined && this.ctx.flushIntervalMs > 0) {
      this.startTimer();
    }
  }

  private grow(): void {
    const capacity = Math.min(this.ctx.flushSize, this.values.length * 2);
    const grow = <T extends Float64Array | Uint32Array>(array: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(array);
      return next;
    };
    this.keyIndex = grow(this.keyIndex, (n) => new Uint32Array(n));
    this.values = grow(this.values, (n) => new Float64Array(n));
    this.steps = grow(this.steps, (n) => new Float64Array(n));
    this.timestamps = grow(this.timestamps, (n) => new Float64Array(n));
  }

  /** Moves the open buffer into the queue of batches to write. */
  private seal(): void {
    this.clearTimer();
    if (this.count === 0) return;
    this.sealed.push({
      id: `${this.writerId}-${this.batchSeq++}`,
      columns: {
        keys: this.keyNames,
        keyIndex: this.keyIndex,
        values: this.values,
        steps: this.steps,
        timestamps: this.timestamps,
        count: this.count,
      },
      appended: false,
    });
    const capacity = Math.min(this.ctx.flushSize, Math.max(this.count, 64));
    this.keyIndex = new Uint32Array(capacity);
    this.values = new Float64Array(capacity);
    this.steps = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
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
    let count = 0;
    for (const batch of batches) {
      batch.entry ??= this.encode(batch);
      count += batch.columns.count;
    }
    const { telemetry, metadata } = this.ctx;
    const attributes = { 'keel.tracker.run_id': this.id, 'keel.tracker.points': count };
    const keys = new Set<string>();
    await inSpan(telemetry, 'keel.tracker.log_batch', attributes, async () => {
      const toAppend = batches.filter((batch) => !batch.appended);
      if (toAppend.length > 0) {
        await metadata.append(
          trackingKeys.metricsLog(this.id),
          toAppend.map((batch) => batch.entry!),
        );
        for (const batch of toAppend) batch.appended = true;
      }
      await updateRun(this.ctx, this.id, (run) => {
        let changed = false;
        for (const batch of batches) {
          for (const point of batch.latest!) {
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

  /** Encodes a batch with only the keys it uses, and finds its latest point per key. */
  private encode(batch: SealedBatch): JsonObject {
    const { columns } = batch;
    const remap = new Int32Array(columns.keys.length).fill(-1);
    const best = new Int32Array(columns.keys.length).fill(-1);
    const used: number[] = [];
    const keyIndex = new Uint32Array(columns.count);
    for (let i = 0; i < columns.count; i++) {
      const original = columns.keyIndex[i]!;
      let mapped = remap[original]!;
      if (mapped < 0) {
        mapped = used.length;
        remap[original] = mapped;
        used.push(original);
      }
      keyIndex[i] = mapped;
      const previous = best[original]!;
      if (
        previous < 0 ||
        columns.steps[i]! > columns.steps[previous]! ||
        (columns.steps[i] === columns.steps[previous] &&
          columns.timestamps[i]! >= columns.timestamps[previous]!)
      ) {
        best[original] = i;
      }
    }
    batch.latest = used.map((original) => {
      const i = best[original]!;
      return {
        key: columns.keys[original]!,
        value: columns.values[i]!,
        step: columns.steps[i]!,
        timestamp: columns.timestamps[i]!,
      };
    });
    return encodeMetricBatch(batch.id, {
      ...columns,
      keys: used.map((original) => columns.keys[original]!),
      keyIndex,
    });
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

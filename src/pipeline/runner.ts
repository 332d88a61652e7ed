/**
 * @module
 * The pipeline runner: validates the input, schedules steps as their dependencies finish
 * (up to `concurrency`), reuses cached or resumed outputs, records each step as a child
 * tracked run with lineage, and reports through events and OpenTelemetry.
 */
import { type Context, context as otelContext, type Span, trace } from '@opentelemetry/api';
import type { Digest } from '../core/digest.js';
import { AbortedError, isKeelError, ValidationError } from '../core/errors.js';
import { parseJsonSafe } from '../core/json.js';
import type { Params, Tags } from '../core/schemas.js';
import { validateStandard } from '../core/standard-schema.js';
import { recordError } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import type { LineageRef, RunHandle } from '../tracking/types.js';
import { type AttemptError, AttemptsFailed, runWithRetries } from './attempt.js';
import type { PipelineDefinition, StepDefinition } from './builder.js';
import {
  cacheKeyOf,
  diffKeyParts,
  type Fingerprint,
  findArtifactRefs,
  fingerprint,
  UNDEFINED_DIGEST,
} from './cache-key.js';
import { PipelineAbortedError, PipelineRunError } from './errors.js';
import type { PipelineEvents } from './events.js';
import { runOptionsSchema } from './schemas.js';
import { createPipelineStore, type PipelineStore, type RunLog, type StepRecord } from './store.js';
import type {
  CacheExplain,
  CacheKeyParts,
  LogSink,
  PipelineKeel,
  PipelineResult,
  RunOptions,
  StepContext,
  StepLogEntry,
  StepLogger,
  StepResult,
} from './types.js';

/** A step's tracked run is stored at the latest this long after the step started. */
const STEP_RUN_DEFER_MS = 50;

/**
 * Runs a built pipeline's definition (what `Pipeline.run` calls). See `Pipeline.run` for the
 * result and error semantics.
 */
export async function runPipeline(
  definition: PipelineDefinition,
  rawInput: unknown,
  rawOptions: RunOptions,
): Promise<PipelineResult> {
  const what = `pipeline "${definition.name}"`;
  const options = parseWith(runOptionsSchema, rawOptions, `run options of ${what}`);
  const keel = checkKeel(options.keel, what);
  const input = definition.input
    ? await validateStandard(definition.input, rawInput, `input of ${what}`)
    : rawInput;
  const store = createPipelineStore(definition.name, keel.metadata, keel.artifacts);
  const resumeLog = options.resumeFrom ? await store.readRunLog(options.resumeFrom) : undefined;
  const run = new PipelineRun(definition, keel, store, input, {
    concurrency: options.concurrency ?? Number.POSITIVE_INFINITY,
    captureEnvironment: options.captureEnvironment ?? true,
    signal: options.signal,
    logger: options.logger as LogSink | undefined,
    resumeFrom: options.resumeFrom,
    resumeLog,
    tags: options.tags ?? {},
  });
  return run.execute();
}

interface RunSettings {
  concurrency: number;
  captureEnvironment: boolean;
  signal: AbortSignal | undefined;
  logger: LogSink | undefined;
  resumeFrom: string | undefined;
  resumeLog: RunLog | undefined;
  /** The caller's tags for the pipeline's tracked run. */
  tags: Tags;
}

type Phase = 'pending' | 'running' | 'completed' | 'copied' | 'failed' | 'skipped';

interface StepState {
  readonly step: StepDefinition;
  phase: Phase;
  output?: unknown;
  fingerprint?: Fingerprint;
  /** The stored output's digest (`null`: `undefined`), when it was stored. */
  stored?: Digest | null;
  result?: StepResult;
}

/** How a step's output was obtained. */
type Outcome = 'executed' | 'cached' | 'copied';

/** The state of one run; guards the scheduler's bookkeeping. */
class PipelineRun {
  private readonly states = new Map<string, StepState>();
  private readonly controller = new AbortController();
  private readonly emit: <K extends keyof PipelineEvents>(
    event: K,
    payload: PipelineEvents[K],
  ) => void;
  private readonly inputFingerprint: Fingerprint;
  private runId = '';
  private runContext: Context = otelContext.active();
  private failure: { step: string; error: unknown } | undefined;
  private externallyAborted = false;
  private readonly startedAt: number;

  constructor(
    private readonly definition: PipelineDefinition,
    private readonly keel: PipelineKeel,
    private readonly store: PipelineStore,
    private readonly input: unknown,
    private readonly settings: RunSettings,
  ) {
    for (const step of definition.steps) this.states.set(step.name, { step, phase: 'pending' });
    const events = keel.events as unknown as { emit(event: string, payload: unknown): boolean };
    this.emit = (event, payload) => {
      try {
        events.emit(event, payload);
      } catch {
        // a broken event bus must not break the run
      }
    };
    this.inputFingerprint = fingerprint(input);
    this.startedAt = keel.clock.now();
  }

  async execute(): Promise<PipelineResult> {
    const { definition, keel } = this;
    const span = keel.telemetry.tracer.startSpan(
      'keel.pipeline.run',
      { attributes: { 'keel.pipeline.name': definition.name } },
      otelContext.active(),
    );
    this.runContext = trace.setSpan(otelContext.active(), span);
    let pipelineRun: RunHandle;
    try {
      pipelineRun = await this.startPipelineRun();
    } catch (error) {
      recordError(span, error);
      span.end();
      throw error;
    }
    this.runId = pipelineRun.id;
    span.setAttribute('keel.pipeline.run_id', this.runId);

    const signal = this.settings.signal;
    const onAbort = (): void => {
      this.externallyAborted = true;
      this.controller.abort(
        new AbortedError(`[keel] ${this.what()} run ${this.runId} was aborted`, {
          cause: signal?.reason,
        }),
      );
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });

    try {
      await this.schedule();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    for (const state of this.states.values()) {
      if (state.phase === 'pending') {
        state.phase = 'skipped';
        state.result = { status: 'skipped', cached: false, attempts: 0, durationMs: 0 };
      }
    }

    const status = this.externallyAborted ? 'aborted' : this.failure ? 'failed' : 'completed';
    const durationMs = keel.clock.now() - this.startedAt;
    const result = this.result(status, durationMs);
    await this.finishPipelineRun(pipelineRun, status, durationMs, span);
    this.emit('pipeline:finished', {
      pipeline: definition.name,
      runId: this.runId,
      status,
      durationMs,
    });
    if (status === 'completed') {
      span.end();
      return result;
    }
    const error =
      status === 'aborted'
        ? new PipelineAbortedError(
            `[keel] ${this.what()} run ${this.runId} was aborted; resume it with { resumeFrom: "${this.runId}" }`,
            { cause: signal?.reason, result },
          )
        : new PipelineRunError(
            `[keel] ${this.what()} failed at step "${this.failure?.step}": ${messageOf(this.failure?.error)}; fix the step and resume with { resumeFrom: "${this.runId}" }`,
            { cause: this.failure?.error, result, step: this.failure?.step ?? '' },
          );
    recordError(span, error);
    span.end();
    throw error;
  }

  private what(): string {
    return `pipeline "${this.definition.name}"`;
  }

  private async startPipelineRun(): Promise<RunHandle> {
    const { definition, keel, settings } = this;
    const params: Params = {
      'keel.input_digest': this.inputFingerprint.ok ? this.inputFingerprint.digest : 'unhashable',
      'keel.concurrency': Number.isFinite(settings.concurrency)
        ? settings.concurrency
        : 'unlimited',
      'keel.steps': definition.steps.length,
    };
    if (settings.resumeFrom) params['keel.resume_from'] = settings.resumeFrom;
    const tags: Tags = { ...settings.tags, 'keel.pipeline': definition.name };
    if (settings.resumeFrom) tags['keel.resumed_from'] = settings.resumeFrom;
    const fp = this.inputFingerprint;
    const inputs: LineageRef[] = [];
    if (fp.ok && fp.json !== undefined) {
      const digest = await this.store.putOutput(fp.json, 'input');
      inputs.push({ digest, name: 'input', kind: 'pipeline-input' });
    }
    const run = await keel.tracker.startRun({
      experiment: definition.experiment,
      name: definition.name,
      params,
      tags,
      captureEnvironment: settings.captureEnvironment,
      inputs,
    });
    await this.store.appendRunLog(run.id, [
      {
        type: 'start',
        pipeline: definition.name,
        runId: run.id,
        ...(fp.ok ? { inputDigest: fp.digest } : {}),
        ...(settings.resumeFrom ? { resumedFrom: settings.resumeFrom } : {}),
        startedAt: new Date(this.startedAt).toISOString(),
      },
    ]);
    return run;
  }

  private async finishPipelineRun(
    run: RunHandle,
    status: PipelineResult['status'],
    durationMs: number,
    span: Span,
  ): Promise<void> {
    try {
      await this.store.appendRunLog(this.runId, [{ type: 'end', status, durationMs }]);
      const final = { tags: { 'keel.pipeline.status': status } };
      if (status === 'completed') await run.end('completed', undefined, final);
      else if (status === 'aborted') await run.end('killed', this.controller.signal.reason, final);
      else await run.end('failed', this.failure?.error, final);
    } catch (error) {
      // the run's outcome stands; a bookkeeping failure is reported on the span
      recordError(span, error);
    }
  }

  private result(status: PipelineResult['status'], durationMs: number): PipelineResult {
    const outputs: Record<string, unknown> = {};
    const steps: Record<string, StepResult> = {};
    for (const [name, state] of this.states) {
      if (state.phase === 'completed' || state.phase === 'copied') outputs[name] = state.output;
      if (state.result) steps[name] = state.result;
    }
    const result: PipelineResult = {
      pipeline: this.definition.name,
      runId: this.runId,
      status,
      outputs,
      steps,
      durationMs,
    };
    if (this.inputFingerprint.ok) result.inputDigest = this.inputFingerprint.digest;
    if (this.settings.resumeFrom) result.resumedFrom = this.settings.resumeFrom;
    return result;
  }

  /** Starts every step whose dependencies are done, up to the concurrency limit. */
  private schedule(): Promise<void> {
    return new Promise<void>((resolve) => {
      let running = 0;
      const pump = (): void => {
        if (!this.controller.signal.aborted) {
          for (const state of this.states.values()) {
            if (running >= this.settings.concurrency) break;
            if (state.phase !== 'pending' || !this.ready(state.step)) continue;
            state.phase = 'running';
            running++;
            this.runStep(state)
              .catch((error: unknown) => this.fail(state, error))
              .finally(() => {
                running--;
                pump();
              });
          }
        }
        if (running === 0) resolve();
      };
      pump();
    });
  }

  private ready(step: StepDefinition): boolean {
    return step.deps.every((dep) => {
      const phase = this.states.get(dep)?.phase;
      return phase === 'completed' || phase === 'copied';
    });
  }

  /** Records the first real failure and cancels the steps still running. */
  private fail(state: StepState, error: unknown): void {
    if (this.controller.signal.aborted) return;
    this.failure = { step: state.step.name, error };
    this.controller.abort(
      new AbortedError(
        `[keel] cancelled: step "${state.step.name}" of ${this.what()} failed: ${messageOf(error)}`,
        { cause: error },
      ),
    );
  }

  private async runStep(state: StepState): Promise<void> {
    const { step } = state;
    const { keel, definition } = this;
    const started = keel.clock.now();
    const attributes = {
      'keel.pipeline.name': definition.name,
      'keel.pipeline.run_id': this.runId,
      'keel.step.name': step.name,
    };
    const span = keel.telemetry.tracer.startSpan('keel.step.run', { attributes }, this.runContext);
    const args: Record<string, unknown> = { input: this.input };
    const inputs: Record<string, Digest> = {};
    let unhashable = noteInput(inputs, 'input', this.inputFingerprint, undefined);
    for (const dep of step.deps) {
      const depState = this.states.get(dep);
      args[dep] = depState?.output;
      unhashable = noteInput(inputs, dep, depState?.fingerprint, unhashable);
    }

    let stepRun: RunHandle | undefined;
    const logs: StepLogEntry[] = [];
    let attempts = 0;
    let attemptErrors: AttemptError[] = [];
    let explain: CacheExplain | undefined;
    try {
      // Decide how the output is obtained before the step's run starts, so that the run
      // records its outcome in one write instead of a later update.
      let outcome: Outcome = 'executed';
      const copied = await this.tryCopy(state, inputs, unhashable);
      let parts: CacheKeyParts | undefined;
      if (copied) {
        outcome = 'copied';
        explain = copied;
      } else if (step.cache && unhashable) {
        explain = {
          decision: 'uncacheable',
          message: `not cached: ${unhashable}; return plain JSON data from upstream steps to make it cacheable`,
        };
        this.countCache(false, step.name);
      } else if (step.cache) {
        parts = { pipeline: definition.name, step: step.name, version: step.version, inputs };
        const looked = await this.lookup(state, parts);
        explain = looked.explain;
        this.countCache(looked.hit, step.name);
        if (looked.hit) outcome = 'cached';
      } else {
        explain = { decision: 'off', message: 'caching is off for this step' };
      }

      const tags: Record<string, string> = {
        'keel.pipeline': definition.name,
        'keel.step': step.name,
        'keel.step.outcome': outcome,
        'keel.step.cached': String(outcome === 'cached'),
        'keel.step.attempts': outcome === 'executed' ? '1' : '0',
      };
      if (explain.key) tags['keel.step.cache_key'] = explain.key;
      if (explain.sourceRunId && outcome !== 'executed') {
        tags['keel.step.source_run'] = explain.sourceRunId;
      }
      // The inputs go into the write that creates the step's run, the outputs and the final
      // tags into the write that ends it; a step that ends within STEP_RUN_DEFER_MS (and
      // writes nothing to ctx.run before) is stored once, already ended.
      stepRun = await keel.tracker.startRun({
        experiment: definition.experiment,
        name: step.name,
        parentRunId: this.runId,
        params: { 'keel.step.version': step.version },
        tags,
        inputs: inputRefs(inputs),
        deferWriteMs: STEP_RUN_DEFER_MS,
      });
      if (outcome === 'cached') {
        this.emit('step:cached', { ...this.ids(step), key: explain.key ?? '' });
      }

      if (outcome === 'executed') {
        const ran = await this.executeWithRetries(state, args, stepRun, logs, span);
        attempts = ran.attempts;
        attemptErrors = ran.errors;
        await this.keepOutput(state, ran.value);
        if (parts) {
          const key = cacheKeyOf(parts);
          await this.store.writeLastKey(step.name, { key, parts, runId: stepRun.id });
          if (state.fingerprint?.ok) {
            await this.store.writeCacheEntry({
              key,
              parts,
              output: state.stored ?? null,
              refs: findArtifactRefs(state.output),
              runId: stepRun.id,
              createdAt: new Date(keel.clock.now()).toISOString(),
            });
          }
        }
      }

      const durationMs = keel.clock.now() - started;
      const outputs: LineageRef[] = [];
      if (state.stored) outputs.push({ digest: state.stored, name: 'output', kind: 'step-output' });
      const logRef = await this.storeLogs(logs);
      if (logRef) outputs.push(logRef);
      await stepRun.end('completed', undefined, {
        outputs,
        ...(outcome === 'executed' && attempts !== 1
          ? { tags: { 'keel.step.attempts': String(attempts) } }
          : {}),
      });

      state.phase = outcome === 'copied' ? 'copied' : 'completed';
      state.result = {
        status: state.phase,
        cached: outcome === 'cached',
        attempts,
        durationMs,
        runId: stepRun.id,
        ...(explain ? { explain } : {}),
        ...(state.stored ? { outputDigest: state.stored } : {}),
        ...(attemptErrors.length ? { attemptErrors } : {}),
      };
      await this.record(state, inputs);
      span.setAttributes({
        'keel.step.cache_hit': outcome === 'cached',
        'keel.step.attempt': attempts,
        'keel.step.outcome': outcome,
      });
      this.observe(step.name, durationMs, 'completed');
      this.emit('step:finished', {
        ...this.ids(step),
        status: state.phase,
        cached: outcome === 'cached',
        durationMs,
      });
    } catch (thrown) {
      const failed = thrown instanceof AttemptsFailed ? thrown : undefined;
      const error = failed ? failed.error : thrown;
      if (failed) {
        attempts = failed.attempts;
        attemptErrors = failed.errors;
      }
      const durationMs = keel.clock.now() - started;
      const cancelled = this.controller.signal.aborted;
      state.phase = 'failed';
      state.result = {
        status: 'failed',
        cached: false,
        attempts,
        durationMs,
        ...(stepRun ? { runId: stepRun.id } : {}),
        ...(explain ? { explain } : {}),
        ...(attemptErrors.length ? { attemptErrors } : {}),
        error: describeError(error),
      };
      span.setAttributes({ 'keel.step.cache_hit': false, 'keel.step.attempt': attempts });
      recordError(span, error);
      this.observe(step.name, durationMs, 'failed');
      this.emit('step:failed', { ...this.ids(step), error, attempts });
      if (!cancelled) this.fail(state, error);
      await this.closeFailedRun(stepRun, logs, error, cancelled, attempts);
      await this.record(state, inputs).catch(() => {});
    } finally {
      span.end();
    }
  }

  private ids(step: StepDefinition): { pipeline: string; runId: string; step: string } {
    return { pipeline: this.definition.name, runId: this.runId, step: step.name };
  }

  /** Reuses the output of the resumed run, when its inputs are the same. */
  private async tryCopy(
    state: StepState,
    inputs: Record<string, Digest>,
    unhashable: string | undefined,
  ): Promise<CacheExplain | undefined> {
    const log = this.settings.resumeLog;
    if (!log) return undefined;
    const record = log.steps.get(state.step.name);
    if (
      !record ||
      (record.status !== 'completed' && record.status !== 'copied') ||
      record.output === undefined ||
      unhashable
    ) {
      return undefined;
    }
    if (diffInputs(record.inputs, inputs).length > 0) return undefined;
    let output: unknown;
    try {
      output = await this.store.getOutput(record.output);
      const problem = await this.store.checkRefs(findArtifactRefs(output));
      if (problem) return undefined;
    } catch (error) {
      if (isKeelError(error, 'KEEL_NOT_FOUND') || isKeelError(error, 'KEEL_INTEGRITY')) {
        return undefined;
      }
      throw error;
    }
    state.output = output;
    state.fingerprint = record.output === null ? fingerprint(undefined) : fingerprint(output);
    state.stored = record.output;
    return {
      decision: 'copied',
      ...(record.runId ? { sourceRunId: record.runId } : {}),
      message: `copied from run ${log.start.runId}${record.runId ? ` (step run ${record.runId})` : ''}: it succeeded there with the same inputs`,
    };
  }

  /** Looks the step up in the cache; explains the outcome. */
  private async lookup(
    state: StepState,
    parts: CacheKeyParts,
  ): Promise<{ hit: boolean; explain: CacheExplain }> {
    const key = cacheKeyOf(parts);
    const entry = await this.store.readCacheEntry(key);
    let gone: string | undefined;
    if (entry) {
      try {
        const output = await this.store.getOutput(entry.output);
        gone = await this.store.checkRefs(entry.refs);
        if (!gone) {
          state.output = output;
          state.fingerprint = entry.output === null ? fingerprint(undefined) : fingerprint(output);
          state.stored = entry.output;
          return {
            hit: true,
            explain: {
              decision: 'hit',
              key,
              parts,
              sourceRunId: entry.runId,
              message: `cache hit: same pipeline, step, version and inputs as step run ${entry.runId}`,
            },
          };
        }
      } catch (error) {
        if (isKeelError(error, 'KEEL_NOT_FOUND'))
          gone = `the cached output ${entry.output} is gone`;
        else if (isKeelError(error, 'KEEL_INTEGRITY') || isKeelError(error, 'KEEL_VALIDATION')) {
          gone = `the cached output ${entry.output} no longer verifies`;
        } else throw error;
      }
    }
    const last = await this.store.readLastKey(state.step.name);
    const changed = last ? diffKeyParts(last.parts, parts) : undefined;
    let message: string;
    if (gone) message = `cache miss: an entry exists but ${gone}`;
    else if (!last) message = 'cache miss: no earlier run of this step';
    else if (changed && changed.length > 0) {
      message = `cache miss: changed since step run ${last.runId}: ${changed.join(', ')}`;
    } else message = `cache miss: the entry of step run ${last.runId} is missing`;
    return {
      hit: false,
      explain: {
        decision: 'miss',
        key,
        parts,
        ...(changed ? { changed } : {}),
        ...(last ? { sourceRunId: last.runId } : {}),
        message,
      },
    };
  }

  private async executeWithRetries(
    state: StepState,
    args: Record<string, unknown>,
    stepRun: RunHandle,
    logs: StepLogEntry[],
    span: Span,
  ): Promise<{ value: unknown; attempts: number; errors: AttemptError[] }> {
    const { step } = state;
    const what = `step "${step.name}" of ${this.what()}`;
    return runWithRetries(
      {
        what,
        options: step.options,
        signal: this.controller.signal,
        onAttempt: (attempt, previousError) => {
          if (attempt > 1) {
            this.emit('step:retry', { ...this.ids(step), attempt, error: previousError });
          }
          this.emit('step:started', { ...this.ids(step), attempt });
        },
        onAttemptFailed: (attempt, error) => {
          span.addEvent('keel.step.attempt_failed', {
            'keel.step.attempt': attempt,
            'exception.message': messageOf(error),
          });
        },
      },
      (signal, attempt) => step.fn(args, this.context(step, stepRun, signal, attempt, logs)),
    );
  }

  private context(
    step: StepDefinition,
    run: RunHandle,
    signal: AbortSignal,
    attempt: number,
    logs: StepLogEntry[],
  ): StepContext {
    let logger: StepLogger | undefined;
    const build = (): StepLogger => this.logger(step, attempt, logs);
    return {
      signal,
      run,
      keel: this.keel,
      attempt,
      // built on first use: most steps never log
      get logger() {
        logger ??= build();
        return logger;
      },
      pipeline: this.definition.name,
      step: step.name,
      runId: this.runId,
    };
  }

  private logger(step: StepDefinition, attempt: number, logs: StepLogEntry[]): StepLogger {
    const sink = this.settings.logger;
    const log =
      (level: StepLogEntry['level']) =>
      (message: string, fields?: Record<string, unknown>): void => {
        const entry: StepLogEntry = {
          level,
          message: String(message),
          pipeline: this.definition.name,
          step: step.name,
          attempt,
          timestamp: this.keel.clock.now(),
          ...(fields ? { fields } : {}),
        };
        logs.push(entry);
        try {
          sink?.(entry);
        } catch {
          // a broken log sink must not fail the step
        }
      };
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  }

  /** Fingerprints and stores a fresh output; a cached step's output must be JSON. */
  private async keepOutput(state: StepState, value: unknown): Promise<void> {
    const { step } = state;
    const fp = fingerprint(value);
    if (!fp.ok && step.cache) {
      throw new ValidationError(
        `[keel] step "${step.name}" of ${this.what()} returned a value that cannot be cached: ${fp.reason.replace(/^\[keel\] /, '')}; return plain JSON data (store large content as an artifact and return its ArtifactRef) or set cache: false`,
        { details: { step: step.name } },
      );
    }
    state.fingerprint = fp;
    if (fp.ok) {
      state.stored = fp.json === undefined ? null : await this.store.putOutput(fp.json, step.name);
      // A cached step hands downstream the JSON form on a miss too, exactly what a hit gives.
      state.output = step.cache && fp.json !== undefined ? parseJsonSafe(fp.json) : value;
    } else {
      state.output = value;
    }
  }

  private async record(state: StepState, inputs: Record<string, Digest>): Promise<void> {
    const result = state.result;
    if (!result) return;
    const record: StepRecord = {
      type: 'step',
      step: state.step.name,
      status: result.status,
      inputs,
      attempts: result.attempts,
      cached: result.cached,
      durationMs: result.durationMs,
      ...(result.runId ? { runId: result.runId } : {}),
      ...(state.stored !== undefined && result.status !== 'failed' ? { output: state.stored } : {}),
    };
    await this.store.appendRunLog(this.runId, [record]);
  }

  private async closeFailedRun(
    run: RunHandle | undefined,
    logs: StepLogEntry[],
    error: unknown,
    cancelled: boolean,
    attempts: number,
  ): Promise<void> {
    if (!run) return;
    let logRef: LineageRef | undefined;
    try {
      logRef = await this.storeLogs(logs);
    } catch {
      // ending the run below matters more than its logs
    }
    const final = {
      tags: {
        'keel.step.outcome': cancelled ? 'cancelled' : 'failed',
        'keel.step.attempts': String(attempts),
      },
      ...(logRef ? { outputs: [logRef] } : {}),
    };
    await run.end(cancelled ? 'killed' : 'failed', error, final).catch(() => {});
  }

  /** Stores the lines a step logged as an artifact; returns its reference (none: no lines). */
  private async storeLogs(logs: StepLogEntry[]): Promise<LineageRef | undefined> {
    if (logs.length === 0) return undefined;
    const text = `${logs.map(serializeLogEntry).join('\n')}\n`;
    const meta = await this.keel.artifacts.put(text, { mediaType: 'application/x-ndjson' });
    return { digest: meta.digest, name: 'logs.ndjson', kind: 'artifact' };
  }

  private countCache(hit: boolean, step: string): void {
    const { telemetry } = this.keel;
    const attributes = { 'keel.pipeline.name': this.definition.name, 'keel.step.name': step };
    if (hit) telemetry.counter('keel.step.cache.hits', 'Step cache hits').add(1, attributes);
    else telemetry.counter('keel.step.cache.misses', 'Step cache misses').add(1, attributes);
  }

  private observe(step: string, durationMs: number, status: string): void {
    this.keel.telemetry
      .histogram('keel.step.duration', 'Duration of pipeline steps', 's')
      .record(durationMs / 1000, {
        'keel.pipeline.name': this.definition.name,
        'keel.step.name': step,
        'keel.step.status': status,
      });
  }
}

function checkKeel(value: unknown, what: string): PipelineKeel {
  const keel = value as Partial<PipelineKeel> | undefined;
  if (
    typeof keel?.artifacts?.put !== 'function' ||
    typeof keel.metadata?.append !== 'function' ||
    typeof keel.clock?.now !== 'function' ||
    typeof keel.telemetry?.tracer?.startSpan !== 'function'
  ) {
    throw new ValidationError(
      `[keel] cannot run ${what}: options.keel is not a keel instance; pass { keel: createKeel({ backend }) }`,
    );
  }
  if (typeof keel.tracker?.startRun !== 'function') {
    throw new ValidationError(
      `[keel] cannot run ${what}: options.keel has no tracker (every run is recorded); pass the keel returned by createKeel`,
    );
  }
  return keel as PipelineKeel;
}

/** Records an argument's digest in `inputs`; returns why the step is unhashable, if it is. */
function noteInput(
  inputs: Record<string, Digest>,
  name: string,
  fp: Fingerprint | undefined,
  unhashable: string | undefined,
): string | undefined {
  if (fp?.ok) {
    inputs[name] = fp.digest;
    return unhashable;
  }
  return (
    unhashable ??
    `argument "${name}" has no deterministic digest (${fp ? fp.reason : 'it was not produced'})`
  );
}

/** The lineage references of a step's inputs: its dependencies' outputs. */
function inputRefs(inputs: Record<string, Digest>): LineageRef[] {
  const refs: LineageRef[] = [];
  for (const [name, digest] of Object.entries(inputs)) {
    // The pipeline input is recorded once, on the pipeline's run, not on every step's.
    if (name === 'input' || digest === UNDEFINED_DIGEST) continue;
    refs.push({ digest, name, kind: 'step-output' });
  }
  return refs;
}

function serializeLogEntry(entry: StepLogEntry): string {
  try {
    return JSON.stringify(entry);
  } catch {
    return JSON.stringify({ ...entry, fields: '[unserializable]' });
  }
}

function diffInputs(a: Record<string, Digest>, b: Record<string, Digest>): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((name) => a[name] !== b[name]);
}

function describeError(error: unknown): { message: string; code?: string } {
  const out: { message: string; code?: string } = { message: messageOf(error) };
  if (isKeelError(error)) out.code = error.code;
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * @module
 * `createTrainingLoop`: continuous training. Triggers (schedule, drift, decay, events, manual)
 * start a pipeline run; a successful run is registered, gated against the current champion and,
 * on pass, given an alias. Triggers that arrive while busy or cooling down are reported as
 * `skipped`, and a failed run never stops the loop.
 */
import { z } from 'zod';
import type { ArtifactRef } from '../artifacts/types.js';
import { isoNow } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { isKeelError, ValidationError } from '../core/errors.js';
import { type Actor, actorSchema, type Tags } from '../core/schemas.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import { type GatePolicy, gatePolicySchema } from '../gates/schema.js';
import type { GateReport } from '../gates/types.js';
import { modelNameSchema, readableAliasSchema } from '../registry/schemas.js';
import type { ModelVersion } from '../registry/types.js';
import type { LineageRef } from '../tracking/types.js';
import { checkOpsKeel, type OpsKeel } from './context.js';
import { type Listenable, listenable } from './emitter.js';
import type { Trigger, TriggerEvent } from './triggers.js';

/** A pipeline the loop can run: `pipeline(...).build()` fits. */
export interface TrainablePipeline<I, O, K> {
  /** The pipeline's name (the built pipeline's `name`); the loop checks it is a string. */
  readonly name: string;
  /**
   * Runs once; resolves with the tracked run id and the steps' outputs, rejects on failure.
   * `tags` (the trigger's kind, reason and time) belong on the run's tracked run.
   */
  run(
    input: I,
    options: { keel: K; tags?: Tags },
  ): Promise<{
    /** The tracked run of this pipeline run; the registered version's `runId`. */
    runId: string;
    /** Each step's output by step name; `register` reads the model artifact and metrics here. */
    outputs: O;
  }>;
}

/** How a successful run becomes a registered model version. */
export interface RegisterOptions<O> {
  /** The registered model. */
  model: string;
  /** The stored model artifact among the outputs. */
  artifact: (outputs: O) => ArtifactRef | Digest;
  /** The version's metrics (also the gate's candidate metrics). */
  metrics?: (outputs: O) => Record<string, number>;
  /** Datasets and artifacts the version was built from (lineage). */
  inputs?: (outputs: O) => LineageRef[];
}

/** Options of {@link createTrainingLoop}. */
export interface TrainingLoopOptions<I, O, K extends OpsKeel> {
  /** A keel instance; each pipeline run is tagged with its trigger (the run option `tags`). */
  keel: K;
  /** The pipeline each trigger runs, `pipeline(...).build()`; it must have `run` and `name`. */
  pipeline: TrainablePipeline<I, O, K>;
  /** The pipeline input for a trigger (e.g. the data window to train on). */
  input: (trigger: TriggerEvent) => I | Promise<I>;
  /** Attached by `start()`. `loop.trigger(reason)` works without any. */
  triggers?: Trigger[];
  /** After a run ends, triggers are skipped for this long. Default 0. */
  cooldownMs?: number;
  /** Runs at once; triggers beyond are skipped. Default 1. */
  maxConcurrent?: number;
  /**
   * Registers each successful run as a version of `register.model`. Without it the loop only
   * trains; `gate` and `promoteTo` need it.
   */
  register?: RegisterOptions<O>;
  /** Judged on the new version's metrics against the champion's (`compare` rules). */
  gate?: GatePolicy;
  /** The alias the new version gets when it registered and passed the gate (if any). */
  promoteTo?: string;
  /** The alias whose version is the gate's baseline. Default `champion`. */
  champion?: string;
  /** Actor of registrations and alias moves. Default: the keel's actor. */
  actor?: Actor;
}

/** What one trigger led to. */
export type LoopOutcome =
  | {
      /** The pipeline ran and no configured step after it (register, gate, promote) threw. */
      status: 'completed';
      /** The trigger that started the run. */
      trigger: TriggerEvent;
      /** The pipeline's tracked run. */
      runId: string;
      /** The registered version; absent without `register`. */
      version?: ModelVersion;
      /**
       * The gate's report on the new version; absent without `gate`. A version that fails the
       * gate still completes, unpromoted.
       */
      report?: GateReport;
      /** The alias set to the new version, when it was. */
      promoted?: string;
      /** Wall time from the trigger to the end of the last step, in milliseconds. */
      durationMs: number;
    }
  | {
      /** A step threw; the loop goes on with the next trigger. */
      status: 'failed';
      /** The trigger that started the run. */
      trigger: TriggerEvent;
      /** What the failing step threw (the pipeline's error, a `KeelError` from the registry, …). */
      error: unknown;
      /** The pipeline's tracked run, when the pipeline got far enough to start one. */
      runId?: string;
      /** The step that threw. */
      stage: LoopStage;
    }
  | {
      /** The trigger did not start a run. */
      status: 'skipped';
      /** The trigger that was skipped. */
      trigger: TriggerEvent;
      /** Why: a run was in flight (`busy`), the cooldown was running, or the loop was stopped. */
      reason: SkipReason;
    };

/** Where a loop run failed. */
export type LoopStage = 'input' | 'pipeline' | 'register' | 'gate' | 'promote';

/** Why a trigger did not start a run. */
export type SkipReason = 'busy' | 'cooldown' | 'stopped';

/** Events of a training loop. */
export interface TrainingLoopEvents {
  /** A trigger fired (before the loop decided whether to run). */
  trigger: {
    /** The trigger's kind, reason, time and details. */
    trigger: TriggerEvent;
  };
  /** A trigger did not start a run; `skippedSinceLastRun` counts the coalesced ones. */
  skipped: {
    /** The skipped trigger. */
    trigger: TriggerEvent;
    /** Why it did not start a run. */
    reason: SkipReason;
    /** Triggers skipped since the last run started, this one included (reset when a run starts). */
    skippedSinceLastRun: number;
  };
  /** A run finished: trained, and registered, gated and promoted as configured. */
  'run:completed': Extract<LoopOutcome, { status: 'completed' }>;
  /** A run failed at `stage`; the loop goes on. */
  'run:failed': Extract<LoopOutcome, { status: 'failed' }>;
}

/** Continuous training; see {@link createTrainingLoop}. */
export interface TrainingLoop extends Listenable<TrainingLoopEvents> {
  /**
   * Attaches the triggers. Idempotent.
   *
   * Never throws (a trigger's own `attach` error is passed on).
   */
  start(): void;
  /**
   * Detaches the triggers, ignores later triggers, and waits for the runs in flight.
   *
   * Never rejects.
   */
  stop(): Promise<void>;
  /**
   * A manual trigger through the same path; resolves with what it led to (a failed run resolves
   * with status `failed`, it does not reject).
   *
   * @throws {ValidationError} when `reason` is empty or longer than 4096 characters.
   */
  trigger(reason: string): Promise<LoopOutcome>;
  /** Runs in flight now. */
  readonly running: number;
}

/**
 * Creates a training loop. It attaches its triggers on `start()`; each trigger runs the pipeline
 * (unless busy, cooling down or stopped), then registers, gates and promotes as configured.
 * Failures are reported as `run:failed` events and outcomes, never thrown to the trigger.
 *
 * @throws {ValidationError} when `keel` is not a keel instance, `pipeline` is not a built
 *   pipeline, `input` or `register.artifact` is not a function, a trigger is not one, an option is
 *   out of range (`cooldownMs` < 0, `maxConcurrent` outside 1..64, an invalid gate policy, model or
 *   alias name), or `gate`/`promoteTo` is given without `register`.
 *
 * @example
 * ```ts
 * const loop = createTrainingLoop({
 *   keel, pipeline: train, input: (t) => ({ since: daysAgo(30), reason: t.reason }),
 *   triggers: [every({ ms: 86_400_000 }), onDrift(monitor)], cooldownMs: 3_600_000,
 *   register: { model: 'churn', artifact: (o) => o.model.ref, metrics: (o) => o.report },
 *   gate: policy, promoteTo: 'challenger',
 * });
 * loop.on('run:failed', ({ error }) => alert(error));
 * loop.start();
 * ```
 */
export function createTrainingLoop<I, O, K extends OpsKeel>(
  options: TrainingLoopOptions<I, O, K>,
): TrainingLoop {
  assertReadableObject(options, 'training loop options');
  const keel = options?.keel;
  checkOpsKeel(keel);
  const o = parseWith(optionsSchema, pick(options), 'training loop options');
  const { pipeline, input, register } = options;
  if (typeof pipeline?.run !== 'function' || typeof pipeline.name !== 'string') {
    throw invalid('pipeline must be a built pipeline (pipeline(...).build())', 'pipeline');
  }
  if (typeof input !== 'function') {
    throw invalid('input must be a function (trigger) => pipeline input', 'input');
  }
  if (register && typeof register.artifact !== 'function') {
    throw invalid('register.artifact must be a function (outputs) => artifact', 'register');
  }
  if (o.gate && !register) throw invalid('a gate needs register: only a version is gated', 'gate');
  if (o.promoteTo && !register) {
    throw invalid('promoteTo needs register: only a version gets an alias', 'promoteTo');
  }
  const triggers = options.triggers ?? [];
  for (const [i, t] of triggers.entries()) {
    if (typeof t?.attach !== 'function' || typeof t.kind !== 'string') {
      throw invalid(
        `triggers[${i}] is not a trigger; use every(), onDrift(), onDecay() or onEvent()`,
        'triggers',
      );
    }
  }
  const cooldownMs = o.cooldownMs ?? 0;
  const maxConcurrent = o.maxConcurrent ?? 1;
  const championAlias = o.champion ?? 'champion';
  const actor = o.actor;
  const events = listenable<TrainingLoopEvents>();
  const inflight = new Set<Promise<LoopOutcome>>();
  let detach: (() => void)[] = [];
  let running = 0;
  let lastEnd = Number.NEGATIVE_INFINITY;
  let skippedSinceLastRun = 0;
  let stopped = false;

  const fire = (
    kind: string,
    reason: string,
    details?: TriggerEvent['details'],
  ): Promise<LoopOutcome> => {
    const trigger: TriggerEvent = {
      kind,
      reason,
      at: isoNow(keel.clock),
      ...(details ? { details } : {}),
    };
    if (stopped) return Promise.resolve(skip(trigger, 'stopped'));
    events.emit('trigger', { trigger });
    if (running >= maxConcurrent) return Promise.resolve(skip(trigger, 'busy'));
    if (keel.clock.now() - lastEnd < cooldownMs) return Promise.resolve(skip(trigger, 'cooldown'));
    const coalesced = skippedSinceLastRun;
    skippedSinceLastRun = 0;
    running++;
    const run = execute(trigger, coalesced).finally(() => {
      running--;
      lastEnd = keel.clock.now();
      inflight.delete(run);
    });
    inflight.add(run);
    return run;
  };

  const skip = (trigger: TriggerEvent, reason: SkipReason): LoopOutcome => {
    skippedSinceLastRun++;
    events.emit('skipped', { trigger, reason, skippedSinceLastRun });
    return { status: 'skipped', trigger, reason };
  };

  const execute = async (trigger: TriggerEvent, coalesced: number): Promise<LoopOutcome> => {
    const startedAt = performance.now();
    const tags: Tags = {
      'keel.trigger.kind': trigger.kind,
      'keel.trigger.reason': trigger.reason.slice(0, 5000),
      'keel.trigger.at': trigger.at,
      'keel.trigger.coalesced': String(coalesced),
    };
    let stage: LoopStage = 'input';
    let runId: string | undefined;
    try {
      const pipelineInput = await input(trigger);
      stage = 'pipeline';
      let result: { runId: string; outputs: O };
      try {
        result = await pipeline.run(pipelineInput, { keel, tags });
      } catch (error) {
        runId = runIdOf(error);
        throw error;
      }
      runId = result.runId;
      if (!register) {
        return completed({
          status: 'completed',
          trigger,
          runId,
          durationMs: performance.now() - startedAt,
        });
      }
      stage = 'register';
      const outputs = result.outputs;
      const metrics = register.metrics?.(outputs) ?? {};
      const version = await keel.registry.registerVersion(register.model, {
        artifact: register.artifact(outputs),
        runId,
        metrics,
        ...(register.inputs ? { inputs: register.inputs(outputs) } : {}),
        tags,
        ...(actor ? { actor } : {}),
      });
      let report: GateReport | undefined;
      if (o.gate) {
        stage = 'gate';
        const champion = await resolveOrNull(keel, register.model, championAlias);
        report = await keel.gates.evaluate(
          o.gate as GatePolicy,
          {
            candidate: { metrics: version.metrics },
            ...(champion ? { champion: { metrics: champion.metrics } } : {}),
          },
          { subject: { model: version.model, version: version.version } },
        );
      }
      let promoted: string | undefined;
      if (o.promoteTo && (report === undefined || report.passed)) {
        stage = 'promote';
        await keel.registry.setAlias(version.model, o.promoteTo, version.version, {
          reason: `training loop: ${trigger.reason}`.slice(0, 4096),
          ...(report ? { evidence: report } : {}),
          ...(actor ? { actor } : {}),
        });
        promoted = o.promoteTo;
      }
      return completed({
        status: 'completed',
        trigger,
        runId,
        version,
        ...(report ? { report } : {}),
        ...(promoted ? { promoted } : {}),
        durationMs: performance.now() - startedAt,
      });
    } catch (error) {
      const failed: Extract<LoopOutcome, { status: 'failed' }> = {
        status: 'failed',
        trigger,
        error,
        stage,
        ...(runId ? { runId } : {}),
      };
      events.emit('run:failed', failed);
      return failed;
    }
  };

  const completed = (outcome: Extract<LoopOutcome, { status: 'completed' }>): LoopOutcome => {
    events.emit('run:completed', outcome);
    return outcome;
  };

  const loop = {
    ...events.methods(() => loop),
    get running() {
      return running;
    },
    start() {
      if (stopped || detach.length > 0) return;
      detach = triggers.map((t) =>
        t.attach((reason, details) => {
          void fire(t.kind, String(reason), details);
        }),
      );
    },
    async stop() {
      stopped = true;
      for (const d of detach) d();
      detach = [];
      await Promise.allSettled([...inflight]);
    },
    trigger(reason: string): Promise<LoopOutcome> {
      const checked = parseWith(reasonSchema, reason, 'trigger reason');
      return fire('manual', checked);
    },
  } as TrainingLoop;
  return loop;
}

const optionsSchema = z.object({
  cooldownMs: z.number().int().min(0).optional(),
  maxConcurrent: z.number().int().min(1).max(64).optional(),
  gate: gatePolicySchema.optional(),
  promoteTo: readableAliasSchema.optional(),
  champion: readableAliasSchema.optional(),
  actor: actorSchema.optional(),
  register: z.object({ model: modelNameSchema }).loose().optional(),
});

const reasonSchema = z.string().min(1, 'must not be empty').max(4096);

function pick<I, O, K extends OpsKeel>(
  options: TrainingLoopOptions<I, O, K>,
): Record<string, unknown> {
  const { keel: _k, pipeline: _p, input: _i, triggers: _t, ...rest } = options;
  return rest;
}

function invalid(message: string, field: string): ValidationError {
  return new ValidationError(`[keel] invalid training loop options: ${message}`, {
    issues: [{ path: [field], message }],
  });
}

async function resolveOrNull(
  keel: OpsKeel,
  model: string,
  alias: string,
): Promise<ModelVersion | null> {
  try {
    return await keel.registry.resolve(model, alias);
  } catch (error) {
    if (isKeelError(error, 'KEEL_NOT_FOUND')) return null;
    throw error;
  }
}

function runIdOf(error: unknown): string | undefined {
  const id = (error as { result?: { runId?: unknown } } | null)?.result?.runId;
  return typeof id === 'string' ? id : undefined;
}

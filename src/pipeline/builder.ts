/**
 * @module
 * `pipeline(name, options)`: the typed builder of a DAG of steps. Each step may only name
 * earlier steps as dependencies, so cycles cannot be expressed; names and options are
 * validated as they are added, naming the offending step.
 */
import { ValidationError } from '../core/errors.js';
import type { StandardSchemaV1 } from '../core/standard-schema.js';
import { parseWith } from '../core/validate.js';
import { sourceVersion } from './cache-key.js';
import { runPipeline } from './runner.js';
import {
  pipelineNameSchema,
  pipelineOptionsSchema,
  stepNameSchema,
  stepOptionsSchema,
} from './schemas.js';
import type {
  Pipeline,
  PipelineBuilder,
  PipelineOptions,
  StepContext,
  StepInfo,
  StepOptions,
} from './types.js';

/** The input type a Standard Schema accepts. */
export type InferSchemaInput<S extends StandardSchemaV1> = NonNullable<
  S['~standard']['types']
>['input'];

/** The output type a Standard Schema produces. */
export type InferSchemaOutput<S extends StandardSchemaV1> = NonNullable<
  S['~standard']['types']
>['output'];

/** A step as the runner sees it (internal: not exported from the package). */
export interface StepDefinition {
  readonly name: string;
  readonly deps: readonly string[];
  readonly fn: (args: Record<string, unknown>, ctx: StepContext) => unknown;
  readonly options: Readonly<StepOptions>;
  /** The explicit version, or the hash of the function's source. */
  readonly version: string;
  /** Whether the step's output is cached (step option, else pipeline option). */
  readonly cache: boolean;
}

/** A pipeline as the runner sees it (internal). */
export interface PipelineDefinition {
  readonly name: string;
  readonly experiment: string;
  readonly input: StandardSchemaV1 | undefined;
  readonly cache: boolean;
  readonly steps: readonly StepDefinition[];
}

/**
 * Starts a typed pipeline. With an `input` schema (any Standard Schema: zod, valibot, …),
 * `run` accepts the schema's input type and steps see its output type; without one, name the
 * input type as the type argument. Each step runs as a tracked child run of the pipeline's
 * run; `cache: true` reuses a step's output when its version and inputs are unchanged.
 *
 * @example
 * ```ts
 * const train = pipeline<{ days: number }>('churn-train')
 *   .step('rows', ({ input }) =>
 *     Array.from({ length: input.days }, (_, day) => ({ day, churned: day % 3 === 0 })),
 *   )
 *   .step(
 *     'model',
 *     ['rows'],
 *     ({ rows }) => ({ rate: rows.filter((r) => r.churned).length / rows.length }),
 *     { cache: true, version: '1' }, // reused while `version` and `rows` are unchanged
 *   )
 *   .step('report', ['model'], ({ model }, { run }) => {
 *     run.logMetric('churn_rate', model.rate); // on the step's tracked run
 *     return { ok: model.rate < 0.5 };
 *   })
 *   .build();
 * const result = await train.run({ days: 30 }, { keel });
 * const { rate } = result.outputs.model;
 * console.log(result.status, rate, result.steps.model?.explain?.decision); // completed 0.333… miss
 * ```
 * @throws {ValidationError} when `name` or an option is invalid. `step` throws it too, for a
 *   name already used, a dependency that is not an earlier step, a missing function or an
 *   invalid step option: a mistake shows where the pipeline is declared, not when it runs.
 */
export function pipeline<S extends StandardSchemaV1>(
  name: string,
  options: PipelineOptions<S> & { input: S },
): PipelineBuilder<InferSchemaInput<S>, InferSchemaOutput<S>, Record<never, never>>;
/** Starts a typed pipeline whose input (not validated) has type `I`. */
export function pipeline<I = undefined>(
  name: string,
  options?: PipelineOptions<never>,
): PipelineBuilder<I, I, Record<never, never>>;
export function pipeline(
  name: string,
  options: PipelineOptions<unknown> = {},
): PipelineBuilder<unknown, unknown, Record<never, never>> {
  const checkedName = parseWith(pipelineNameSchema, name, 'pipeline name');
  const parsed = parseWith(pipelineOptionsSchema, options, `options of pipeline "${checkedName}"`);
  return makeBuilder({
    name: checkedName,
    experiment: parsed.experiment ?? checkedName,
    input: parsed.input as StandardSchemaV1 | undefined,
    cache: parsed.cache ?? false,
    steps: [],
  });
}

/** The definition behind a built pipeline (internal: used by the runner and `keel/testing`). */
export function definitionOf(built: Pipeline<never, unknown>): PipelineDefinition {
  const definition = definitions.get(built);
  if (!definition) {
    throw new ValidationError(
      '[keel] not a pipeline built by pipeline(...).build(): build it with the pipeline DSL',
    );
  }
  return definition;
}

/**
 * A copy of `built` whose step `name` runs `fn` instead, versioned by `fn`'s source
 * (internal: `withStep` in `keel/testing` types it). Throws `ValidationError` for an
 * unknown step.
 */
export function replaceStep<P extends Pipeline<never, unknown>>(
  built: P,
  name: string,
  fn: (args: Record<string, unknown>, ctx: StepContext) => unknown,
): P {
  const definition = definitionOf(built);
  const index = definition.steps.findIndex((step) => step.name === name);
  const current = definition.steps[index];
  if (current === undefined) {
    throw new ValidationError(
      `[keel] pipeline "${definition.name}" has no step "${String(name)}": name one of ${definition.steps.map((s) => `"${s.name}"`).join(', ')}`,
    );
  }
  if (typeof fn !== 'function') {
    throw new ValidationError(`[keel] the replacement of step "${name}" must be a function`);
  }
  const steps = [...definition.steps];
  // Never the replaced step's version: a stub must not hit the real step's cache entries.
  steps[index] = { ...current, fn, version: `replaced:${sourceVersion(fn)}` };
  return buildPipeline({ ...definition, steps }) as P;
}

function makeBuilder(
  definition: PipelineDefinition,
): PipelineBuilder<unknown, unknown, Record<never, never>> {
  const builder = {
    step(name: unknown, second: unknown, third?: unknown, fourth?: unknown) {
      const explicit = Array.isArray(second);
      const step = checkStep(
        definition,
        name,
        explicit ? second : undefined,
        explicit ? third : second,
        explicit ? fourth : third,
      );
      return makeBuilder({ ...definition, steps: [...definition.steps, step] });
    },
    build: () => buildPipeline(definition),
  };
  return builder as unknown as PipelineBuilder<unknown, unknown, Record<never, never>>;
}

function checkStep(
  definition: PipelineDefinition,
  rawName: unknown,
  rawDeps: unknown[] | undefined,
  fn: unknown,
  rawOptions: unknown,
): StepDefinition {
  const where = `pipeline "${definition.name}"`;
  const name = parseWith(stepNameSchema, rawName, `step name in ${where}`);
  const what = `step "${name}" of ${where}`;
  if (definition.steps.some((step) => step.name === name)) {
    throw invalid(what, 'the name is already used by an earlier step; give each step its own name');
  }
  const earlier = definition.steps.map((step) => step.name);
  let deps: string[];
  if (rawDeps === undefined) {
    deps = earlier;
  } else {
    deps = [];
    for (const dep of rawDeps) {
      if (typeof dep !== 'string' || !earlier.includes(dep)) {
        throw invalid(
          what,
          `unknown dependency ${JSON.stringify(dep)}; a step can depend only on earlier steps (${earlier.map((s) => `"${s}"`).join(', ') || 'none yet'})`,
        );
      }
      if (deps.includes(dep)) throw invalid(what, `dependency "${dep}" is listed twice`);
      deps.push(dep);
    }
  }
  if (typeof fn !== 'function') throw invalid(what, 'pass the step function');
  const options = parseWith(stepOptionsSchema, rawOptions ?? {}, `options of ${what}`);
  const clean = dropUndefined(options) as StepOptions;
  return {
    name,
    deps,
    fn: fn as StepDefinition['fn'],
    options: Object.freeze(clean),
    version: clean.version ?? sourceVersion(fn as () => unknown),
    cache: clean.cache ?? definition.cache,
  };
}

function buildPipeline(definition: PipelineDefinition): Pipeline<unknown, Record<string, unknown>> {
  const frozen: PipelineDefinition = Object.freeze({
    ...definition,
    steps: Object.freeze([...definition.steps]),
  });
  const steps: StepInfo[] = frozen.steps.map((step) =>
    Object.freeze({ name: step.name, deps: Object.freeze([...step.deps]), options: step.options }),
  );
  const built: Pipeline<unknown, Record<string, unknown>> = {
    name: frozen.name,
    steps: Object.freeze(steps),
    run: (input, options) =>
      runPipeline(frozen, input, options) as Promise<
        Awaited<ReturnType<Pipeline<unknown, Record<string, unknown>>['run']>>
      >,
  };
  definitions.set(built, frozen);
  return Object.freeze(built);
}

const definitions = new WeakMap<object, PipelineDefinition>();

function invalid(what: string, problem: string): ValidationError {
  return new ValidationError(`[keel] invalid ${what}: ${problem}`, {
    issues: [{ path: [], message: problem }],
  });
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

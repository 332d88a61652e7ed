/**
 * @module
 * zod schemas for every public input of the pipeline DSL: names, step options, pipeline
 * options and run options. Names end up in storage keys, so they are kept path-safe.
 */
import { z } from 'zod';
import { type Tags, tagsSchema } from '../core/schemas.js';
import { isStandardSchema } from '../core/standard-schema.js';

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const RESERVED = new Set(['input', '__proto__', 'constructor', 'prototype', 'toString']);

/** A pipeline name: 1-128 characters, letters, digits, `_`, `.`, `-`, starting alphanumeric. */
export const pipelineNameSchema: z.ZodType<string> = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(
    SAFE_NAME,
    'must start with a letter or digit and hold only letters, digits, "_", "." or "-"',
  );

/** A step name: like a pipeline name, and not `input` (the argument every step receives). */
export const stepNameSchema: z.ZodType<string> = pipelineNameSchema.refine(
  (s) => !RESERVED.has(s),
  'is reserved (input, __proto__, constructor, prototype, toString)',
);

const positiveFinite = z.number().positive().finite();

/** Options of one step. */
export const stepOptionsSchema: z.ZodType<{
  retries?: number | undefined;
  backoff?:
    | {
        minDelayMs?: number | undefined;
        maxDelayMs?: number | undefined;
        factor?: number | undefined;
        randomize?: boolean | undefined;
      }
    | undefined;
  retryOn?: ((error: unknown) => boolean) | undefined;
  timeoutMs?: number | undefined;
  cache?: boolean | undefined;
  version?: string | undefined;
}> = z.strictObject({
  retries: z
    .number()
    .int('must be an integer')
    .min(0, 'must not be negative')
    .max(100, 'must be at most 100')
    .optional(),
  backoff: z
    .strictObject({
      minDelayMs: z.number().min(0).finite().optional(),
      maxDelayMs: z.number().min(0).optional(),
      factor: positiveFinite.optional(),
      randomize: z.boolean().optional(),
    })
    .optional(),
  retryOn: z
    .custom<(error: unknown) => boolean>((v) => typeof v === 'function', 'must be a function')
    .optional(),
  timeoutMs: z
    .number()
    .positive('must be positive (omit it for no time limit)')
    .max(2_147_483_647, 'must fit a timer (at most 2147483647 ms)')
    .optional(),
  cache: z.boolean().optional(),
  version: z.string().min(1).max(256).optional(),
});

/** Options of `pipeline(name, options)`. */
export const pipelineOptionsSchema: z.ZodType<{
  input?: unknown;
  cache?: boolean | undefined;
  experiment?: string | undefined;
}> = z.strictObject({
  input: z
    .custom(
      (v) => v === undefined || isStandardSchema(v),
      'must be a Standard Schema (zod 4, valibot, ...)',
    )
    .optional(),
  cache: z.boolean().optional(),
  experiment: z.string().min(1).max(256).optional(),
});

// Tags the runner sets on a pipeline's tracked run itself: a caller's tags must not hide them.
const RUNNER_TAGS = ['keel.pipeline', 'keel.pipeline.status', 'keel.resumed_from'];

/** Options of `Pipeline.run`, apart from `keel` (checked by shape). */
export const runOptionsSchema: z.ZodType<{
  keel?: unknown;
  signal?: AbortSignal | undefined;
  resumeFrom?: string | undefined;
  concurrency?: number | undefined;
  captureEnvironment?: boolean | undefined;
  logger?: ((entry: never) => void) | undefined;
  tags?: Tags | undefined;
}> = z.strictObject({
  keel: z.custom<unknown>(
    (v) => v !== undefined,
    'required: expected the keel to record into ({ keel: createKeel({ backend }) })',
  ),
  signal: z
    .custom<AbortSignal>(
      (v) => typeof v === 'object' && v !== null && typeof (v as AbortSignal).aborted === 'boolean',
      'must be an AbortSignal',
    )
    .optional(),
  resumeFrom: z.string().min(1).max(256).optional(),
  concurrency: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  captureEnvironment: z.boolean().optional(),
  logger: z
    .custom<(entry: never) => void>((v) => typeof v === 'function', 'must be a function')
    .optional(),
  tags: tagsSchema
    .refine(
      (tags) => !RUNNER_TAGS.some((key) => Object.hasOwn(tags, key)),
      `must not set the runner's own tags (${RUNNER_TAGS.join(', ')})`,
    )
    .optional(),
});

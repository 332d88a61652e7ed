/**
 * @module
 * Shared zod schemas for the values every service accepts: names, keys, tags, params,
 * digests, actors.
 */
import { z } from 'zod';

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** A display name (experiment, model): 1 to 256 characters, no control characters. */
export const nameSchema: z.ZodString = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters')
  .refine((s) => s.trim() === s, 'must not start or end with whitespace');

/** A metric, param or tag key: 1 to 250 characters (MLflow's limit), no control characters. */
export const keySchema: z.ZodString = z
  .string()
  .min(1, 'must not be empty')
  .max(250, 'must be at most 250 characters')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters')
  .refine((s) => !RESERVED_KEYS.has(s), 'is a reserved name (__proto__, constructor, prototype)');

/** A param value: a string up to 6000 characters, a finite number, or a boolean. */
export const paramValueSchema: z.ZodType<string | number | boolean> = z.union(
  [
    z.string().max(6000, 'param strings must be at most 6000 characters'),
    z.number().refine(Number.isFinite, 'param numbers must be finite'),
    z.boolean(),
  ],
  {
    // zod's number refuses NaN and infinities before the refinement can word it
    error: (issue) =>
      typeof issue.input === 'number'
        ? `${issue.input} is not a valid parameter value (metrics may be ${issue.input}, params may not): log it as a metric, or as the string '${issue.input}'`
        : undefined,
  },
);

/** Params: immutable run inputs such as hyperparameters. */
export type Params = Record<string, string | number | boolean>;
/** Tags: mutable string labels. */
export type Tags = Record<string, string>;

/** Validates {@link Params}. */
export const paramsSchema: z.ZodType<Params> = z.record(keySchema, paramValueSchema);

/** Validates {@link Tags}: values up to 5000 characters. */
export const tagsSchema: z.ZodType<Tags> = z.record(
  keySchema,
  z.string().max(5000, 'tag values must be at most 5000 characters'),
);

/** Validates a digest string. */
export const digestSchema: z.ZodType<`sha256:${string}`> = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, "expected a digest 'sha256:<64 lowercase hex>'")
  .transform((s) => s as `sha256:${string}`);

/** Who does something: an id and optional roles. */
export interface Actor {
  /** Who acts: a user, a service account or a pipeline, as the audit log records it. */
  id: string;
  /** Roles an {@link Authorizer} and alias policies (`allowedRoles`, `approverRoles`) check. */
  roles?: string[];
}

/** Validates an {@link Actor}. */
export const actorSchema: z.ZodType<Actor> = z.object({
  id: z.string().min(1).max(256),
  roles: z.array(z.string().min(1).max(128)).optional(),
}) as z.ZodType<Actor>;

/** Any number, NaN and infinities included (metrics and statistics may be non-finite). */
export const anyNumberSchema: z.ZodType<number> = z.custom<number>(
  (v) => typeof v === 'number',
  'expected a number',
);

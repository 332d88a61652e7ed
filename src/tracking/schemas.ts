/**
 * @module
 * The zod schemas of the Tracker's public inputs: every call is validated before anything
 * is written.
 */
import { z } from 'zod';
import { digestSchema, keySchema, nameSchema, paramsSchema, tagsSchema } from '../core/schemas.js';
import type {
  EndRunOptions,
  FinalRunStatus,
  LineageRef,
  SearchRunsQuery,
  StartRunOptions,
} from './types.js';

/** Largest page of searchRuns. */
export const MAX_SEARCH_LIMIT = 10_000;
/** Page size of searchRuns without `limit`. */
export const DEFAULT_SEARCH_LIMIT = 100;

/** Environment variable names that may be allow-listed. */
export const envNameSchema: z.ZodString = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');

/** Validates a {@link LineageRef}. */
export const lineageRefSchema: z.ZodType<LineageRef> = z
  .object({
    digest: digestSchema,
    name: z.string().min(1).max(1000).optional(),
    kind: keySchema.optional(),
  })
  .strict() as z.ZodType<LineageRef>;

/** Most lineage references one call records. */
export const MAX_REFS_PER_CALL = 10_000;

const refsSchema = z.array(lineageRefSchema).max(MAX_REFS_PER_CALL);

/** Validates {@link StartRunOptions}. */
export const startRunSchema: z.ZodType<StartRunOptions> = z
  .object({
    experiment: nameSchema,
    name: nameSchema.optional(),
    params: paramsSchema.optional(),
    tags: tagsSchema.optional(),
    parentRunId: z.string().min(1).max(256).optional(),
    captureEnvironment: z
      .union([z.boolean(), z.object({ env: z.array(envNameSchema).max(100).optional() }).strict()])
      .optional(),
    inputs: refsSchema.optional(),
    deferWriteMs: z.number().int().min(0).max(3_600_000).optional(),
  })
  .strict() as z.ZodType<StartRunOptions>;

/** Validates {@link EndRunOptions}. */
export const endRunSchema: z.ZodType<EndRunOptions> = z
  .object({ tags: tagsSchema.optional(), outputs: refsSchema.optional() })
  .strict() as z.ZodType<EndRunOptions>;

/** Validates a {@link SearchRunsQuery}. */
export const searchRunsSchema: z.ZodType<SearchRunsQuery> = z
  .object({
    experiment: nameSchema.optional(),
    filter: z.string().optional(),
    orderBy: z.array(z.string()).max(16, 'at most 16 orderBy entries').optional(),
    limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).optional(),
    cursor: z.string().max(100_000).optional(),
  })
  .strict() as z.ZodType<SearchRunsQuery>;

/** Validates the name given to `getRunArtifact` / `RunHandle.artifact` (as `logArtifact` takes it). */
export const artifactNameSchema: z.ZodString = z.string().min(1).max(1000);

/** Validates the options of `logArtifact`. */
export const logArtifactSchema: z.ZodType<{ name?: string; mediaType?: string }> = z
  .object({
    name: artifactNameSchema.optional(),
    mediaType: z.string().min(1).max(255).optional(),
  })
  .strict() as z.ZodType<{ name?: string; mediaType?: string }>;

/** Validates the status given to `end()`. */
export const finalStatusSchema: z.ZodType<FinalRunStatus> = z.enum([
  'completed',
  'failed',
  'killed',
]);

/** Validates a metric key (cached per handle, so validated once per key). */
export const metricKeySchema: z.ZodString = keySchema;

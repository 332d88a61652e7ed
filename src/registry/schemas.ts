/**
 * @module
 * The zod schemas every registry input goes through before anything is read or written:
 * model names, aliases, version numbers, registration options, policies, evidence.
 */
import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import type { Digest } from '../core/digest.js';
import {
  type Actor,
  actorSchema,
  digestSchema,
  keySchema,
  type Tags,
  tagsSchema,
} from '../core/schemas.js';
import type { GatePolicy } from '../gates/schema.js';
import { lineageRefSchema } from '../tracking/schemas.js';
import type {
  AliasPolicy,
  GcOptions,
  RegisterVersionOptions,
  RequireGate,
  SetAliasOptions,
} from './types.js';

/** The alias that always means "the highest non-archived version"; it cannot be set. */
export const LATEST = 'latest';

/** Alias names: a lowercase letter, then up to 63 of `[a-z0-9_-]`. */
export const ALIAS_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * Model names: a letter or digit, then up to 255 letters, digits, `.`, `_` or `-` (so a name
 * is also a safe key segment, a URL segment and a file name, like an alias).
 */
export const MODEL_NAME_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/;

/** A model name: matches {@link MODEL_NAME_PATTERN}. */
export const modelNameSchema: z.ZodType<string> = z
  .string()
  .regex(
    MODEL_NAME_PATTERN,
    'must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (at most 256 characters), e.g. "churn-model"',
  );

/** An alias that may be set: matches {@link ALIAS_PATTERN} and is not `latest`. */
export const aliasSchema: z.ZodType<string> = z
  .string()
  .regex(ALIAS_PATTERN, 'must match [a-z][a-z0-9_-]{0,63}')
  .refine(
    (s) => s !== LATEST,
    '"latest" is reserved: it always means the highest non-archived version',
  );

/** An alias to read: one that can be set, or `latest`. */
export const readableAliasSchema: z.ZodType<string> = z
  .string()
  .regex(ALIAS_PATTERN, 'must match [a-z][a-z0-9_-]{0,63}');

/** A version number: a positive safe integer. */
export const versionNumberSchema: z.ZodType<number> = z
  .number()
  .int('must be an integer')
  .positive('must be 1 or more')
  .max(9_999_999_999, 'is too large');

const reasonSchema = z.string().max(4096, 'must be at most 4096 characters');

const jsonObjectSchema = z.record(z.string(), z.json());

const artifactRefSchema = z.object({
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  mediaType: z.string().min(1).max(255),
});

/** Options of `registerVersion`. */
export const registerVersionSchema: z.ZodType<RegisterVersionOptions> = z.strictObject({
  artifact: z.union([digestSchema, artifactRefSchema]),
  runId: z.string().min(1).max(256).optional(),
  inputs: z.array(lineageRefSchema).max(10_000).optional(),
  metrics: z
    .record(keySchema, z.number().refine(Number.isFinite, 'metrics must be finite numbers'))
    .optional(),
  signature: z
    .strictObject({ inputs: jsonObjectSchema.optional(), outputs: jsonObjectSchema.optional() })
    .optional(),
  tags: tagsSchema.optional(),
  description: z.string().max(5000).optional(),
  actor: actorSchema.optional(),
}) as unknown as z.ZodType<RegisterVersionOptions>;

/** Options of `createModel`. */
export const createModelSchema: z.ZodType<{ description?: string; tags?: Tags; actor?: Actor }> =
  z.strictObject({
    description: z.string().max(5000).optional(),
    tags: tagsSchema.optional(),
    actor: actorSchema.optional(),
  }) as unknown as z.ZodType<{ description?: string; tags?: Tags; actor?: Actor }>;

/** Options of `deleteAlias`, `rollback` and `archiveVersion`. */
export const actorReasonSchema: z.ZodType<{ actor?: Actor; reason?: string }> = z.strictObject({
  actor: actorSchema.optional(),
  reason: reasonSchema.optional(),
}) as unknown as z.ZodType<{ actor?: Actor; reason?: string }>;

// The shape a gate report passed as evidence must have; its content is checked against the store.
const gateReportSchema = z.object({
  policy: z.string(),
  decision: z.enum(['pass', 'warn', 'fail']),
  passed: z.boolean(),
  subject: z.object({ model: z.string(), version: z.number() }).optional(),
  results: z.array(z.unknown()),
  evaluatedAt: z.string(),
  policyDigest: digestSchema.optional(),
  evidenceDigest: digestSchema.optional(),
  digest: digestSchema,
});

/** Options of `setAlias`. */
export const setAliasSchema: z.ZodType<SetAliasOptions> = z.strictObject({
  actor: actorSchema.optional(),
  reason: reasonSchema.optional(),
  evidence: gateReportSchema.optional(),
  expectedVersion: versionNumberSchema.nullable().optional(),
}) as unknown as z.ZodType<SetAliasOptions>;

/** Options of `approve`. */
export const approveSchema: z.ZodType<{ alias: string; actor?: Actor; comment?: string }> =
  z.strictObject({
    alias: aliasSchema,
    actor: actorSchema.optional(),
    comment: z.string().max(4096).optional(),
  }) as unknown as z.ZodType<{ alias: string; actor?: Actor; comment?: string }>;

/** Options of `audit`. */
export const auditOptionsSchema: z.ZodType<{ from?: number }> = z.strictObject({
  from: z.int('must be an integer offset').min(0, 'must be 0 or more').optional(),
}) as unknown as z.ZodType<{ from?: number }>;

const iterableSchema = z.custom<Iterable<Digest> | AsyncIterable<Digest>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    (typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'),
  'expected an array or (async) iterable of digests',
);

/** Options of `gc`. */
export const gcOptionsSchema: z.ZodType<GcOptions> = z.strictObject({
  dryRun: z.boolean().optional(),
  references: iterableSchema.optional(),
  minAgeMs: z.number().min(0, 'must be a non-negative number of milliseconds').optional(),
  releaseArchived: z.boolean().optional(),
  actor: actorSchema.optional(),
}) as unknown as z.ZodType<GcOptions>;

/** Paging options of `listModels` and `listVersions`. */
export const pageSchema: z.ZodType<{ cursor?: string; limit?: number }> = z.strictObject({
  cursor: z.string().min(1).max(1024).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
}) as unknown as z.ZodType<{ cursor?: string; limit?: number }>;

const roleSchema = z.string().min(1).max(128);

// The shape of a gate policy given inline; its rules are validated when a report is judged.
const inlineGatePolicySchema = z
  .looseObject({
    name: z.string().min(1).max(256),
    rules: z.array(z.looseObject({ kind: z.string().min(1) })).min(1),
  })
  .refine(isPlainJson, 'must be plain JSON (it is identified by the digest of its canonical JSON)');

/** The registry's named gate policies: names must be distinct. */
export const gatePoliciesSchema: z.ZodType<GatePolicy[]> = z
  .array(inlineGatePolicySchema)
  .refine(
    (policies) => new Set(policies.map((p) => p.name)).size === policies.length,
    'two gate policies with the same name',
  ) as unknown as z.ZodType<GatePolicy[]>;

/** `requireGate`: `true`, or what the report must satisfy. */
export const requireGateSchema: z.ZodType<boolean | RequireGate> = z.union([
  z.boolean(),
  z.strictObject({
    policy: z.union([z.string().min(1).max(256), inlineGatePolicySchema]).optional(),
    metrics: z.enum(['registered', 'asserted']).optional(),
    acceptWarn: z.boolean().optional(),
  }),
]) as unknown as z.ZodType<boolean | RequireGate>;

/** One alias policy. */
export const aliasPolicySchema: z.ZodType<AliasPolicy> = z.strictObject({
  alias: aliasSchema,
  model: modelNameSchema.optional(),
  requireGate: requireGateSchema.optional(),
  requiredApprovals: z.number().int().min(0).max(100).optional(),
  allowedRoles: z.array(roleSchema).optional(),
  approverRoles: z.array(roleSchema).optional(),
}) as z.ZodType<AliasPolicy>;

/** The policies of a registry: at most one per alias and model scope. */
export const aliasPoliciesSchema: z.ZodType<AliasPolicy[]> = z
  .array(aliasPolicySchema)
  .refine(
    (policies) =>
      new Set(policies.map((p) => `${p.model ?? '*'}\u0000${p.alias}`)).size === policies.length,
    'two policies for the same alias and model',
  );

/** The grants of `roleAuthorizer`: role (or `*` for everyone) to action patterns. */
export const grantsSchema: z.ZodType<Record<string, string[]>> = z.record(
  z.string().min(1).max(128),
  z.array(z.string().min(1).max(128)),
);

function isPlainJson(value: unknown): boolean {
  try {
    canonicalJson(value);
    return true;
  } catch {
    return false;
  }
}

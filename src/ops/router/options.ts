/**
 * @module
 * Validation of the router's options and of promote/rollback options: zod schemas, and the
 * resolved settings (defaults applied) that the router runs on.
 */
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { type Actor, actorSchema } from '../../core/schemas.js';
import { parseWith } from '../../core/validate.js';
import { gatePolicySchema } from '../../gates/schema.js';
import { modelNameSchema, readableAliasSchema } from '../../registry/schemas.js';
import { defaultReplicaId, REPLICA_ID_PATTERN } from '../replicas/board.js';
import type { AutoRelease, ReleaseActionOptions, ReleaseStrategy, RouterOptions } from './types.js';

/** Router options after validation, with every default applied. */
export interface RouterSettings {
  /** The model served. */
  model: string;
  /** The strategy, with the `ab` default weight filled in. */
  strategy: ReleaseStrategy;
  /** Share of requests the challenger answers (0 for shadow). */
  weight: number;
  /** The champion alias. */
  champion: string;
  /** The challenger alias. */
  challenger: string;
  /** Auto-release settings, when on. */
  autoRelease: AutoRelease | undefined;
  /** Actor of promotions and rollbacks (undefined: the keel's actor). */
  actor: Actor | undefined;
  /** Alias re-resolution period in ms. */
  refreshMs: number;
  /** Latency samples kept per arm. */
  windowSize: number;
  /** Shadow calls that may wait. */
  queueSize: number;
  /** Shadow calls run at once. */
  concurrency: number;
  /** Evidence sharing with other replicas, when on (the store is taken from the options as given). */
  replicas: ReplicaSettings | undefined;
}

/** `replicas` after validation, with defaults applied. */
export interface ReplicaSettings {
  /** This replica's id. */
  id: string;
  /** The deployment's name. */
  group: string;
  /** Exchange period in ms. */
  flushMs: number;
  /** Silence after which a replica drops out, in ms. */
  staleAfterMs: number;
}

/**
 * Validates `options` (all but the functions and the keel, checked elsewhere) and applies the
 * defaults.
 *
 * @throws ValidationError when an option is malformed or `load` is not a function.
 */
export function parseRouterOptions<I, O>(options: RouterOptions<I, O>): RouterSettings {
  const parsed = parseWith(optionsSchema, pick(options), 'router options');
  if (typeof options.load !== 'function') {
    throw new ValidationError(
      '[keel] invalid router options: load is not a function; pass load: (version) => predictor',
      { issues: [{ path: ['load'], message: 'expected a function' }] },
    );
  }
  const strategy = parsed.strategy;
  return {
    model: parsed.model,
    strategy,
    weight: strategy.kind === 'shadow' ? 0 : strategy.weight,
    champion: parsed.champion,
    challenger: parsed.challenger,
    autoRelease: parsed.autoRelease as AutoRelease | undefined,
    actor: parsed.actor,
    refreshMs: parsed.refreshMs,
    windowSize: parsed.window?.size ?? 10_000,
    queueSize: parsed.shadow?.queueSize ?? 1000,
    concurrency: parsed.shadow?.concurrency ?? 4,
    replicas: replicaSettings(parsed.replicas, parsed.model),
  };
}

/**
 * Validates the options of `promote` / `rollback`.
 *
 * @throws ValidationError when the actor or reason is malformed.
 */
export function parseActionOptions(
  opts: ReleaseActionOptions,
  what: 'promote' | 'rollback',
): { actor?: Actor | undefined; reason?: string | undefined } {
  return parseWith(actionSchema, opts, `${what} options`);
}

const weightSchema = z
  .number()
  .min(0, 'weight must be in [0, 1]')
  .max(1, 'weight must be in [0, 1]');

const strategySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('canary'), weight: weightSchema }),
  z.strictObject({ kind: z.literal('shadow') }),
  z.strictObject({ kind: z.literal('ab'), weight: weightSchema.default(0.5) }),
]);

const optionsSchema = z
  .object({
    model: modelNameSchema,
    strategy: strategySchema,
    champion: readableAliasSchema.default('champion'),
    challenger: readableAliasSchema.default('challenger'),
    autoRelease: z
      .strictObject({
        policy: gatePolicySchema,
        minSamples: z.number().int().min(1),
        onPass: z.enum(['promote', 'none']),
        onFail: z.enum(['rollback', 'none']),
      })
      .optional(),
    refreshMs: z.number().int().min(10).default(2000),
    window: z.strictObject({ size: z.number().int().min(1).max(10_000_000) }).optional(),
    shadow: z
      .strictObject({
        queueSize: z.number().int().min(0).optional(),
        concurrency: z.number().int().min(1).optional(),
      })
      .optional(),
    actor: actorSchema.optional(),
    replicas: z
      .strictObject({
        id: z
          .string()
          .regex(
            REPLICA_ID_PATTERN,
            'must be 1-128 of [A-Za-z0-9._-], starting with a letter or digit',
          )
          .optional(),
        group: modelNameSchema.optional(),
        flushMs: z.number().int().min(10).max(3_600_000).optional(),
        staleAfter: z.number().int().min(2).max(1000).optional(),
      })
      .optional(),
  })
  .refine((o) => o.champion !== o.challenger, {
    message: 'champion and challenger must be different aliases',
    path: ['challenger'],
  });

const actionSchema = z.object({
  actor: actorSchema.optional(),
  reason: z.string().max(4096).optional(),
});

function replicaSettings(
  replicas:
    | {
        id?: string | undefined;
        group?: string | undefined;
        flushMs?: number | undefined;
        staleAfter?: number | undefined;
      }
    | undefined,
  model: string,
): ReplicaSettings | undefined {
  if (replicas === undefined) return undefined;
  const flushMs = replicas.flushMs ?? 2000;
  return {
    id: replicas.id ?? defaultReplicaId(),
    group: replicas.group ?? model,
    flushMs,
    staleAfterMs: flushMs * (replicas.staleAfter ?? 5),
  };
}

function pick<I, O>(options: RouterOptions<I, O>): Record<string, unknown> {
  const { keel: _keel, load: _load, monitor: _monitor, random: _random, ...rest } = options;
  if (rest.replicas !== undefined && rest.replicas !== null && typeof rest.replicas === 'object') {
    // The store is an object with methods, checked by the router; the rest is plain data.
    const { store: _store, ...replicas } = rest.replicas;
    return { ...rest, replicas };
  }
  return rest;
}

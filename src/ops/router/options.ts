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
import {
  type ReplicaSettings,
  replicaOptionsSchema,
  replicaSettings,
  withoutReplicaStore,
} from '../replicas/options.js';
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

/**
 * Validates `options` (all but the functions and the keel, checked elsewhere) and applies the
 * defaults.
 *
 * @throws {ValidationError} when an option is malformed or `load` is not a function.
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
 * @throws {ValidationError} when the actor or reason is malformed.
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
    replicas: replicaOptionsSchema.optional(),
  })
  .refine((o) => o.champion !== o.challenger, {
    message: 'champion and challenger must be different aliases',
    path: ['challenger'],
  });

const actionSchema = z.object({
  actor: actorSchema.optional(),
  reason: z.string().max(4096).optional(),
});

function pick<I, O>(options: RouterOptions<I, O>): Record<string, unknown> {
  const { keel: _keel, load: _load, monitor: _monitor, random: _random, ...rest } = options;
  // The store is an object with methods, checked by the router; the rest is plain data.
  return withoutReplicaStore(rest);
}

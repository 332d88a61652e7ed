/**
 * @module
 * The `replicas` option shared by `createRouter` and `createMonitor`: its zod schema and the
 * settings (defaults applied) the replicas run on.
 */
import { z } from 'zod';
import { modelNameSchema } from '../../registry/schemas.js';
import { defaultReplicaId, REPLICA_ID_PATTERN } from './board.js';

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

/** The plain-data part of `replicas` as validated (the store is checked by its user). */
export interface ReplicaOptionValues {
  /** This replica's id. */
  id?: string | undefined;
  /** The deployment's name. */
  group?: string | undefined;
  /** Exchange period in ms. */
  flushMs?: number | undefined;
  /** Exchange periods of silence after which a replica drops out. */
  staleAfter?: number | undefined;
}

/** The schema of {@link ReplicaOptionValues}. */
export const replicaOptionsSchema: z.ZodType<ReplicaOptionValues> = z.strictObject({
  id: z
    .string()
    .regex(REPLICA_ID_PATTERN, 'must be 1-128 of [A-Za-z0-9._-], starting with a letter or digit')
    .optional(),
  group: modelNameSchema.optional(),
  flushMs: z.number().int().min(10).max(3_600_000).optional(),
  staleAfter: z.number().int().min(2).max(1000).optional(),
});

/** The settings of validated `replicas` options; `group` defaults to `defaultGroup`. */
export function replicaSettings(
  replicas: ReplicaOptionValues | undefined,
  defaultGroup: string,
): ReplicaSettings | undefined {
  if (replicas === undefined) return undefined;
  const flushMs = replicas.flushMs ?? 2000;
  return {
    id: replicas.id ?? defaultReplicaId(),
    group: replicas.group ?? defaultGroup,
    flushMs,
    staleAfterMs: flushMs * (replicas.staleAfter ?? 5),
  };
}

/** `options` without `replicas.store` (an object with methods, checked by its user). */
export function withoutReplicaStore<T extends { replicas?: unknown }>(options: T): T {
  const replicas = options.replicas;
  if (replicas === undefined || replicas === null || typeof replicas !== 'object') return options;
  const { store: _store, ...rest } = replicas as Record<string, unknown>;
  return { ...options, replicas: rest };
}

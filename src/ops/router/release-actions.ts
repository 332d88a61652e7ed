/**
 * @module
 * The two release actions, by hand or automatic: promote (move the champion alias to the
 * challenger's version through the registry, compare-and-swap on the current champion) and
 * roll back (stop routing to the challenger at once, then delete its alias). Both emit the
 * router's `promoted` / `rolledback` events.
 */
import type { Actor } from '../../core/schemas.js';
import type { GateReport } from '../../gates/types.js';
import type { AliasChange, ModelVersion } from '../../registry/types.js';
import type { OpsKeel } from '../context.js';
import type { EmitterPair } from '../emitter.js';
import type { ArmState, Serving } from './stats.js';
import type { RouterEvents } from './types.js';

/** What the release actions need from their router. */
export interface ReleaseContext<I, O> {
  /** The keel (its registry moves the aliases). */
  keel: OpsKeel;
  /** The model served. */
  model: string;
  /** The router's default actor. */
  actor: Actor | undefined;
  /** The champion arm. */
  champion: ArmState<I, O>;
  /** The challenger arm. */
  challenger: ArmState<I, O>;
  /** The router's events. */
  events: EmitterPair<RouterEvents>;
  /** Makes the champion serve the promoted version (fresh counters). */
  serveAsChampion(chal: Serving<I, O>): void;
  /** Stops routing to the challenger's `version` at once (and drops its queued shadow calls). */
  stopChallenger(version: number): void;
  /** The version an alias points to, or null. */
  resolveAlias(alias: string): Promise<ModelVersion | null>;
}

/** Options of a promotion. */
export interface PromoteOptions {
  /** The gate report that justifies it. */
  evidence?: GateReport;
  /** Why (default: a sentence naming the version). */
  reason?: string | undefined;
  /** Who (default: the router's actor). */
  actor?: Actor | undefined;
  /** Whether auto-release decided it. */
  automatic: boolean;
}

/** Options of a rollback. */
export interface RollbackOptions {
  /** Why (default: a sentence naming the version). */
  reason?: string | undefined;
  /** Who (default: the router's actor). */
  actor?: Actor | undefined;
  /** The gate report that failed, if any. */
  report?: GateReport;
  /** Whether auto-release decided it. */
  automatic: boolean;
}

/**
 * Moves the champion alias to `chal`'s version (compare-and-swap on the champion served now).
 *
 * @throws {PolicyError} when the champion alias's policy is not met (gate evidence, approvals).
 * @throws {UnauthorizedError} when the actor may not move the alias.
 * @throws {ConflictError} when the champion alias moved since it was resolved, or the version
 *   was archived.
 */
export async function promoteServing<I, O>(
  ctx: ReleaseContext<I, O>,
  chal: Serving<I, O>,
  opts: PromoteOptions,
): Promise<AliasChange> {
  const { model, champion, challenger } = ctx;
  const previous = champion.serving?.version.version ?? null;
  const version = chal.version.version;
  const who = opts.actor ?? ctx.actor;
  const change = await ctx.keel.registry.setAlias(model, champion.alias, version, {
    reason: opts.reason ?? `router: promoted ${model} v${version} from ${challenger.alias}`,
    expectedVersion: previous,
    ...(opts.evidence ? { evidence: opts.evidence } : {}),
    ...(who ? { actor: who } : {}),
  });
  ctx.serveAsChampion(chal);
  ctx.events.emit('promoted', {
    model,
    alias: champion.alias,
    version,
    previousVersion: previous,
    ...(opts.evidence ? { report: opts.evidence } : {}),
    automatic: opts.automatic,
  });
  return change;
}

/**
 * Stops routing to `chal` at once, then deletes the challenger alias if it still points to it.
 *
 * @throws {UnauthorizedError} when the actor may not delete the challenger alias.
 * @throws {NotFoundError} when the challenger alias was deleted between the read and the delete.
 */
export async function rollbackServing<I, O>(
  ctx: ReleaseContext<I, O>,
  chal: Serving<I, O>,
  opts: RollbackOptions,
): Promise<void> {
  const { model, challenger } = ctx;
  const version = chal.version.version;
  const reason = opts.reason ?? `router: rolled back ${model} v${version} from ${challenger.alias}`;
  // Stop routing first: no request may reach the challenger once rollback has begun.
  ctx.stopChallenger(version);
  const who = opts.actor ?? ctx.actor;
  const current = await ctx.resolveAlias(challenger.alias);
  if (current?.version === version) {
    await ctx.keel.registry.deleteAlias(model, challenger.alias, {
      reason,
      ...(who ? { actor: who } : {}),
    });
  }
  ctx.events.emit('rolledback', {
    model,
    alias: challenger.alias,
    version,
    reason,
    ...(opts.report ? { report: opts.report } : {}),
    automatic: opts.automatic,
  });
}

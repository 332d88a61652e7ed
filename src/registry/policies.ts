/**
 * @module
 * Alias policies: which policy governs an alias, whether an actor holds a required role, and
 * who the distinct approvers of a version are. The evidence a policy needs is checked in
 * `evidence.ts`.
 */
import type { Actor } from '../core/schemas.js';
import type { AliasPolicy, Approval } from './types.js';

/** The policy of `alias` for `model`: a model-specific policy wins over a general one. */
export function findPolicy(
  policies: readonly AliasPolicy[],
  model: string,
  alias: string,
): AliasPolicy | undefined {
  return (
    policies.find((p) => p.alias === alias && p.model === model) ??
    policies.find((p) => p.alias === alias && p.model === undefined)
  );
}

/** True when the actor holds at least one of `roles`. */
export function hasRole(actor: Actor, roles: readonly string[]): boolean {
  return (actor.roles ?? []).some((role) => roles.includes(role));
}

/** The distinct actors who approved, in approval order. */
export function distinctApprovers(approvals: readonly Approval[]): string[] {
  return [...new Set(approvals.map((a) => a.actor.id))];
}

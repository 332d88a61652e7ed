/**
 * @module
 * Authorization of registry mutations: the authorizer is asked about every one, alias roles
 * are checked against the alias policy, and every denial or policy refusal is audited before
 * it is thrown.
 */

import { type PolicyError, UnauthorizedError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { Actor } from '../core/schemas.js';
import type { RegistryAction } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { hasRole } from './policies.js';
import type { AliasPolicy, AuditResource } from './types.js';

/** Asks the authorizer; a denial (or a throwing authorizer) is audited and thrown. */
export async function guard(
  ctx: RegistryContext,
  actor: Actor,
  action: RegistryAction,
  resource: AuditResource,
): Promise<void> {
  let allowed = false;
  let failure: unknown;
  try {
    allowed =
      (await ctx.authorizer({
        actor: structuredClone(actor),
        action,
        resource: { ...resource },
      })) === true;
  } catch (error) {
    failure = error;
  }
  if (allowed) return;
  await deny(
    ctx,
    actor,
    action,
    resource,
    failure === undefined ? 'the authorizer refused' : 'the authorizer failed',
    failure,
  );
}

/** Audits a denial and throws `UnauthorizedError`. */
export async function deny(
  ctx: RegistryContext,
  actor: Actor,
  action: RegistryAction,
  resource: AuditResource,
  why: string,
  cause?: unknown,
): Promise<never> {
  await ctx.audit.append({ actor, action, resource, details: { outcome: 'denied', reason: why } });
  throw new UnauthorizedError(
    `[keel] [registry] ${actor.id} may not ${action} on ${describeResource(resource)}: ${why}; grant the action to one of the actor's roles`,
    { details: { actor: actor.id, action, resource }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Audits a policy refusal and throws it. */
export async function refuse(
  ctx: RegistryContext,
  actor: Actor,
  action: RegistryAction,
  resource: AuditResource,
  error: PolicyError,
): Promise<never> {
  await ctx.audit.append({
    actor,
    action,
    resource,
    details: {
      outcome: 'refused',
      reason: error.message,
      ...(error.details as { [k: string]: JsonValue }),
    },
  });
  throw error;
}

/** Denies (audited) an actor the alias policy's `allowedRoles` do not include. */
export async function checkAliasRoles(
  ctx: RegistryContext,
  actor: Actor,
  action: RegistryAction,
  resource: AuditResource,
  policy: AliasPolicy | undefined,
): Promise<void> {
  if (policy?.allowedRoles !== undefined && !hasRole(actor, policy.allowedRoles)) {
    await deny(
      ctx,
      actor,
      action,
      resource,
      `the policy of alias "${policy.alias}" allows only the roles ${policy.allowedRoles.join(', ')}`,
    );
  }
}

function describeResource(resource: AuditResource): string {
  if (resource.model === undefined) return 'the registry';
  let out = `"${resource.model}"`;
  if (resource.version !== undefined) out += ` version ${resource.version}`;
  if (resource.alias !== undefined) out += ` (alias "${resource.alias}")`;
  return out;
}

/**
 * @module
 * Who may do what in the registry: the action names, `allowAll` (the default) and
 * `roleAuthorizer`, which grants actions to roles with `*` wildcards.
 */

import { z } from 'zod';
import { actorSchema } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import { grantsSchema } from './schemas.js';
import type { Authorizer } from './types.js';

/** Every action the registry asks its {@link Authorizer} about. */
export const RegistryActions = {
  /** `createModel`, and `registerVersion` of a new model. */
  modelCreate: 'model:create',
  /** `registerVersion`. */
  versionRegister: 'version:register',
  /** `archiveVersion`. */
  versionArchive: 'version:archive',
  /** `approve`. */
  versionApprove: 'version:approve',
  /** `setAlias` (and a router's promotion). */
  aliasSet: 'alias:set',
  /** `deleteAlias`. */
  aliasDelete: 'alias:delete',
  /** `rollback`. */
  aliasRollback: 'alias:rollback',
  /** `gc`: deleting unreferenced artifacts. */
  registryGc: 'registry:gc',
} as const;

/** One of {@link RegistryActions}. */
export type RegistryAction = (typeof RegistryActions)[keyof typeof RegistryActions];

/**
 * The default authorizer: everyone may do everything.
 *
 * Never throws.
 */
export const allowAll: Authorizer = () => true;

/**
 * Grants actions to roles. An actor may perform an action when one of its roles (or the
 * role `*`, which every actor has) grants it. A grant is an action (`alias:set`), a
 * prefix wildcard (`alias:*`) or `*` (everything).
 *
 * @throws {ValidationError} when `grants` is not an object of role to arrays of grants.
 *
 * @example
 * ```ts
 * const authorizer = roleAuthorizer({
 *   trainer: ['model:create', 'version:register'],
 *   releaser: ['alias:*', 'version:approve'],
 *   admin: ['*'],
 * });
 * ```
 */
export function roleAuthorizer(grants: Record<string, string[]>): Authorizer {
  const checked = parseWith(grantsSchema, grants, 'role grants');
  const table = new Map<string, readonly string[]>(Object.entries(checked));
  return (request) => {
    const { actor, action } = parseWith(requestSchema, request, 'authorization request');
    const roles = ['*', ...(actor.roles ?? [])];
    return roles.some((role) =>
      (table.get(role) ?? []).some((grant) => grantMatches(grant, action)),
    );
  };
}

const requestSchema = z.looseObject({ actor: actorSchema, action: z.string() });

function grantMatches(grant: string, action: string): boolean {
  if (grant === '*' || grant === action) return true;
  return grant.endsWith(':*') && action.startsWith(grant.slice(0, -1));
}

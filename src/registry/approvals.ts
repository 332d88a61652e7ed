/**
 * @module
 * Approvals: an actor with an approver role approves one version for one alias (once per
 * actor; repeating it is harmless), and the approvals recorded so far.
 */
import { isoNow } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import { parseWith } from '../core/validate.js';
import type { ChangeWrite } from './audit.js';
import { RegistryActions } from './authorizer.js';
import type { RegistryContext } from './context.js';
import { archivedError } from './errors.js';
import { deny, guard } from './guard.js';
import { readVersion } from './numbering.js';
import { findPolicy, hasRole } from './policies.js';
import {
  type ApprovalsDoc,
  approvalsKey,
  asApprovalsDoc,
  freeze,
  readApprovals,
} from './records.js';
import { aliasSchema, approveSchema, modelNameSchema, versionNumberSchema } from './schemas.js';
import type { Approval, AuditResource, Registry } from './types.js';

/** `approve` and `approvals`. */
export function approvalMethods(ctx: RegistryContext): Pick<Registry, 'approve' | 'approvals'> {
  const { metadata } = ctx;
  return {
    async approve(name, version, opts) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      if (opts === undefined || opts === null) {
        throw new ValidationError(
          '[keel] invalid approve options: pass { alias } (the alias the approval is for)',
        );
      }
      const o = parseWith(approveSchema, opts, 'approve options');
      const actor = o.actor ?? ctx.defaultActor;
      const resource: AuditResource = { model, alias: o.alias, version: target };
      const action = RegistryActions.versionApprove;
      await guard(ctx, actor, action, resource);
      const policy = findPolicy(ctx.policies, model, o.alias);
      if (policy?.approverRoles !== undefined && !hasRole(actor, policy.approverRoles)) {
        await deny(
          ctx,
          actor,
          action,
          resource,
          `the policy of alias "${o.alias}" accepts approvals only from the roles ${policy.approverRoles.join(', ')}`,
        );
      }
      const key = approvalsKey(model, target, o.alias);
      const record = {
        actor,
        action,
        resource,
        details: { outcome: 'ok', ...(o.comment === undefined ? {} : { comment: o.comment }) },
      };
      await ctx.audit.commit(async () => {
        const { record: approved } = await readVersion(metadata, model, target);
        if (approved.status === 'archived') throw archivedError(model, target, o.alias);
        const found = await metadata.get(key);
        const doc: ApprovalsDoc =
          found === undefined ? { approvals: [] } : asApprovalsDoc(found.value, key);
        // Approving again changes nothing, but the attempt is still recorded.
        if (doc.approvals.some((a) => a.actor.id === actor.id)) {
          return { changes: [{ writes: [], record }], result: undefined };
        }
        const approval: Approval = {
          model,
          version: target,
          alias: o.alias,
          actor,
          at: isoNow(ctx.clock),
          ...(o.comment === undefined ? {} : { comment: o.comment }),
        };
        const write: ChangeWrite = {
          key,
          value: { approvals: [...doc.approvals, approval] } as unknown as JsonValue,
          ifRevision: found?.revision ?? null,
          ...(found === undefined ? {} : { previous: found.value }),
        };
        return { changes: [{ writes: [write], record }], result: undefined };
      });
      ctx.emit('version:approved', { model, version: target, alias: o.alias, actor: actor.id });
    },

    async approvals(name, version, alias) {
      const model = parseWith(modelNameSchema, name, 'model name');
      const target = parseWith(versionNumberSchema, version, 'version number');
      const checkedAlias = parseWith(aliasSchema, alias, 'alias');
      return freeze(await readApprovals(metadata, model, target, checkedAlias));
    },
  };
}

/**
 * @module
 * The errors of an audit commit: each says whether the change was made, and what to do.
 */
import {
  ConflictError,
  IntegrityError,
  isKeelError,
  KeelError,
  StorageError,
  TimeoutError,
  ValidationError,
} from '../core/errors.js';
import type { Change } from './audit.js';

/** How long a commit keeps retrying while other writers keep getting in first (ms). */
export const CONTENTION_MS = 30_000;

/** The actions of `changes`, as an error message names them. */
export function describe(changes: readonly Change[]): string {
  if (changes.length === 0) return 'the audit append';
  return changes.map((c) => c.record.action).join(' + ');
}

/** The message of a cause, without its `[keel]` prefix. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^\[keel\] /, '') : String(error);
}

/** The store refused the change and its entries together: the same kind of error, saying so. */
export function notCommitted(error: unknown, changes: readonly Change[]): KeelError {
  const message = `[keel] [registry] ${describe(changes)} was not made: the change and its audit entry are written together and the store refused them (${messageOf(error)}); nothing was changed`;
  const options = { cause: error };
  if (!isKeelError(error)) return new StorageError(message, options);
  const Kind = ERROR_KINDS[error.code];
  return Kind === undefined
    ? new KeelError(error.code, message, {
        ...options,
        ...(error.details ? { details: error.details } : {}),
      })
    : new Kind(message, { ...options, ...(error.details ? { details: error.details } : {}) });
}

const ERROR_KINDS: Record<
  string,
  new (
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) => KeelError
> = {
  KEEL_INTEGRITY: IntegrityError,
  KEEL_STORAGE: StorageError,
  KEEL_VALIDATION: ValidationError,
  KEEL_TIMEOUT: TimeoutError,
  KEEL_CONFLICT: ConflictError,
};

/** Entries after the head that no registry wrote: nothing is written on top of them. */
export function foreignTail(at: number, changes: readonly Change[]): IntegrityError {
  return new IntegrityError(
    `[keel] [registry] ${changes.length > 0 ? `${describe(changes)} was not made: ` : ''}the audit log has entries after its head (from offset ${at}) that no registry wrote; nothing was changed. Run verifyAudit() and investigate before writing again`,
    { details: { offset: at } },
  );
}

/** The log ends before the entry its head records: entries were removed from the end. */
export function missingTail(next: number, changes: readonly Change[]): IntegrityError {
  return new IntegrityError(
    `[keel] [registry] ${changes.length > 0 ? `${describe(changes)} was not made: ` : ''}the audit log ends before offset ${next - 1}, the last entry its head records: entries were removed from the end; nothing was changed. Restore the audit log from a backup (verifyAudit() says where it ends)`,
    { details: { offset: next - 1 } },
  );
}

/** Other writers kept winning for {@link CONTENTION_MS}. */
export function contended(changes: readonly Change[]): ConflictError {
  return new ConflictError(
    `[keel] [registry] ${describe(changes)} was not made: other writers kept changing the registry for ${CONTENTION_MS / 1000} s; nothing was changed, retry`,
  );
}

/** The audit lease ran out before the change was written. */
export function leaseExpired(): ConflictError {
  return new ConflictError(
    '[keel] [registry] the audit lease expired before the change was written (the process was paused or the store is slow); raise auditLeaseMs if this repeats',
  );
}

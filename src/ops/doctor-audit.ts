/**
 * @module
 * The audit-chain step of `keel.doctor()`: the registry's verification, and when it fails a
 * head rebuilt from the log where the log proves it (see registry/audit-repair.ts).
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import { GENESIS_HASH } from '../registry/audit-chain.js';
import { AUDIT_HEAD, AUDIT_LOG } from '../registry/records.js';
import type { AuditVerification } from '../registry/types.js';
import type { DoctorContext, DoctorFinding, DoctorReport } from './doctor.js';

/**
 * Verifies the audit chain; when it fails, rebuilds the head if the log proves it (not on a
 * dry run), and verifies again.
 */
export async function checkAudit(
  audit: NonNullable<DoctorContext['audit']>,
  report: DoctorReport,
  dryRun: boolean,
  found: (finding: DoctorFinding) => DoctorFinding,
  resolved: Set<DoctorFinding>,
): Promise<void> {
  const first = await verifyTolerant(audit);
  if (first.ok) {
    report.checked.auditEntries = first.entries;
    return;
  }
  const repair = await audit.repairHead({ dryRun });
  const rebuilt = repair.outcome === 'rebuilt';
  const finding = found({
    kind: 'audit',
    key: AUDIT_LOG,
    ...(first.firstBadOffset === undefined ? {} : { offset: first.firstBadOffset }),
    reason: first.reason ?? 'the audit chain does not verify',
    remedy: rebuilt
      ? `${dryRun ? 'keel.doctor() rebuilds' : 'rebuilt'} the head document ${AUDIT_HEAD} from the log: ${repair.reason}`
      : repair.reason,
  });
  if (!rebuilt || dryRun) {
    report.checked.auditEntries = first.entries;
    return;
  }
  report.repaired.push({ action: 'rebuilt', key: AUDIT_LOG, to: AUDIT_HEAD });
  const after = await verifyTolerant(audit);
  report.checked.auditEntries = after.entries;
  if (after.ok) resolved.add(finding);
  else
    found({
      kind: 'audit',
      key: AUDIT_LOG,
      ...(after.firstBadOffset === undefined ? {} : { offset: after.firstBadOffset }),
      reason: after.reason ?? 'the audit chain does not verify',
      remedy: 'restore the audit log and its head from a backup',
    });
}

/** The registry's verification, with an unreadable or malformed head as a failed one. */
async function verifyTolerant(
  audit: NonNullable<DoctorContext['audit']>,
): Promise<AuditVerification> {
  try {
    return await audit.verify();
  } catch (error) {
    if (!isKeelError(error, ErrorCodes.integrity) && !isKeelError(error, ErrorCodes.storage))
      throw error;
    return {
      ok: false,
      entries: 0,
      firstBadOffset: 0,
      reason: error.message,
      headHash: GENESIS_HASH,
    };
  }
}

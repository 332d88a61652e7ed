/**
 * @module
 * Which logs `keel.doctor()` reads, and how one is checked: every log the store names (its
 * `listLogs` capability), or, for a store that cannot name its logs, the ones keel knows of
 * (the tracker's journal and each run's metric log). The audit log is left to the registry's
 * own verification, and superseded journal generations to nobody: nothing reads them.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { MetadataStore } from '../metadata/types.js';
import { AUDIT_LOG } from '../registry/records.js';
import { isJournalLog } from '../tracking/journal-head.js';
import { TRACKING_ROOT, trackingKeys } from '../tracking/records.js';

/** The logs to check, and whether that is every log the store holds. */
export interface LogsToCheck {
  logs: string[];
  /** False when the store cannot name its logs (no `listLogs`): logs keel does not know of went unchecked. */
  complete: boolean;
}

/** The logs `keel.doctor()` reads: `journal` (the one in use), and the rest as above. */
export async function logsToCheck(
  metadata: MetadataStore,
  journal: string,
  runIds: readonly string[],
): Promise<LogsToCheck> {
  const known = [journal, ...runIds.map((id) => trackingKeys.metricsLog(id))];
  if (metadata.capabilities?.listLogs !== true || typeof metadata.listLogs !== 'function') {
    return { logs: known, complete: false };
  }
  const logs = new Set<string>([journal]);
  for await (const log of metadata.listLogs('')) {
    if (log === AUDIT_LOG || (isJournalLog(log) && log !== journal)) continue;
    logs.add(log);
  }
  return { logs: [...logs], complete: true };
}

/** Where a log is damaged. */
export interface LogDamage {
  /** The offset of the first entry that cannot be read. */
  offset: number;
  reason: string;
}

/**
 * Reads a log through; returns where and why it is damaged (or `undefined`) and how many
 * entries it read.
 *
 * @throws {StorageError} (or a custom store's own error) when the store fails for another reason
 *   than a damaged record.
 */
export async function checkLog(
  metadata: MetadataStore,
  log: string,
): Promise<{ entries: number; damage?: LogDamage }> {
  let entries = 0;
  let next = 0;
  try {
    for await (const { offset } of metadata.read(log)) {
      entries++;
      next = offset + 1;
    }
    return { entries };
  } catch (error) {
    if (!isKeelError(error, ErrorCodes.integrity)) throw error;
    const offset = error.details?.offset;
    return {
      entries,
      damage: { offset: typeof offset === 'number' ? offset : next, reason: error.message },
    };
  }
}

/** What to do about a damaged log that `keel.doctor()` cannot mend (every log but the journal). */
export function logRemedy(log: string, offset: number): string {
  const intact = `entries before offset ${offset} are intact; the log is kept as it is (a log cannot be mended through the storage contract) and appends to it are refused`;
  if (log.startsWith(`${TRACKING_ROOT}/metrics/`)) {
    return `restore this run's metric log from a backup (${intact})`;
  }
  if (/^pipelines\/.+\/runs\/[^/]+$/.test(log)) {
    return `restore this pipeline run log from a backup, or start a new run instead of resuming from this one (${intact})`;
  }
  return `restore this log from a backup (${intact})`;
}

/**
 * @module
 * `keel.doctor()`: checks every document, every log and every blob of a store, and the
 * registry's audit chain; quarantines the documents that are corrupt (a report under
 * `quarantine/`, never a silent delete), rebuilds the tracker's journal and search cache from
 * the run documents, and rebuilds a missing or stale audit head when the log proves it.
 *
 * It works over the two storage contracts only. A log cannot be mended in place through
 * them, so a damaged journal is replaced by a new journal generation (see journal-head.ts);
 * any other damaged log, a broken audit chain or a damaged blob is reported, not touched:
 * only a backup can restore it.
 */
import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/types.js';
import type { Clock } from '../core/clock.js';
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { JsonValue } from '../core/json.js';
import { parseWith } from '../core/validate.js';
import type { MetadataStore } from '../metadata/types.js';
import type { AuditHeadRepair } from '../registry/audit-repair.js';
import { AUDIT_HEAD, asAuditHead } from '../registry/records.js';
import type { AuditVerification } from '../registry/types.js';
import { headToJson, JOURNAL_HEAD_KEY, journalLog, parseHead } from '../tracking/journal-head.js';
import { type RunDocument, runFromJson, trackingKeys } from '../tracking/records.js';
import { HEAD_CHECK_MS } from '../tracking/run-index.js';
import type { CorruptRecord, TrackerEvents } from '../tracking/types.js';
import { checkAudit } from './doctor-audit.js';
import { checkLog, logRemedy, logsToCheck } from './doctor-logs.js';

/** Options of `keel.doctor()`. */
export interface DoctorOptions {
  /** Only check and report: nothing is moved, deleted or rebuilt. Default false. */
  dryRun?: boolean;
  /** Rebuild the tracker's journal and search cache even when nothing is damaged. Default false. */
  rebuildIndexes?: boolean;
}

/** One damaged record `keel.doctor()` found. */
export interface DoctorFinding {
  /** What holds it: `audit` is the registry's audit chain (its log and head document). */
  kind: 'document' | 'log' | 'blob' | 'audit';
  /** The document key, log name (`registry/audit` for the audit chain) or blob digest. */
  key: string;
  /** For a log: the offset of the first entry that cannot be read (or that does not verify). */
  offset?: number;
  /** What is wrong, in the store's (or the audit verification's) words. */
  reason: string;
  /** What was done about it, or what to do. */
  remedy: string;
}

/** One change `keel.doctor()` made. */
export interface DoctorRepair {
  /** `quarantined`: a document moved out of the way; `rebuilt`: an index or head written anew. */
  action: 'quarantined' | 'rebuilt';
  /** The document key or log name repaired (`registry/audit` for the audit chain). */
  key: string;
  /** Where it went: the quarantine document, the new journal log, or the audit head document. */
  to: string;
}

/** What `keel.doctor()` found and did. */
export interface DoctorReport {
  /** Whether the store is sound now: nothing was damaged, or every damage was repaired. */
  ok: boolean;
  /** Whether this was a dry run (nothing changed). */
  dryRun: boolean;
  /** How much was checked. */
  checked: {
    /** Metadata documents read (quarantined ones excluded), damaged ones included. */
    documents: number;
    /** Append-only logs read through: every log the store holds (see `unchecked`) but the audit log. */
    logs: number;
    /** Entries read from those logs, up to the first damaged one of each. */
    logEntries: number;
    /** Artifact blobs read through and verified against their digest. */
    blobs: number;
    /** Registry audit entries that verified. */
    auditEntries: number;
  };
  /**
   * What could not be checked: e.g. the logs keel does not know of, on a store that cannot name
   * its logs (no `listLogs`); or the audit chain, when no registry was given. Empty normally.
   */
  unchecked: string[];
  /** Every damaged record found. */
  corrupt: DoctorFinding[];
  /** Every change made (none on a dry run). */
  repaired: DoctorRepair[];
  /** The document the report was stored in (`quarantine/<time>/report`), unless dry run or nothing was found. */
  reportKey?: string;
}

/** What `keel.doctor()` works on. */
export interface DoctorContext {
  metadata: MetadataStore;
  artifacts: ArtifactStore;
  clock: Clock;
  /** Waits (tests pass a fast one); default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Called once per damaged record found (keel emits `store:corrupt`). */
  emit?: Emit<Pick<TrackerEvents, 'store:corrupt'>>;
  /**
   * The registry's audit chain: `verify` is the registry's `verifyAudit`, `repairHead` rebuilds
   * a missing or stale head when the log proves it (`createKeel` passes both, with its `auditKey`).
   */
  audit?: {
    verify(): Promise<AuditVerification>;
    repairHead(opts: { dryRun: boolean }): Promise<AuditHeadRepair>;
  };
}

const optionsSchema = z
  .object({ dryRun: z.boolean().optional(), rebuildIndexes: z.boolean().optional() })
  .strict();

/** The prefix under which `keel.doctor()` keeps what it moved out of the way. */
export const QUARANTINE_PREFIX = 'quarantine/';

/** The `format` of a quarantine document. */
export const QUARANTINE_FORMAT = 'keel.quarantine/1';

/**
 * Checks the store and repairs what can be repaired without a backup. See {@link DoctorReport}.
 *
 * @throws {StorageError} (or the store's own error) when the store cannot be read at all;
 *   a damaged record is reported, never thrown.
 */
export async function runDoctor(
  ctx: DoctorContext,
  options?: DoctorOptions,
): Promise<DoctorReport> {
  const opts = parseWith(optionsSchema, options ?? {}, 'doctor options');
  const dryRun = opts.dryRun === true;
  const stamp = String(ctx.clock.now());
  const report: DoctorReport = {
    ok: true,
    dryRun,
    checked: { documents: 0, logs: 0, logEntries: 0, blobs: 0, auditEntries: 0 },
    unchecked: [],
    corrupt: [],
    repaired: [],
  };
  // the findings whose damage this run repaired
  const resolved = new Set<DoctorFinding>();
  const found = (finding: DoctorFinding): DoctorFinding => {
    report.corrupt.push(finding);
    const record: CorruptRecord = { key: finding.key, reason: finding.reason };
    if (finding.offset !== undefined) record.offset = finding.offset;
    ctx.emit?.('store:corrupt', record);
    return finding;
  };

  // documents: the store's own check (it parses each), then the tracker's for run documents
  const runs: RunDocument[] = [];
  const quarantine: {
    key: string;
    reason: string;
    finding: DoctorFinding;
    value?: JsonValue;
    revision?: string;
  }[] = [];
  const quarantined = (key: string, reason: string) =>
    found({
      kind: 'document',
      key,
      reason,
      remedy: dryRun
        ? 'keel.doctor() moves it to quarantine/ (restore it from a backup if it matters)'
        : 'moved to quarantine/ (restore it from a backup if it matters)',
    });
  let head: { generation: number; log: string; revision: string | undefined; readable: boolean } = {
    generation: 0,
    log: journalLog(0),
    revision: undefined,
    readable: true,
  };
  await listTolerant(
    ctx.metadata,
    '',
    (key, value, revision) => {
      if (key.startsWith(QUARANTINE_PREFIX)) return;
      report.checked.documents++;
      if (key === JOURNAL_HEAD_KEY) {
        const parsed = parseHead(value, revision);
        head = {
          generation: parsed?.generation ?? 0,
          log: parsed?.log ?? journalLog(0),
          revision,
          readable: true,
        };
        return;
      }
      const check =
        key === AUDIT_HEAD
          ? () => asAuditHead(value, key)
          : key.startsWith(trackingKeys.runsPrefix)
            ? () => runs.push(runFromJson(key, value))
            : undefined;
      try {
        check?.();
      } catch (error) {
        // a run that is not a run, an audit head that is not a head (the registry rebuilds it)
        if (!isKeelError(error, ErrorCodes.integrity) && !isKeelError(error, ErrorCodes.storage))
          throw error;
        const finding = quarantined(key, error.message);
        quarantine.push({ key, reason: error.message, finding, value, revision });
      }
    },
    (key, reason) => {
      report.checked.documents++;
      // a document the store cannot name cannot be moved: reported for a restore by hand
      if (key === undefined) {
        found({
          kind: 'document',
          key: '(unnamed document)',
          reason,
          remedy:
            'the store does not say which document it is, so it cannot be moved: find it from the reason and restore it from a backup',
        });
        return;
      }
      quarantine.push({ key, reason, finding: quarantined(key, reason) });
      if (key === JOURNAL_HEAD_KEY)
        head = { generation: 0, log: journalLog(0), revision: undefined, readable: false };
    },
  );

  // logs: every log the store names (or the tracker's, when it cannot name them)
  const journal = head.log;
  const { logs, complete } = await logsToCheck(
    ctx.metadata,
    journal,
    runs.map(({ run }) => run.id),
  );
  if (!complete) {
    report.unchecked.push(
      'logs other than the tracker journal and metric logs: this store cannot name its logs (no listLogs capability)',
    );
  }
  let journalFinding: DoctorFinding | undefined;
  for (const log of logs) {
    report.checked.logs++;
    const { entries, damage } = await checkLog(ctx.metadata, log);
    report.checked.logEntries += entries;
    if (damage === undefined) continue;
    const remedy =
      log !== journal
        ? logRemedy(log, damage.offset)
        : dryRun
          ? 'keel.doctor() writes a new journal generation from the run documents'
          : 'replaced by a new journal generation written from the run documents';
    const finding = found({ kind: 'log', key: log, ...damage, remedy });
    if (log === journal) journalFinding = finding;
  }

  // blobs: each one read through, which verifies its digest
  for await (const meta of ctx.artifacts.list()) {
    report.checked.blobs++;
    try {
      for await (const _chunk of ctx.artifacts.stream(meta.digest)) {
        // reading is the check
      }
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity) && !isKeelError(error, ErrorCodes.notFound))
        throw error;
      found({
        kind: 'blob',
        key: meta.digest,
        reason: error.message,
        remedy:
          'restore the blob from a backup, or put the same bytes again (the store verifies them and replaces the bad copy); it is kept as it is',
      });
    }
  }

  if (!dryRun) {
    for (const item of quarantine) {
      const to = `${QUARANTINE_PREFIX}${stamp}/${item.key}`;
      const doc: Record<string, JsonValue> = {
        format: QUARANTINE_FORMAT,
        key: item.key,
        reason: item.reason,
        quarantinedAt: new Date(ctx.clock.now()).toISOString(),
      };
      // a document the store cannot parse has no value to keep: the report says so
      if (item.value !== undefined) doc.value = item.value;
      else doc.note = 'the store could not parse this document; its bytes are not kept';
      await ctx.metadata.put(to, doc);
      await ctx.metadata.delete(
        item.key,
        item.revision === undefined ? undefined : { ifRevision: item.revision },
      );
      report.repaired.push({ action: 'quarantined', key: item.key, to });
      resolved.add(item.finding);
    }
    if (journalFinding !== undefined || opts.rebuildIndexes === true || !head.readable) {
      const next = head.readable ? head.generation + 1 : Math.max(1, ctx.clock.now());
      const log = await rebuildJournal(ctx, runs, next, head.readable ? head.revision : undefined);
      report.repaired.push({ action: 'rebuilt', key: journal, to: log });
      if (journalFinding !== undefined) resolved.add(journalFinding);
    }
  }

  // the audit chain, after the quarantine: a head that was not a head is now missing
  if (ctx.audit === undefined) report.unchecked.push('the registry audit chain: no registry given');
  else await checkAudit(ctx.audit, report, dryRun, found, resolved);

  report.ok = report.corrupt.every((f) => resolved.has(f));
  if (!dryRun && report.corrupt.length > 0) {
    report.reportKey = `${QUARANTINE_PREFIX}${stamp}/report`;
    await ctx.metadata.put(report.reportKey, {
      format: QUARANTINE_FORMAT,
      report: report as unknown as JsonValue,
    });
  }
  return report;
}

/**
 * Writes journal generation `generation` (one entry per run, at its current sequence
 * number), then points the head document at it, then announces again the runs written in
 * between, and drops the search snapshot (a cache of the old journal). Returns the new log.
 */
async function rebuildJournal(
  ctx: DoctorContext,
  runs: readonly RunDocument[],
  generation: number,
  headRevision: string | undefined,
): Promise<string> {
  const log = journalLog(generation);
  const announced = new Map<string, number>();
  const entries = runs.map((doc): JsonValue => {
    announced.set(doc.run.id, doc.seq);
    return [doc.run.id, doc.seq];
  });
  await appendChunked(ctx.metadata, log, entries);
  // no snapshot: every process lists the runs again (some may have been quarantined)
  await ctx.metadata.put(
    JOURNAL_HEAD_KEY,
    headToJson({ generation, log, revision: null }, new Date(ctx.clock.now()).toISOString()),
    { ifRevision: headRevision ?? null },
  );
  // a writer reads the head at most HEAD_CHECK_MS late: once that passed, the runs written
  // in between (announced on the old journal) are announced again on the new one
  await (ctx.sleep ?? sleep)(2 * HEAD_CHECK_MS);
  const late: JsonValue[] = [];
  await listTolerant(
    ctx.metadata,
    trackingKeys.runsPrefix,
    (key, value) => {
      try {
        const doc = runFromJson(key, value);
        if ((announced.get(doc.run.id) ?? -1) < doc.seq) late.push([doc.run.id, doc.seq]);
      } catch {
        // a document damaged since the check: the next doctor run finds it
      }
    },
    () => {},
  );
  await appendChunked(ctx.metadata, log, late);
  await ctx.metadata.delete(trackingKeys.searchSnapshot).catch(() => false);
  return log;
}

/** Lists documents, handing each unreadable one to `onCorrupt` and going on after its key. */
async function listTolerant(
  metadata: MetadataStore,
  prefix: string,
  onDocument: (key: string, value: JsonValue, revision: string) => void,
  onCorrupt: (key: string | undefined, reason: string) => void,
): Promise<void> {
  let after: string | undefined;
  for (;;) {
    try {
      for await (const { key, value, revision } of metadata.list(
        prefix,
        after === undefined ? undefined : { after },
      )) {
        after = key;
        onDocument(key, value, revision);
      }
      return;
    } catch (error) {
      if (!isKeelError(error, ErrorCodes.integrity)) throw error;
      const key = error.details?.key;
      if (
        typeof key !== 'string' ||
        !key.startsWith(prefix) ||
        (after !== undefined && key <= after)
      ) {
        // the store does not say which document: nothing past it can be listed
        onCorrupt(undefined, error.message);
        return;
      }
      onCorrupt(key, error.message);
      after = key;
    }
  }
}

const APPEND_CHUNK = 1000;

async function appendChunked(
  metadata: MetadataStore,
  log: string,
  entries: readonly JsonValue[],
): Promise<void> {
  for (let i = 0; i < entries.length; i += APPEND_CHUNK)
    await metadata.append(log, entries.slice(i, i + APPEND_CHUNK));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

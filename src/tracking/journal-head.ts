/**
 * @module
 * The journal head document (`tracking/journal-head`): which journal log is in use, and for a
 * log started by compaction (ADR 0017), the search snapshot it starts from and the tail of the
 * log before it. Absent, the journal is the original `tracking/journal` (generation 0).
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import { trackingKeys } from './records.js';

/** The document naming the journal log in use, once `keel.doctor()` or compaction replaced the first one. */
export const JOURNAL_HEAD_KEY = 'tracking/journal-head';

/** The `format` of the journal head document. */
export const JOURNAL_HEAD_FORMAT = 'keel.journal-head/1';

/** Every journal log but the first is named under this prefix. */
export const JOURNALS_PREFIX = 'tracking/journals/';

/** A journal head as read from the store. */
export interface JournalHead {
  /** Grows by one with every new log (0: the original `tracking/journal`, no head document). */
  generation: number;
  /** The log every run-document write is announced in. */
  log: string;
  /** The stored revision of the head document (`null` when there is none). */
  revision: string | null;
  /** The search snapshot this generation starts from (compaction); absent after `keel.doctor()`. */
  snapshot?: string;
  /**
   * The log used before this one: its entries from `from` on were not in the snapshot yet,
   * and whoever starts from the snapshot reads them once. Absent after `keel.doctor()`, whose
   * new log names every run itself.
   */
  previous?: { log: string; from: number; snapshot?: string };
}

/** The head of a store without a head document: the original journal. */
export const FIRST_HEAD: JournalHead = {
  generation: 0,
  log: trackingKeys.journal,
  revision: null,
};

/** The log of journal generation `generation` as `keel.doctor()` names it (0 is the original `tracking/journal`). */
export function journalLog(generation: number): string {
  return generation === 0 ? trackingKeys.journal : `${JOURNALS_PREFIX}${generation}`;
}

/** The journal generation a stored head document names (0 when absent or not a head). */
export function journalGeneration(value: JsonValue | undefined): number {
  return parseHead(value, null)?.generation ?? 0;
}

/**
 * Reads a stored head document; `undefined` when it is not one. A head names its log (older
 * heads only their generation: the log is then {@link journalLog}).
 */
export function parseHead(
  value: JsonValue | undefined,
  revision: string | null,
): JournalHead | undefined {
  const doc = value as Record<string, unknown> | null | undefined;
  if (
    doc?.format !== JOURNAL_HEAD_FORMAT ||
    typeof doc.generation !== 'number' ||
    !Number.isSafeInteger(doc.generation) ||
    doc.generation <= 0
  ) {
    return undefined;
  }
  const generation = doc.generation;
  const log = isJournalLog(doc.log) ? doc.log : journalLog(generation);
  const head: JournalHead = { generation, log, revision };
  if (isSnapshotKey(doc.snapshot)) head.snapshot = doc.snapshot;
  const previous = doc.previous as Record<string, unknown> | null | undefined;
  if (
    previous !== null &&
    typeof previous === 'object' &&
    isJournalLog(previous.log) &&
    typeof previous.from === 'number' &&
    Number.isSafeInteger(previous.from) &&
    previous.from >= 0
  ) {
    head.previous = { log: previous.log, from: previous.from };
    if (isSnapshotKey(previous.snapshot)) head.previous.snapshot = previous.snapshot;
  }
  return head;
}

/** The head document for `head` (its `revision` is the store's, not stored). */
export function headToJson(head: JournalHead, createdAt: string): JsonValue {
  const doc: Record<string, JsonValue> = {
    format: JOURNAL_HEAD_FORMAT,
    generation: head.generation,
    log: head.log,
    createdAt,
  };
  if (head.snapshot !== undefined) doc.snapshot = head.snapshot;
  if (head.previous !== undefined) {
    const previous: Record<string, JsonValue> = {
      log: head.previous.log,
      from: head.previous.from,
    };
    if (head.previous.snapshot !== undefined) previous.snapshot = head.previous.snapshot;
    doc.previous = previous;
  }
  return doc;
}

/**
 * The journal head in use. A head document the store finds corrupt, or that is not a head,
 * counts as absent (`keel.doctor()` reports and replaces it).
 */
export async function readHead(metadata: MetadataStore): Promise<JournalHead> {
  let stored: Awaited<ReturnType<MetadataStore['get']>>;
  try {
    stored = await metadata.get(JOURNAL_HEAD_KEY);
  } catch (error) {
    if (isKeelError(error, ErrorCodes.integrity)) return FIRST_HEAD;
    throw error;
  }
  if (stored === undefined) return FIRST_HEAD;
  return parseHead(stored.value, stored.revision) ?? { ...FIRST_HEAD, revision: stored.revision };
}

/** Whether `key` names a journal log. */
export function isJournalLog(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    (key === trackingKeys.journal ||
      (key.startsWith(JOURNALS_PREFIX) &&
        /^[0-9a-z-]{1,64}$/.test(key.slice(JOURNALS_PREFIX.length))))
  );
}

/** Every search snapshot is stored under this prefix: `<prefix><id>/manifest` and its columns. */
export const SNAPSHOTS_PREFIX = 'tracking/snapshots/';

/** Whether `key` names a search snapshot (its id). */
export function isSnapshotKey(key: unknown): key is string {
  return typeof key === 'string' && /^[0-9a-z-]{1,64}$/.test(key);
}

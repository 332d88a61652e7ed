/**
 * @module
 * Journal compaction (ADR 0017): store what a process knows as a search snapshot, then start
 * a new, empty journal log that begins from it, by one compare-and-swap of the journal head.
 *
 * Crash-safe because nothing is changed in place: the snapshot is written under a fresh id
 * before the head names it (a compaction killed before the swap leaves only unused
 * documents), and the head keeps the position in the old log the snapshot is complete up to
 * (`previous`), so whoever starts from the snapshot reads the old log's rest once. Writers
 * re-read the head after each journal append and announce again in the new log when it
 * moved (run-store.ts): an entry that lands in the old log after the swap is therefore also
 * in the new one, and no acknowledged write is missed. Of two processes compacting at once,
 * the compare-and-swap lets one win; the other removes its snapshot.
 */
import { ErrorCodes, isKeelError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { MetadataStore } from '../metadata/types.js';
import { headToJson, JOURNAL_HEAD_KEY, JOURNALS_PREFIX, type JournalHead } from './journal-head.js';
import {
  deleteSnapshot,
  type PendingEntry,
  type SearchBase,
  type SnapshotRow,
  writeSnapshot,
} from './search-snapshot.js';

/** The steps of a compaction, as a test hook sees them. */
export type CompactionStep = 'snapshot' | 'head' | 'cleanup';

/** Called before each step of a compaction (tests: to crash or race there). */
export type CompactionHook = (step: CompactionStep) => Promise<void> | void;

/** What a process knows, taken at one instant, that a compaction stores. */
export interface CompactionState {
  /** The head the process follows (its revision is the compare-and-swap condition). */
  head: JournalHead;
  /** How far into `head.log` the state is complete. */
  from: number;
  /** Every run, sorted by id. */
  rows: readonly SnapshotRow[];
  /** The snapshot the rows that are not held whole come from. */
  base: SearchBase | undefined;
  /** Journal entries whose document had not landed. */
  pending: readonly PendingEntry[];
}

/**
 * Compacts: writes the snapshot, swaps the head to a new log that starts from it, then
 * removes the snapshot two generations old (no reader starts from it any more). Returns the
 * new head, or `undefined` when another compaction (or `keel.doctor()`) moved the head first.
 * @throws {StorageError} (or a custom store's own error) when the store fails (nothing the head
 *   names is changed then).
 */
export async function compactJournal(
  metadata: MetadataStore,
  state: CompactionState,
  now: string,
  hook?: CompactionHook,
): Promise<JournalHead | undefined> {
  const { head } = state;
  const generation = head.generation + 1;
  const id = `${generation}-${newId()}`;
  await hook?.('snapshot');
  try {
    await writeSnapshot(metadata, id, state.rows, state.base, state.pending, now);
  } catch (error) {
    // e.g. the snapshot it started from was removed meanwhile: nothing names this one
    await deleteSnapshot(metadata, id).catch(() => {});
    throw error;
  }
  await hook?.('head');
  const next: JournalHead = {
    generation,
    log: `${JOURNALS_PREFIX}${id}`,
    revision: null,
    snapshot: id,
    previous: { log: head.log, from: state.from },
  };
  if (head.snapshot !== undefined) next.previous!.snapshot = head.snapshot;
  try {
    const { revision } = await metadata.put(JOURNAL_HEAD_KEY, headToJson(next, now), {
      ifRevision: head.revision,
    });
    next.revision = revision;
  } catch (error) {
    await deleteSnapshot(metadata, id).catch(() => {});
    if (isKeelError(error, ErrorCodes.conflict)) return undefined;
    throw error;
  }
  await hook?.('cleanup');
  // readers of the head before this one start from its snapshot or read on from its log;
  // the one before that is no longer named by anything
  if (head.previous?.snapshot !== undefined)
    await deleteSnapshot(metadata, head.previous.snapshot).catch(() => {});
  return next;
}

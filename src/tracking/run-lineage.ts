/**
 * @module
 * Lineage from the search cache: the runs that produced or consumed a digest, from the runs
 * this process holds and the lineage columns of the snapshot it started from (whose runs are
 * read again, as they are now).
 */
import type { Digest } from '../core/digest.js';
import type { RunDocument } from './records.js';
import type { RunCache } from './run-cache.js';
import type { SearchBase } from './search-snapshot.js';
import type { Run } from './types.js';

/** What {@link runsOf} needs of the run index. */
export interface LineageSource {
  /** What is known of the runs. */
  cache: RunCache;
  /** Catches up with the journal. */
  catchUp(): Promise<void>;
  /** Forgets a snapshot that cannot be read any more (a damaged or removed one). */
  dropBase(base: SearchBase, error: unknown): Promise<void>;
  /** The documents of snapshot rows still at the snapshot's sequence number, by row. */
  fetchRows(base: SearchBase, rows: readonly number[]): Promise<Map<number, RunDocument>>;
}

/**
 * Catches up with the journal, then returns the runs that list `digest` among their outputs
 * (`producedBy`) and inputs (`consumedBy`), by run id (shared objects).
 *
 * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
 */
export async function runsOf(
  digest: Digest,
  index: LineageSource,
): Promise<{ producedBy: Run[]; consumedBy: Run[] }> {
  for (let attempt = 1; ; attempt++) {
    await index.catchUp();
    const base = index.cache.base;
    let refs: Awaited<ReturnType<SearchBase['refs']>> | undefined;
    if (base !== undefined) {
      try {
        refs = await base.refs();
      } catch (error) {
        await index.dropBase(base, error);
        continue;
      }
    }
    let stale = false;
    const pick = async (
      ids: Set<string> | undefined,
      rows: number[] | undefined,
      role: 'outputs' | 'inputs',
    ): Promise<Run[]> => {
      const found: Run[] = [];
      for (const id of ids ?? []) {
        const run = index.cache.held(id);
        if (run !== undefined) found.push(run);
      }
      if (base !== undefined && rows !== undefined) {
        const live = rows.filter((row) => base.superseded[row] === 0);
        const docs = await index.fetchRows(base, live);
        // a run written since the catch-up is taken again, as it is now (a few tries)
        if (docs.size < live.length) stale = true;
        for (const doc of docs.values()) found.push(doc.run);
      }
      return found
        .filter((run) => run[role].some((ref) => ref.digest === digest))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    };
    const producedBy = await pick(
      index.cache.heldRefs(digest, 'outputs'),
      refs?.produced.get(digest),
      'outputs',
    );
    const consumedBy = await pick(
      index.cache.heldRefs(digest, 'inputs'),
      refs?.consumed.get(digest),
      'inputs',
    );
    if (stale && attempt < 3) continue;
    return { producedBy, consumedBy };
  }
}

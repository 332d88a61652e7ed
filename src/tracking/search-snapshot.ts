/**
 * @module
 * Search snapshots (ADR 0017): every run's id and write sequence number, one column document
 * per searchable field and the lineage references, as of one journal position. A compaction
 * writes one and names it in the journal head; a new process loads its ids and only the
 * columns it searches ({@link SearchBase}), then follows the journal from there.
 *
 * Layout, under `tracking/snapshots/<id>/`: `manifest` (ids, sequence numbers, the column
 * list, the journal entries whose document had not landed), `c<n>` (one column each) and
 * `refs` (which rows produced or consumed each digest).
 */
import { ErrorCodes, IntegrityError, isKeelError } from '../core/errors.js';
import { type JsonValue, parseJsonSafe } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import { type FieldValue, fieldValue } from './filter/evaluate.js';
import { SNAPSHOTS_PREFIX } from './journal-head.js';
import { RUN_ID_PATTERN } from './records.js';
import {
  type Column,
  decodeColumn,
  decodeSeqs,
  EMPTY_COLUMN,
  encodeColumn,
  encodeIds,
  encodeSeqs,
  fieldOfColumn,
  forEachField,
} from './search-columns.js';
import type { Run } from './types.js';

/** The `format` of a snapshot manifest. */
export const SNAPSHOT_FORMAT = 'keel.search-snapshot/2';

/** Every run id has this many characters (see `RUN_ID_PATTERN`). */
const ID_LENGTH = 26;

/** A journal entry whose document write had not landed when the snapshot was taken. */
export type PendingEntry = [runId: string, seq: number, since: number];

/** Which rows produced (listed among outputs) or consumed (inputs) each digest. */
export interface RowRefs {
  produced: Map<string, number[]>;
  consumed: Map<string, number[]>;
}

/** The document keys of snapshot `id`. */
export function snapshotKeys(id: string): {
  manifest: string;
  column(n: number): string;
  refs: string;
} {
  const dir = `${SNAPSHOTS_PREFIX}${id}/`;
  return { manifest: `${dir}manifest`, column: (n) => `${dir}c${n}`, refs: `${dir}refs` };
}

/** The snapshot's documents are gone (a later compaction removed them): start from a newer one. */
export class SnapshotGone extends Error {
  constructor(readonly key: string) {
    super(`[keel] the search snapshot document ${key} is gone`);
  }
}

/**
 * The runs of a loaded snapshot: ids and sequence numbers in id order, and columns loaded on
 * first use. Rows that this process knows a newer document of are marked `superseded`.
 */
export class SearchBase {
  /** Rows whose run this process holds a document of at least the snapshot's sequence number. */
  readonly superseded: Uint8Array;
  private readonly loaded = new Map<string, Promise<Column>>();
  private refsLoaded: Promise<RowRefs> | undefined;

  constructor(
    private readonly metadata: MetadataStore,
    /** The snapshot's id. */
    readonly id: string,
    /** The number of rows. */
    readonly count: number,
    private readonly ids: string,
    /** The sequence number of each row's run document. */
    readonly seqs: Uint32Array,
    private readonly columns: ReadonlyMap<string, number>,
    /** Journal entries whose document had not landed. */
    readonly pending: readonly PendingEntry[],
  ) {
    this.superseded = new Uint8Array(count);
  }

  /** The run id of `row`. */
  idAt(row: number): string {
    return this.ids.slice(row * ID_LENGTH, (row + 1) * ID_LENGTH);
  }

  /** The row of run `runId`, or -1. */
  rowOf(runId: string): number {
    if (runId.length !== ID_LENGTH) return -1;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const id = this.idAt(mid);
      if (id === runId) return mid;
      if (id < runId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The names of the columns the snapshot has. */
  columnNames(): string[] {
    return [...this.columns.keys()];
  }

  /**
   * The column `name` (a column no row has a value in when the snapshot has none).
   * @throws {SnapshotGone} when its document was removed.
   * @throws {IntegrityError} when it is damaged.
   */
  column(name: string): Promise<Column> {
    const n = this.columns.get(name);
    if (n === undefined) return Promise.resolve(EMPTY_COLUMN);
    let column = this.loaded.get(name);
    if (column === undefined) {
      const key = snapshotKeys(this.id).column(n);
      column = this.metadata.get(key).then((stored) => {
        if (stored === undefined) throw new SnapshotGone(key);
        return decodeColumn(key, stored.value, name, this.count);
      });
      // a failed load is tried again next time
      column.catch(() => this.loaded.delete(name));
      this.loaded.set(name, column);
    }
    return column;
  }

  /**
   * Which rows produced or consumed each digest.
   * @throws {SnapshotGone} when its document was removed.
   * @throws {IntegrityError} when it is damaged.
   */
  refs(): Promise<RowRefs> {
    if (this.refsLoaded === undefined) {
      const key = snapshotKeys(this.id).refs;
      this.refsLoaded = this.metadata.get(key).then((stored) => {
        if (stored === undefined) throw new SnapshotGone(key);
        return decodeRefs(key, stored.value, this.count);
      });
      this.refsLoaded.catch(() => {
        this.refsLoaded = undefined;
      });
    }
    return this.refsLoaded;
  }
}

/**
 * Loads snapshot `id` (its manifest: ids, sequence numbers, column list).
 * @throws {SnapshotGone} when it does not exist.
 * @throws {IntegrityError} when it is malformed.
 */
export async function loadSnapshot(metadata: MetadataStore, id: string): Promise<SearchBase> {
  const key = snapshotKeys(id).manifest;
  const stored = await metadata.get(key);
  if (stored === undefined) throw new SnapshotGone(key);
  const doc = stored.value as Record<string, unknown> | null;
  const count = doc?.count;
  const malformed = (why: string) =>
    new IntegrityError(
      `[keel] the search snapshot ${key} is malformed (${why}); the runs are read instead: run keel.doctor() to rebuild the search snapshot`,
      { details: { key } },
    );
  if (
    doc === null ||
    typeof doc !== 'object' ||
    doc.format !== SNAPSHOT_FORMAT ||
    typeof count !== 'number' ||
    !Number.isSafeInteger(count) ||
    count < 0 ||
    typeof doc.ids !== 'string' ||
    doc.ids.length !== count * ID_LENGTH ||
    typeof doc.seqs !== 'string' ||
    !Array.isArray(doc.columns) ||
    !Array.isArray(doc.pending)
  ) {
    throw malformed('not a snapshot manifest');
  }
  const seqs = decodeSeqs(doc.seqs, count);
  if (seqs === undefined) throw malformed('bad sequence numbers');
  const ids = doc.ids;
  const columns = new Map<string, number>();
  for (const item of doc.columns) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || !Number.isSafeInteger(item[1]))
      throw malformed('bad column list');
    columns.set(item[0], item[1] as number);
  }
  const pending: PendingEntry[] = [];
  for (const item of doc.pending) {
    if (
      !Array.isArray(item) ||
      typeof item[0] !== 'string' ||
      typeof item[1] !== 'number' ||
      typeof item[2] !== 'number'
    )
      throw malformed('bad pending entry');
    pending.push([item[0], item[1], item[2]]);
  }
  return new SearchBase(metadata, id, count, ids, seqs, columns, pending);
}

/** One run of a snapshot being written: its document (read or written by this process) or its row in the old snapshot. */
export type SnapshotRow = { id: string; seq: number } & ({ run: Run } | { row: number });

/**
 * Writes snapshot `id`: `rows` (sorted by id, at most one per run) as columns, the lineage
 * references, then the manifest. Values of rows from `base` are copied from its columns, one
 * column at a time. Nothing refers to the snapshot until a journal head names it.
 * @throws {SnapshotGone} when a column of `base` is gone.
 * @throws {StorageError} (or a custom store's own error) when the store fails.
 */
export async function writeSnapshot(
  metadata: MetadataStore,
  id: string,
  rows: readonly SnapshotRow[],
  base: SearchBase | undefined,
  pending: readonly PendingEntry[],
  createdAt: string,
): Promise<void> {
  const keys = snapshotKeys(id);
  const kept = rows.filter((row) => RUN_ID_PATTERN.test(row.id));
  const names = new Set(base?.columnNames() ?? []);
  for (const item of kept) if ('run' in item) forEachField(item.run, (name) => names.add(name));
  const columns: JsonValue[] = [];
  for (const [n, name] of [...names].sort().entries()) {
    const old = base === undefined ? EMPTY_COLUMN : await base.column(name);
    const field = fieldOfColumn(name);
    const values = kept.map((item): FieldValue => {
      if (!('run' in item)) return old.at(item.row);
      return field === undefined ? item.run.experiment : fieldValue(item.run, field);
    });
    if (values.every((value) => value === undefined)) continue;
    await metadata.put(keys.column(n), encodeColumn(name, values));
    columns.push([name, n]);
  }
  await metadata.put(keys.refs, await encodeRefs(kept, base));
  await metadata.put(keys.manifest, {
    format: SNAPSHOT_FORMAT,
    count: kept.length,
    ids: encodeIds(kept.map((item) => item.id)),
    seqs: encodeSeqs(kept.map((item) => item.seq)),
    columns,
    pending: pending as unknown as JsonValue,
    createdAt,
  });
}

/** Removes every document of snapshot `id` (best effort: what is left is only unused space). */
export async function deleteSnapshot(metadata: MetadataStore, id: string): Promise<void> {
  const keys: string[] = [];
  try {
    for await (const { key } of metadata.list(`${SNAPSHOTS_PREFIX}${id}/`)) keys.push(key);
  } catch (error) {
    if (!isKeelError(error, ErrorCodes.integrity)) throw error;
  }
  // the manifest first: a snapshot without one is never loaded
  keys.sort((a, b) => (a.endsWith('/manifest') ? -1 : b.endsWith('/manifest') ? 1 : 0));
  for (const key of keys) await metadata.delete(key).catch(() => false);
}

async function encodeRefs(
  rows: readonly SnapshotRow[],
  base: SearchBase | undefined,
): Promise<JsonValue> {
  const produced = new Map<string, number[]>();
  const consumed = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, digest: string, row: number): void => {
    const list = map.get(digest);
    if (list === undefined) map.set(digest, [row]);
    else if (list[list.length - 1] !== row) list.push(row);
  };
  let old: RowRefs | undefined;
  const moved = new Map<number, number>();
  rows.forEach((item, index) => {
    if ('run' in item) {
      for (const ref of item.run.outputs) add(produced, ref.digest, index);
      for (const ref of item.run.inputs) add(consumed, ref.digest, index);
    } else moved.set(item.row, index);
  });
  if (base !== undefined && moved.size > 0) old = await base.refs();
  for (const [from, to] of [
    [old?.produced, produced],
    [old?.consumed, consumed],
  ] as const) {
    for (const [digest, oldRows] of from ?? []) {
      for (const row of oldRows) {
        const index = moved.get(row);
        if (index !== undefined) add(to, digest, index);
      }
    }
  }
  const sorted = (map: Map<string, number[]>) =>
    JSON.stringify([...map].map(([digest, list]) => [digest, list.sort((a, b) => a - b)]));
  return { format: SNAPSHOT_FORMAT, produced: sorted(produced), consumed: sorted(consumed) };
}

function decodeRefs(key: string, value: JsonValue, count: number): RowRefs {
  const doc = value as Record<string, unknown> | null;
  const read = (text: unknown): Map<string, number[]> => {
    if (typeof text !== 'string') throw new Error('missing');
    const list = parseJsonSafe(text);
    if (!Array.isArray(list)) throw new Error('not a list');
    const map = new Map<string, number[]>();
    for (const item of list) {
      if (!Array.isArray(item) || typeof item[0] !== 'string' || !Array.isArray(item[1]))
        throw new Error('bad entry');
      const rows = item[1] as unknown[];
      if (
        !rows.every(
          (row) => Number.isSafeInteger(row) && (row as number) >= 0 && (row as number) < count,
        )
      )
        throw new Error('bad row');
      map.set(item[0], rows as number[]);
    }
    return map;
  };
  try {
    if (doc?.format !== SNAPSHOT_FORMAT) throw new Error('not a snapshot document');
    return { produced: read(doc.produced), consumed: read(doc.consumed) };
  } catch (error) {
    throw new IntegrityError(
      `[keel] the search snapshot references ${key} are malformed (${(error as Error).message}): run keel.doctor() to rebuild the search snapshot`,
      { details: { key } },
    );
  }
}

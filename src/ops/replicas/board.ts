/**
 * @module
 * The replica board: where the replicas of one release (or one monitored deployment) publish
 * their evidence, one MetadataStore document per replica under a shared prefix. Each replica
 * writes only its own document (compare-and-swap on its last revision) and reads everyone's.
 * A peer whose document has not changed for `staleAfterMs` of this replica's clock is stale:
 * it drops out of the merge and its document is deleted (compare-and-swap, so a peer that
 * comes back and writes again is never lost). Staleness is judged by watching revisions with
 * the local clock, so clock skew between hosts does not matter.
 */
import type { Clock } from '../../core/clock.js';
import { ConflictError, isKeelError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import type { MetadataStore } from '../../metadata/types.js';

/** What a {@link ReplicaBoard} needs. */
export interface ReplicaBoardOptions {
  /** The shared store. */
  store: MetadataStore;
  /** The documents' common prefix, ending with `/`. */
  prefix: string;
  /** This replica's id (one key segment). */
  id: string;
  /** A peer whose document has not changed for this long is stale. */
  staleAfterMs: number;
  /** The local time source. */
  clock: Clock;
}

/** One live peer's published payload. */
export interface PeerEvidence {
  /** The peer's replica id. */
  id: string;
  /** What it published last. */
  payload: JsonValue;
}

/** Publishes this replica's evidence and reads its live peers'. */
export class ReplicaBoard {
  readonly #options: ReplicaBoardOptions;
  /** Tells this process's writes from another process that took the same id. */
  readonly #instance = randomHex();
  #revision: string | null = null;
  #seq = 0;
  readonly #seen = new Map<string, { revision: string; since: number }>();

  /** @param options store, prefix, id, staleness and clock. */
  constructor(options: ReplicaBoardOptions) {
    this.#options = options;
  }

  /** The key of this replica's document. */
  get key(): string {
    return this.#options.prefix + this.#options.id;
  }

  /**
   * Writes `payload` as this replica's document.
   *
   * @throws {ConflictError} when another process publishes under the same replica id.
   */
  async publish(payload: JsonValue): Promise<void> {
    const { store } = this.#options;
    const doc = { replica: this.#options.id, instance: this.#instance, seq: ++this.#seq, payload };
    try {
      this.#revision = (await store.put(this.key, doc, { ifRevision: this.#revision })).revision;
      return;
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
    // Our document was deleted as stale, or our last write's answer was lost: look, then write.
    const current = await store.get(this.key);
    const owner = (current?.value as { instance?: unknown } | undefined)?.instance;
    if (current && owner !== this.#instance) {
      throw new ConflictError(
        `[keel] replica id "${this.#options.id}" is published by another process; give each replica its own id (the default, hostname-pid-random, is unique)`,
      );
    }
    const ifRevision = current ? current.revision : null;
    this.#revision = (await store.put(this.key, doc, { ifRevision })).revision;
  }

  /** The live peers' payloads (not this replica's); deletes the documents of stale peers. */
  async peers(): Promise<PeerEvidence[]> {
    const { store, prefix, id, staleAfterMs, clock } = this.#options;
    const now = clock.now();
    const live: PeerEvidence[] = [];
    const listed = new Set<string>();
    for await (const entry of store.list(prefix)) {
      const peer = entry.key.slice(prefix.length);
      if (peer === id || peer.includes('/')) continue;
      listed.add(peer);
      const seen = this.#seen.get(peer);
      if (seen === undefined || seen.revision !== entry.revision) {
        this.#seen.set(peer, { revision: entry.revision, since: now });
      } else if (now - seen.since > staleAfterMs) {
        await store.delete(entry.key, { ifRevision: entry.revision }).catch(() => false);
        this.#seen.delete(peer);
        continue;
      }
      const payload = (entry.value as { payload?: JsonValue } | null)?.payload;
      if (payload !== undefined) live.push({ id: peer, payload });
    }
    for (const peer of this.#seen.keys()) if (!listed.has(peer)) this.#seen.delete(peer);
    return live;
  }

  /** Deletes this replica's document (it leaves the board); best effort. */
  async withdraw(): Promise<void> {
    if (this.#revision === null) return;
    const ifRevision = this.#revision;
    this.#revision = null;
    await this.#options.store.delete(this.key, { ifRevision }).catch(() => false);
  }
}

/**
 * A default replica id: the host name (from `HOSTNAME` or `COMPUTERNAME`, as containers and
 * Windows set them), the process id and 8 random hex digits, reduced to `[A-Za-z0-9._-]`.
 */
export function defaultReplicaId(): string {
  const proc = (
    globalThis as { process?: { pid?: number; env?: Record<string, string | undefined> } }
  ).process;
  const host = proc?.env?.HOSTNAME ?? proc?.env?.COMPUTERNAME ?? 'replica';
  const parts = [host.slice(0, 64), proc?.pid === undefined ? '' : String(proc.pid), randomHex()];
  return parts
    .filter((part) => part !== '')
    .join('-')
    .replace(/[^A-Za-z0-9._-]/g, '_');
}

/** A replica id: 1 to 128 of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const REPLICA_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function randomHex(): string {
  const bytes = new Uint8Array(4);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

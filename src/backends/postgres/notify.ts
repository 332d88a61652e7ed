/**
 * @module
 * Cross-process change notification for the PostgreSQL MetadataStore. A trigger on the
 * documents table runs `pg_notify(channel, key)` for every written or deleted document
 * under a prefix that some connection watches (delivered when its transaction commits,
 * never for a rolled-back one). This file holds the one connection per store that
 * `LISTEN`s on the channel while anyone watches, records its prefixes in the `watched`
 * table, and hands each key to the watchers whose prefix it starts with.
 *
 * A notification sent while the connection was down is lost, so whenever the connection
 * (re)starts listening, every watcher that was not covered gets one change whose `key` is
 * its own prefix: "anything under here may have changed, read again".
 */
import type { DocumentChange } from '../../metadata/types.js';
import type { PostgresNotification, PostgresPool, PostgresPoolClient } from './db.js';
import type { Statements } from './sql.js';

/** How often the listening connection is checked (ms): a silent network loss shows up here. */
const HEARTBEAT_MS = 15_000;
/** Backoff between reconnection attempts (ms): doubles from the first to the last, with jitter. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/** The listening side of a store. */
export interface Notifier {
  watch(prefix: string, onChange: (change: DocumentChange) => void): () => void;
  /** Stops listening and returns the connection to the pool. */
  close(): Promise<void>;
}

interface Watcher {
  prefix: string;
  onChange: (change: DocumentChange) => void;
  /** Whether every change since the watcher started reaches it (false until its prefix is registered). */
  covered: boolean;
}

/**
 * Creates the notifier of a schema; it connects (to the pool `getPool` gives, once the
 * schema is ready) on the first `watch`.
 */
export function createNotifier(
  getPool: () => Promise<PostgresPool>,
  sql: Pick<Statements, 'channel' | 'watchAdd' | 'watchRemove' | 'watchPrune' | 'watchClear'>,
): Notifier {
  const channel = sql.channel;
  const watchers = new Set<Watcher>();
  /** Prefixes recorded in `watched` for the current connection. */
  const registered = new Set<string>();
  let client: PostgresPoolClient | undefined;
  // idle: no connection wanted; connecting; listening; waiting: a reconnection is scheduled
  let phase: 'idle' | 'connecting' | 'listening' | 'waiting' = 'idle';
  let generation = 0;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const deliver = (watcher: Watcher, key: string): void => {
    // A listener that throws never breaks the others or the connection.
    try {
      watcher.onChange({ key });
    } catch {}
  };

  const onNotification = (message: PostgresNotification): void => {
    if (message.channel !== channel || message.payload === undefined) return;
    for (const watcher of watchers) {
      if (watcher.covered && message.payload.startsWith(watcher.prefix))
        deliver(watcher, message.payload);
    }
  };

  const schedule = (fn: () => void, ms: number): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
    (timer as { unref?: () => void }).unref?.();
  };

  /** Forgets the connection (destroying it) and invalidates its callbacks. */
  const drop = (): void => {
    const held = client;
    client = undefined;
    generation++;
    registered.clear();
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const watcher of watchers) watcher.covered = false;
    held?.release(true);
  };

  const lost = (mine: number): void => {
    if (mine !== generation || phase === 'idle') return;
    drop();
    if (watchers.size === 0 || closed) {
      phase = 'idle';
      return;
    }
    phase = 'waiting';
    failures++;
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** (failures - 1));
    schedule(() => void connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  };

  const heartbeat = (mine: number): void => {
    schedule(() => {
      if (mine !== generation || client === undefined) return;
      client.query('SELECT 1').then(
        () => heartbeat(mine),
        () => lost(mine),
      );
    }, HEARTBEAT_MS);
  };

  /**
   * Records every watched prefix for this connection, then tells each watcher that was not
   * covered yet that anything under its prefix may have changed (writes committed before
   * the record could not notify).
   */
  const cover = async (mine: number, held: PostgresPoolClient): Promise<void> => {
    for (const watcher of [...watchers]) {
      if (watcher.covered) continue;
      if (![...registered].some((p) => watcher.prefix.startsWith(p))) {
        await held.query(sql.watchAdd, [watcher.prefix]);
        if (mine !== generation) return;
        registered.add(watcher.prefix);
      }
      if (!watchers.has(watcher) || watcher.covered) continue;
      watcher.covered = true;
      deliver(watcher, watcher.prefix);
    }
  };

  async function connect(): Promise<void> {
    phase = 'connecting';
    const mine = ++generation;
    let connected: PostgresPoolClient;
    try {
      connected = await (await getPool()).connect();
    } catch {
      lost(mine);
      return;
    }
    if (mine !== generation) {
      connected.release();
      return;
    }
    client = connected;
    connected.on('notification', onNotification);
    connected.on('error', () => lost(mine));
    connected.on('end', () => lost(mine));
    try {
      await connected.query(`LISTEN "${channel}"`);
      await connected.query(sql.watchPrune);
      if (mine !== generation) return;
      phase = 'listening';
      await cover(mine, connected);
    } catch {
      lost(mine);
      return;
    }
    if (mine !== generation) return;
    failures = 0;
    heartbeat(mine);
  }

  /** Stops listening; the connection goes back to the pool. */
  const stop = async (): Promise<void> => {
    const held = client;
    client = undefined;
    phase = 'idle';
    generation++;
    registered.clear();
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (held === undefined) return;
    try {
      await held.query(`UNLISTEN "${channel}"`);
      await held.query(sql.watchClear);
      held.release();
    } catch {
      held.release(true);
    }
  };

  return {
    watch(prefix, onChange) {
      const watcher: Watcher = { prefix, onChange, covered: false };
      watchers.add(watcher);
      if (phase === 'idle' && !closed) void connect();
      else if (phase === 'listening' && client !== undefined) {
        const mine = generation;
        const held = client;
        cover(mine, held).catch(() => lost(mine));
      }
      return () => {
        if (!watchers.delete(watcher)) return;
        if (watchers.size === 0) {
          void stop();
          return;
        }
        if (
          client !== undefined &&
          registered.has(prefix) &&
          // a narrower watcher may rely on this prefix's record
          ![...watchers].some((w) => w.prefix.startsWith(prefix))
        ) {
          registered.delete(prefix);
          const mine = generation;
          client.query(sql.watchRemove, [prefix]).catch(() => lost(mine));
        }
      };
    },
    async close() {
      closed = true;
      watchers.clear();
      await stop();
    },
  };
}

/**
 * @module
 * The database handle of the PostgreSQL MetadataStore: the few members of a `pg.Pool` keel
 * uses (so the user's own pool fits, and the types need no `@types/pg`), a pool built from
 * a connection string when none is given, and how one statement runs: on a client from the
 * pool, retried with p-retry only when a retry cannot apply it twice, its failure turned
 * into a typed `KeelError`.
 */
import pRetry from 'p-retry';
import { ConflictError, isKeelError, StorageError, TimeoutError } from '../../core/errors.js';

/** The result of a query: keel reads only `rows`. */
export interface PostgresQueryResult {
  /** The returned rows, one object per row keyed by column name. */
  rows: unknown[];
}

/** A notification received by a `LISTEN`ing client. */
export interface PostgresNotification {
  /** The channel it was sent on (keel's change channel of the schema). */
  channel: string;
  /** The text sent with `NOTIFY` / `pg_notify`: for keel, the changed document key. */
  payload?: string | undefined;
}

/** A statement with its parameters; a `name` makes the connection prepare it once and reuse it. */
export interface PostgresQueryConfig {
  /** The prepared statement's name, unique per statement text. */
  name?: string;
  /** The SQL, with `$1`, `$2`, … placeholders. */
  text: string;
  /** The placeholders' values, in order. */
  values?: unknown[];
}

/** The members of a `pg.PoolClient` keel uses. */
export interface PostgresPoolClient {
  /** Runs one statement; rejects with the driver's error (keel turns it into a `KeelError`). */
  query(
    textOrConfig: string | PostgresQueryConfig,
    values?: unknown[],
  ): Promise<PostgresQueryResult>;
  /** Returns the client to the pool; a truthy argument destroys it instead. */
  release(destroy?: boolean | Error): void;
  /** Listens for `NOTIFY` messages on the channels this client `LISTEN`s to (keel's watch). */
  on(event: 'notification', listener: (message: PostgresNotification) => void): unknown;
  /** Listens for the connection's errors; keel treats one as a lost watch and reconnects. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Listens for the connection's end; keel treats it as a lost watch and reconnects. */
  on(event: 'end', listener: () => void): unknown;
}

/** The members of a `pg.Pool` keel uses: a user's `new pg.Pool(...)` fits as it is. */
export interface PostgresPool {
  /** Borrows a client; keel releases it when the statement (or the watch) is done. */
  connect(): Promise<PostgresPoolClient>;
  /** Closes every connection; keel calls it on `close()` only for a pool it built itself. */
  end(): Promise<void>;
}

/** How statements run: retries, timeouts and the adapter's name in messages. */
export interface Runner {
  /** Runs `fn` on a client; `idempotent` work is also retried when its outcome is unknown. */
  run<T>(
    what: string,
    idempotent: boolean,
    fn: (client: PostgresPoolClient) => Promise<T>,
  ): Promise<T>;
}

/** Retry budget of one call: attempts after the first, and the backoff range (ms). */
export interface RetryOptions {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

/**
 * Builds a `pg.Pool` from a connection string (with a server-side statement timeout),
 * loading `pg` only now so that importing `keel/postgres` never requires it.
 *
 * @throws {StorageError} when the `pg` package is not installed.
 */
export async function createPool(
  connectionString: string,
  statementTimeoutMs: number,
  max: number | undefined,
): Promise<PostgresPool> {
  let mod: { Pool?: unknown; default?: { Pool?: unknown } };
  try {
    mod = (await import('pg')) as typeof mod;
  } catch (error) {
    throw new StorageError(
      '[keel] [postgres] cannot load the "pg" package: install it (npm install pg) or pass your own { pool }',
      { cause: error },
    );
  }
  const Pool = (mod.Pool ?? mod.default?.Pool) as new (
    config: Record<string, unknown>,
  ) => PostgresPool & { on(event: 'error', listener: (error: Error) => void): unknown };
  const pool = new Pool({
    connectionString,
    statement_timeout: statementTimeoutMs,
    ...(max === undefined ? {} : { max }),
  });
  // An idle client that loses its connection is reported here; without a listener it
  // would crash the process. The next statement simply gets a fresh client.
  pool.on('error', () => {});
  return pool;
}

/** A {@link Runner} over `pool`. */
export function createRunner(pool: PostgresPool, retry: RetryOptions): Runner {
  const attempt = async <T>(
    idempotent: boolean,
    fn: (client: PostgresPoolClient) => Promise<T>,
  ): Promise<T> => {
    let client: PostgresPoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      // Nothing was sent: always safe to try again.
      throw new Attempt(error, true);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (error) {
      broken = isConnectionError(error);
      throw new Attempt(error, retryable(error, idempotent));
    } finally {
      client.release(broken);
    }
  };
  return {
    async run(what, idempotent, fn) {
      try {
        // The first attempt runs outside p-retry: most statements need no second one.
        return await attempt(idempotent, fn);
      } catch (error) {
        if (!(error instanceof Attempt) || !error.retry || retry.retries === 0) {
          throw toKeelError(error instanceof Attempt ? error.cause : error, what);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, retry.minTimeoutMs * (1 + Math.random())));
      try {
        return await pRetry(() => attempt(idempotent, fn), {
          retries: retry.retries - 1,
          minTimeout: retry.minTimeoutMs,
          maxTimeout: retry.maxTimeoutMs,
          randomize: true,
          shouldRetry: ({ error }) => error instanceof Attempt && error.retry,
        });
      } catch (error) {
        throw toKeelError(error instanceof Attempt ? error.cause : error, what);
      }
    },
  };
}

/** The SQLSTATE (or Node system error code) of a failure, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns a driver failure into a `KeelError` that says what to do (KeelErrors pass through). */
export function toKeelError(error: unknown, what: string): Error {
  if (isKeelError(error)) return error;
  const code = sqlState(error);
  const reason = error instanceof Error ? error.message : String(error);
  const details = { operation: what, ...(code === undefined ? {} : { code }) };
  if (code === '57014') {
    return new TimeoutError(
      `[keel] [postgres] ${what} was cancelled by the statement timeout: raise statementTimeoutMs, or look for locks held by other sessions (pg_stat_activity)`,
      { cause: error, details },
    );
  }
  if (code === '40001' || code === '40P01') {
    return new ConflictError(
      `[keel] [postgres] ${what} kept colliding with concurrent transactions (${reason}): retry it`,
      { cause: error, details },
    );
  }
  if (isConnectionError(error)) {
    return new StorageError(
      `[keel] [postgres] ${what} failed: the database connection failed (${reason}); check that PostgreSQL is reachable. A write may or may not have been applied: read before you retry it`,
      { cause: error, details },
    );
  }
  return new StorageError(`[keel] [postgres] ${what} failed: ${reason}`, {
    cause: error,
    details,
  });
}

/** Whether `error` means the connection itself failed (the statement's outcome is unknown). */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code === undefined) {
    // pg reports a dropped connection as a plain Error without a code
    return (
      error instanceof Error &&
      /Connection terminated|connection.*(closed|ended)/i.test(error.message)
    );
  }
  return (
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    NETWORK_CODES.has(code)
  );
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * A statement may be retried when the server rolled it back (serialization failure,
 * deadlock, a server that is starting), or when its outcome is unknown and running it
 * twice does no harm. A write whose connection broke might have committed: retrying a
 * compare-and-swap or an append would apply it twice, so it is not retried.
 */
function retryable(error: unknown, idempotent: boolean): boolean {
  const code = sqlState(error);
  if (code === '40001' || code === '40P01' || code === '57P03' || code === '53300') return true;
  return idempotent && isConnectionError(error);
}

/** Carries a failure through p-retry with the decision whether to try again. */
class Attempt extends Error {
  constructor(
    override readonly cause: unknown,
    readonly retry: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

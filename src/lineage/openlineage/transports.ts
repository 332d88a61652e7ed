/**
 * @module
 * Where OpenLineage events go: the transport contract, and the transports that run in any JS
 * runtime: HTTP (Marquez's `POST /api/v1/lineage`, retried with p-retry) and the console.
 * The file transport needs `node:fs` and lives in `keel/fs`.
 */
import pRetry, { AbortError } from 'p-retry';
import { z } from 'zod';
import { StorageError } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import type { OpenLineageRunEvent } from './spec.js';

/**
 * Sends OpenLineage events somewhere. keel calls `send` for one event at a time, in order,
 * from a bounded queue; a rejection (after the transport's own retries) drops the event.
 */
export interface OpenLineageTransport {
  /**
   * Delivers one event; resolves when it is delivered. keel catches what it throws or rejects
   * with and drops the event (counted), so a failure here never reaches a pipeline.
   *
   * @throws {StorageError} when one of keel's transports cannot deliver the event (after its
   *   retries); a transport of your own may throw anything.
   */
  send(event: OpenLineageRunEvent): void | Promise<void>;
  /**
   * Releases what the transport holds (files, sockets); called once by `keel.close()`.
   * keel's transports never throw here; what yours throws is reported in `stats().lastError`.
   */
  close?(): void | Promise<void>;
}

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions {
  /** The server's base URL, e.g. `http://localhost:5000` for Marquez. */
  url: string;
  /** The path under `url` events are posted to. Default `api/v1/lineage` (Marquez). */
  endpoint?: string;
  /** Sent as `Authorization: Bearer <apiKey>`, as OpenLineage clients do. */
  apiKey?: string;
  /** More request headers. */
  headers?: Record<string, string>;
  /** Time limit of one request. Default 5000 ms. */
  timeoutMs?: number;
  /** Retries after a failed request (network error, 408, 429, 5xx). Default 3. */
  retries?: number;
  /** Delay before the first retry, doubled for each next one. Default 250 ms. */
  minRetryDelayMs?: number;
  /** The fetch implementation. Default: the runtime's `fetch`. */
  fetch?: typeof fetch;
}

const httpOptionsSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  endpoint: z.string().max(2048).optional(),
  apiKey: z.string().min(1).max(8192).optional(),
  headers: z
    .record(
      z
        .string()
        .max(256)
        .regex(
          /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
          "a header name (letters, digits and !#$%&'*+.^_`|~-)",
        ),
      z.string().max(8192),
    )
    .optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  retries: z.number().int().min(0).max(20).optional(),
  minRetryDelayMs: z.number().int().min(0).max(60_000).optional(),
  fetch: z.custom<typeof fetch>((value) => typeof value === 'function').optional(),
});

/**
 * A transport that POSTs each event as JSON to `<url>/<endpoint>` (Marquez, and any server
 * with OpenLineage's HTTP API). A network error, a timeout, 408, 429 or a 5xx status is
 * retried with exponential backoff; another status fails at once. The queue in front of it
 * (see `createKeel({ openLineage })`) never blocks a pipeline: what cannot be delivered is
 * dropped and counted.
 *
 * @example
 * ```ts
 * const keel = createKeel({
 *   backend: memoryBackend(),
 *   openLineage: { transport: httpTransport({ url: 'http://localhost:5000' }), namespace: 'ml' },
 * });
 * ```
 * @throws {ValidationError} when an option is invalid (e.g. `url` is not an http(s) URL).
 */
export function httpTransport(options: HttpTransportOptions): OpenLineageTransport {
  const opts = parseWith(httpOptionsSchema, options, 'httpTransport options');
  const base = opts.url.endsWith('/') ? opts.url : `${opts.url}/`;
  const target = new URL((opts.endpoint ?? 'api/v1/lineage').replace(/^\/+/, ''), base).href;
  const headers: Record<string, string> = {
    ...opts.headers,
    'content-type': 'application/json',
  };
  if (opts.apiKey !== undefined) headers.authorization = `Bearer ${opts.apiKey}`;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? 5000;
  // close() ends a request or a backoff under way: keel.close() must not wait for retries
  const closed = new AbortController();
  return {
    async send(event) {
      const body = JSON.stringify(event);
      await pRetry(
        async () => {
          let response: Response;
          try {
            response = await doFetch(target, {
              method: 'POST',
              headers,
              body,
              signal: AbortSignal.any([closed.signal, AbortSignal.timeout(timeoutMs)]),
            });
          } catch (error) {
            throw new StorageError(
              `[keel] [openlineage] cannot reach ${target}: ${messageOf(error)}; check that the server runs`,
              { cause: error },
            );
          }
          // the body is not needed; reading it frees the connection
          await response.arrayBuffer().catch(() => undefined);
          if (response.ok) return;
          const failure = new StorageError(
            `[keel] [openlineage] ${target} answered ${response.status} ${response.statusText}`,
          );
          if (!retryable(response.status)) throw new AbortError(failure);
          throw failure;
        },
        {
          retries: opts.retries ?? 3,
          minTimeout: opts.minRetryDelayMs ?? 250,
          factor: 2,
          randomize: true,
          signal: closed.signal,
        },
      );
    },
    close() {
      closed.abort(new StorageError('[keel] [openlineage] the HTTP transport was closed'));
    },
  };
}

/** Options of {@link consoleTransport}. */
export interface ConsoleTransportOptions {
  /** Where each event goes as one line of JSON. Default: `console.log`. */
  write?: (line: string) => void;
}

/**
 * A transport that writes each event as one line of JSON (to `console.log`, or `write`):
 * for a first look, or for a log collector that ships stdout.
 *
 * @example
 * ```ts
 * createKeel({ backend: memoryBackend(), openLineage: { transport: consoleTransport() } });
 * ```
 * @throws {ValidationError} when `write` is given and is not a function.
 */
export function consoleTransport(options: ConsoleTransportOptions = {}): OpenLineageTransport {
  const write = parseWith(
    z.strictObject({
      write: z.custom<(line: string) => void>((value) => typeof value === 'function').optional(),
    }),
    options,
    'consoleTransport options',
  ).write;
  return {
    send(event) {
      const line = JSON.stringify(event);
      // biome-ignore lint/suspicious/noConsole: writing to the console is this transport's job
      if (write === undefined) console.log(line);
      else write(line);
    },
  };
}

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// What a route of the MLflow endpoint is (method, path or prefix, handler) and what its handler receives.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Keel } from '../keel.js';
import type { RunHandle } from '../tracking/types.js';

/** The parts of keel the MLflow endpoint reads and writes. */
export type MlflowKeel = Pick<Keel, 'tracker' | 'registry' | 'artifacts' | 'metadata' | 'clock'>;

/** A JSON request body (or the query of a GET), by field name; values as sent. */
export type MlflowFields = Readonly<Record<string, unknown>>;

/** A request as a route sees it. */
export interface MlflowRequest {
  /** `GET`, `POST`, ... */
  method: string;
  /** The path under the base path, still percent-encoded, e.g. `/api/2.0/mlflow/runs/get`. */
  path: string;
  /** For a prefix route: the rest of the path after the prefix, still percent-encoded. */
  rest: string;
  /** The query string. */
  query: URLSearchParams;
  /**
   * The fields: the parsed JSON body of a POST, PATCH or PUT (an object; `{}` when empty), or
   * the query of a GET or DELETE (a repeated name gives an array of its values). Empty for a
   * route with `body: 'raw'`.
   */
  fields: MlflowFields;
  /** The size of the JSON body in bytes (0 for a GET or a `body: 'raw'` route). */
  bodyBytes: number;
  /** The request itself: a `body: 'raw'` route reads (streams) it. */
  raw: IncomingMessage;
}

/** What every handler of the endpoint shares: the keel it serves and its live run handles. */
export interface MlflowContext {
  /** The keel the requests read and write. */
  keel: MlflowKeel;
  /**
   * A handle to write to a running run, kept while the run is running (one per run, so that a
   * run's buffered points and its tracker's bookkeeping stay in one place).
   */
  handle(runId: string): Promise<RunHandle>;
  /** Keeps the handle of a run this endpoint started. */
  keepHandle(handle: RunHandle): void;
  /** Forgets a run's handle (it ended, or a write found it ended elsewhere). */
  dropHandle(runId: string): void;
}

/**
 * One route of the endpoint. Its handler returns the JSON of a 200 reply, or `undefined` when
 * it wrote the reply itself (a download); it throws `MlflowApiError` (or a keel error) to
 * answer in MLflow's error shape.
 */
export interface MlflowRoute {
  /** The HTTP methods served (`HEAD` is not implied). */
  methods: readonly string[];
  /** The path under the base path, e.g. `/api/2.0/mlflow/runs/get`; with `prefix`, a path prefix ending in `/`. */
  path: string;
  /** `true`: every path that starts with `path` (the rest is `request.rest`). */
  prefix?: boolean;
  /** `'json'` (default): the body is read and parsed before the handler runs; `'raw'`: the handler reads `request.raw`. */
  body?: 'json' | 'raw';
  /** Serves a request. */
  handle(
    ctx: MlflowContext,
    request: MlflowRequest,
    res: ServerResponse,
  ): Promise<object | undefined>;
}

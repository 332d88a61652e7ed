// `createMlflowHandler`: MLflow's tracking REST API (2.0) as one `node:http` request handler over a keel: routing, body reading, MLflow's error replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { basePathOption, normalizeBasePath, pathUnderBase } from '../core/base-path.js';
import { ValidationError } from '../core/errors.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import type { RunHandle } from '../tracking/types.js';
import { MlflowApiError, toMlflowError } from './errors.js';
import { queryFields, readJsonBody, sendJson } from './http.js';
import type { MlflowContext, MlflowKeel, MlflowRequest, MlflowRoute } from './route.js';
import { mlflowRoutes } from './routes.js';

/** Options of {@link createMlflowHandler}. */
export interface MlflowHandlerOptions {
  /** The keel whose tracker (and registry, artifacts) the MLflow clients write to and read. */
  keel: MlflowKeel;
  /**
   * Where the API is mounted, e.g. `/mlflow` (default: the root, so that
   * `MLFLOW_TRACKING_URI=http://host:port` works). A request path under it is served with the
   * prefix removed; a path a framework already stripped is served as it is.
   */
  basePath?: string;
  /** The largest JSON request body read, in bytes (default 4 MiB; larger ones get 413). */
  maxBodyBytes?: number;
}

/** A `node:http` request handler (also what Express, Fastify's `reply.raw` and Hono's node adapter hand over). */
export type MlflowHandler = (req: IncomingMessage, res: ServerResponse) => void;

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Creates a request handler that speaks MLflow's tracking REST API (2.0) over keel, so that
 * MLflow clients (Python's `mlflow` with `MLFLOW_TRACKING_URI`, the npm `mlflow` client, plain
 * HTTP) record into keel: experiments, runs, params, metrics with their history, tags, dataset
 * inputs and run search. Errors come back in MLflow's shape, `{ error_code, message }`, with
 * MLflow's HTTP status; an unknown path is `ENDPOINT_NOT_FOUND` (404). The routes, the id and
 * status mapping and what is left out are in docs/mlflow.md.
 *
 * @throws {ValidationError} when the options are malformed (no keel, a base path that is not a
 *   path, a body limit that is not a positive integer).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createMlflowHandler } from 'keel/mlflow';
 * createServer(createMlflowHandler({ keel })).listen(5000, '127.0.0.1');
 * // then, in Python: MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py
 * ```
 */
export function createMlflowHandler(options: MlflowHandlerOptions): MlflowHandler {
  assertReadableObject(options, 'createMlflowHandler options');
  const keel = options?.keel;
  if (!isMlflowKeel(keel)) {
    throw new ValidationError(
      '[keel] invalid createMlflowHandler options: keel must be a keel (createKeel) with tracker, ' +
        'registry, artifacts and metadata; pass { keel }',
    );
  }
  const o = parseWith(
    optionsSchema,
    { basePath: options.basePath, maxBodyBytes: options.maxBodyBytes },
    'createMlflowHandler options',
  );
  const base = normalizeBasePath(o.basePath ?? '');
  const limit = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const ctx = createMlflowContext(keel);
  const exact = new Map<string, MlflowRoute>();
  const prefixes: MlflowRoute[] = [];
  for (const route of mlflowRoutes) {
    if (route.prefix) prefixes.push(route);
    else exact.set(route.path, route);
  }
  // the longest prefix wins
  prefixes.sort((a, b) => b.path.length - a.path.length);

  return (req, res) => {
    void serve(req, res).catch((error: unknown) => {
      // only reachable when writing the reply itself failed: nothing more can be sent
      res.destroy(error instanceof Error ? error : undefined);
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://mlflow.invalid');
      const path = pathUnderBase(url.pathname, base) ?? url.pathname;
      let route = exact.get(path);
      let rest = '';
      if (route === undefined) {
        route = prefixes.find((r) => path.startsWith(r.path));
        if (route) rest = path.slice(route.path.length);
      }
      if (route === undefined) {
        throw new MlflowApiError(
          'ENDPOINT_NOT_FOUND',
          `No API endpoint at ${path} (${req.method})`,
        );
      }
      const method = req.method ?? 'GET';
      if (!route.methods.includes(method)) {
        res.setHeader('Allow', route.methods.join(', '));
        throw new MlflowApiError(
          'BAD_REQUEST',
          `${path} takes ${route.methods.join(' or ')}, not ${method}`,
          405,
        );
      }
      const readsBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
      const body = route.body !== 'raw' && readsBody ? await readJsonBody(req, limit) : undefined;
      const request: MlflowRequest = {
        method,
        path,
        rest,
        query: url.searchParams,
        fields: body?.fields ?? (route.body === 'raw' ? {} : queryFields(url.searchParams)),
        bodyBytes: body?.bytes ?? 0,
        raw: req,
      };
      const reply = await route.handle(ctx, request, res);
      if (reply !== undefined) sendJson(res, 200, reply);
    } catch (error) {
      if (res.headersSent) throw error;
      const { status, body } = toMlflowError(error);
      if (status === 413) {
        // the rest of an oversized body is not read: close the connection after the reply
        res.setHeader('Connection', 'close');
        res.once('finish', () => req.destroy());
      }
      sendJson(res, status, body);
    }
  }
}

/** The shared state of one handler: the keel and the handles of the running runs it writes to. */
export function createMlflowContext(keel: MlflowKeel): MlflowContext {
  const handles = new Map<string, Promise<RunHandle>>();
  return {
    keel,
    handle(runId) {
      let pending = handles.get(runId);
      if (pending === undefined) {
        pending = keel.tracker.resumeRun(runId);
        const settled = pending;
        handles.set(runId, settled);
        settled.catch(() => {
          if (handles.get(runId) === settled) handles.delete(runId);
        });
      }
      return pending;
    },
    keepHandle(handle) {
      handles.set(handle.id, Promise.resolve(handle));
    },
    dropHandle(runId) {
      handles.delete(runId);
    },
  };
}

function isMlflowKeel(k: unknown): k is MlflowKeel {
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof (k as MlflowKeel).tracker === 'object' &&
    typeof (k as MlflowKeel).registry === 'object' &&
    typeof (k as MlflowKeel).artifacts === 'object' &&
    typeof (k as MlflowKeel).metadata === 'object' &&
    typeof (k as MlflowKeel).clock === 'object'
  );
}

const optionsSchema = z.object({
  basePath: basePathOption('/mlflow'),
  maxBodyBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024)
    .optional(),
});

/**
 * @module
 * The MLflow endpoint of one command step (`commandStep(…, { mlflow: true })`): served on an
 * ephemeral 127.0.0.1 port for as long as the program runs, with the environment that makes
 * `mlflow.start_run()` attach to the step's run. The step's run belongs to the pipeline: a
 * program that ends it (`mlflow.end_run()`) or deletes it is answered as MLflow would, but
 * the run stays running until keel ends it with the step's outcome; the status the program
 * reported is kept as the tag `keel.mlflow.status`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Keel } from '../keel.js';
import { toMlflowError } from './errors.js';
import { createMlflowHandler } from './handler.js';
import { readJsonBody, sendJson } from './http.js';

/** The endpoint of a step while its program runs. */
export interface StepMlflowServer {
  /** `http://127.0.0.1:<port>`: the program's `MLFLOW_TRACKING_URI`. */
  readonly trackingUri: string;
  /** What the program's environment gets: the tracking URI, the experiment's name, the run's id. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops listening; resolves once every connection is closed. Idempotent. */
  close(): Promise<void>;
}

/** Largest body of a run update or delete the endpoint reads to look at its run id. */
const INSPECTED_BODY_LIMIT = 64 * 1024;

/** How long `close()` lets requests under way finish before cutting their connections. */
const CLOSE_GRACE_MS = 5_000;

const FINAL_STATUSES = new Set(['FINISHED', 'FAILED', 'KILLED']);

/**
 * Serves keel's MLflow endpoint on an ephemeral loopback port, for the running run `runId`.
 *
 * @throws {NotFoundError} when the run does not exist.
 */
export async function serveStepRun(keel: Keel, runId: string): Promise<StepMlflowServer> {
  const run = await keel.tracker.getRun(runId);
  const handler = createMlflowHandler({ keel });
  const server = createServer((req, res) => {
    guardStepRun(keel, runId, handler, req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else {
        const { status, body } = toMlflowError(error);
        sendJson(res, status, body);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const trackingUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | undefined;
  return {
    trackingUri,
    env: {
      MLFLOW_TRACKING_URI: trackingUri,
      MLFLOW_EXPERIMENT_NAME: run.experiment,
      MLFLOW_RUN_ID: run.id,
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * Passes a request to the handler, except a run update that ends the step's run (answered
 * with the run as it is, the reported status kept as a tag) and a delete of it (refused).
 */
async function guardStepRun(
  keel: Keel,
  runId: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '').split('?')[0] ?? '';
  const update = path.endsWith('/mlflow/runs/update');
  const remove = path.endsWith('/mlflow/runs/delete');
  if (req.method !== 'POST' || !(update || remove)) {
    handler(req, res);
    return;
  }
  const { fields } = await readJsonBody(req, INSPECTED_BODY_LIMIT);
  const target = fields.run_id ?? fields.run_uuid;
  let forwarded: Record<string, unknown> = { ...fields };
  if (target === runId && remove) {
    sendJson(res, 400, {
      error_code: 'INVALID_PARAMETER_VALUE',
      message: `[keel] run ${runId} is the run of a pipeline step: keel ends it when the program exits, and it cannot be deleted from the program`,
    });
    return;
  }
  if (target === runId && typeof fields.status === 'string' && FINAL_STATUSES.has(fields.status)) {
    const handle = await keel.tracker.resumeRun(runId);
    await handle.setTags({ 'keel.mlflow.status': fields.status });
    const { status: _status, end_time: _end, ...rest } = forwarded;
    forwarded = rest;
  }
  handler(replay(req, forwarded), res);
}

/** A request with the same method, URL and headers whose body is `fields` as JSON. */
function replay(req: IncomingMessage, fields: Record<string, unknown>): IncomingMessage {
  const bytes = Buffer.from(JSON.stringify(fields), 'utf8');
  return Object.assign(Readable.from([bytes]), {
    method: req.method,
    url: req.url,
    headers: { ...req.headers, 'content-length': String(bytes.length) },
    socket: req.socket,
    httpVersion: req.httpVersion,
  }) as unknown as IncomingMessage;
}

/**
 * @module
 * MLflow's artifact routes over keel's content-addressed store: the artifacts proxy
 * (`/mlflow-artifacts/artifacts/<path>`: `PUT` uploads, `GET` downloads, `GET …?path=` lists)
 * and the run listing (`/mlflow/artifacts/list`). A file of a run is the run's output of the
 * same name (`run.logArtifact(body, { name })`): an upload streams into the store and is
 * recorded on the run, a download is verified against its digest.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_MEDIA_TYPE_LENGTH, MEDIA_TYPE_PATTERN } from '../artifacts/checks.js';
import type { ArtifactMeta } from '../artifacts/types.js';
import type { Digest } from '../core/digest.js';
import { IntegrityError, NotFoundError, ValidationError } from '../core/errors.js';
import type { Run } from '../tracking/types.js';
import {
  checkArtifactPath,
  type FileInfo,
  listDirectory,
  parseRunArtifactPath,
} from './artifact-paths.js';
import { mlflowExperimentId, runArtifactUri } from './mapping.js';
import type { MlflowContext, MlflowKeel, MlflowRoute } from './route.js';

/** Downloads up to this size are read whole and verified before the first byte is sent. */
const VERIFIED_BEFORE_SENDING = 8 * 1024 * 1024;

/** The named outputs of a run, latest of each name, with the digest each name points to. */
function namedOutputs(run: Run): Map<string, Digest> {
  const names = new Map<string, Digest>();
  // outputs are in the order they were logged: the last of a name is the newest
  for (const ref of run.outputs) if (ref.name !== undefined) names.set(ref.name, ref.digest);
  return names;
}

/** The sizes of a run's named outputs (a blob gone from the store is left out). */
async function sizesOf(keel: MlflowKeel, run: Run): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const [name, digest] of namedOutputs(run)) {
    const meta = await keel.artifacts.stat(digest);
    if (meta !== undefined) sizes.set(name, meta.size);
  }
  return sizes;
}

/** The run a proxied path names, checking it belongs to the experiment the path says. */
async function runAt(keel: MlflowKeel, path: string): Promise<{ run: Run; name: string }> {
  const parsed = parseRunArtifactPath(path);
  const run = await keel.tracker.getRun(parsed.runId);
  const id = mlflowExperimentId(run.experiment);
  if (id !== parsed.experimentId) {
    throw new NotFoundError(
      `[keel] run ${run.id} is not in experiment ${JSON.stringify(parsed.experimentId.slice(0, 80))}: its artifacts are under ${runArtifactUri(id, run.id)}`,
    );
  }
  return { run, name: parsed.name };
}

/**
 * `PUT /mlflow-artifacts/artifacts/<path>`: streams the request body into the artifact store
 * and records it on the run as the output `<name>` (a later upload of the same name wins).
 *
 * @throws {ValidationError} when the path is unsafe or not a run artifact path.
 * @throws {NotFoundError} when the run does not exist.
 * @throws {ConflictError} when the run has ended.
 */
export async function uploadArtifact(
  ctx: MlflowContext,
  path: string,
  req: IncomingMessage,
): Promise<ArtifactMeta> {
  const { run, name } = await runAt(ctx.keel, path);
  if (name === '') {
    throw new ValidationError(
      `[keel] invalid artifact path ${JSON.stringify(path.slice(0, 120))}: it names the run's artifact root, not a file; append the file name`,
    );
  }
  const handle = await ctx.handle(run.id);
  const type = req.headers['content-type'];
  const mediaType =
    typeof type === 'string' &&
    type.length <= MAX_MEDIA_TYPE_LENGTH &&
    MEDIA_TYPE_PATTERN.test(type)
      ? type
      : undefined;
  return handle.logArtifact(req, { name, ...(mediaType === undefined ? {} : { mediaType }) });
}

/**
 * `GET /mlflow-artifacts/artifacts/<path>`: sends the run's output `<name>`. Up to 8 MiB it is
 * verified before the first byte goes out (a damaged blob is an MLflow error); a larger one is
 * streamed and verified as it goes, and a mismatch found at the end cuts the connection, so
 * a client never reads damaged bytes as a complete file.
 *
 * @throws {NotFoundError} when the run has no file of that name (a directory included).
 * @throws {IntegrityError} when the stored bytes do not match their digest (small files).
 */
export async function downloadArtifact(
  keel: MlflowKeel,
  path: string,
  res: ServerResponse,
): Promise<void> {
  const { run, name } = await runAt(keel, path);
  const digest = namedOutputs(run).get(name);
  if (digest === undefined) {
    throw new NotFoundError(
      `[keel] run ${run.id} has no artifact file ${JSON.stringify(name.slice(0, 200))}; list the run's artifacts to see what it has`,
    );
  }
  const meta = await keel.artifacts.stat(digest);
  if (meta === undefined) {
    throw new NotFoundError(
      `[keel] the artifact ${JSON.stringify(name.slice(0, 200))} of run ${run.id} (${digest}) is gone from the artifact store; run keel doctor`,
    );
  }
  const base = name.slice(name.lastIndexOf('/') + 1);
  const headers = {
    'content-type': meta.mediaType,
    'content-length': String(meta.size),
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(base)}`,
    'x-content-type-options': 'nosniff',
    etag: `"${digest}"`,
  };
  if (meta.size <= VERIFIED_BEFORE_SENDING) {
    const bytes = await keel.artifacts.get(digest);
    res.writeHead(200, headers);
    res.end(bytes);
    return;
  }
  res.writeHead(200, headers);
  try {
    for await (const chunk of keel.artifacts.stream(digest)) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  } catch (error) {
    // the status is sent: cutting the connection is the only way to say the bytes are bad
    res.destroy(error instanceof Error ? error : new IntegrityError(String(error)));
  }
}

/**
 * `GET /mlflow-artifacts/artifacts?path=<path>`: the entries directly under a run directory,
 * by base name, as MLflow's proxy answers. A path above a run's root, or a file, lists nothing.
 *
 * @throws {ValidationError} when the path is unsafe.
 * @throws {NotFoundError} when the path names a run that does not exist.
 */
export async function listProxiedArtifacts(
  keel: MlflowKeel,
  path: string | undefined,
): Promise<{ files?: FileInfo[] }> {
  const checked = checkArtifactPath(path ?? '', 'artifact path');
  if (checked.split('/').length < 3) return {};
  const { run, name } = await runAt(keel, checked);
  const { files } = listDirectory(await sizesOf(keel, run), name);
  if (files.length === 0) return {};
  return {
    files: files.map((f) => ({ ...f, path: f.path.slice(f.path.lastIndexOf('/') + 1) })),
  };
}

/**
 * `GET /mlflow/artifacts/list?run_id=&path=`: the entries directly under `path` of a run,
 * with paths relative to the run's root, and the run's `root_uri`.
 *
 * @throws {ValidationError} when `run_id` is missing or the path is unsafe.
 * @throws {NotFoundError} when the run does not exist.
 */
export async function listRunArtifacts(
  keel: MlflowKeel,
  runId: string | undefined,
  path: string | undefined,
): Promise<{ root_uri: string; files?: FileInfo[] }> {
  if (runId === undefined || runId === '') {
    throw new ValidationError(
      '[keel] invalid artifacts/list request: run_id is required; pass the run whose artifacts to list',
    );
  }
  const dir = checkArtifactPath(path ?? '', 'artifact path');
  const run = await keel.tracker.getRun(runId);
  const root = runArtifactUri(mlflowExperimentId(run.experiment), run.id);
  const { files } = listDirectory(await sizesOf(keel, run), dir);
  return files.length === 0 ? { root_uri: root } : { root_uri: root, files };
}

/** Decodes a percent-encoded path once (a malformed escape is bad input). */
function decodedPath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError(
      `[keel] invalid artifact path ${JSON.stringify(raw.slice(0, 120))}: it has a malformed percent escape`,
    );
  }
}

/**
 * Refuses a request URL with a `.` or `..` segment (plain or percent-encoded): URL parsing
 * would resolve it before routing, so an upload aimed out of a run would land elsewhere
 * instead of being refused.
 */
function refuseDotSegments(url: string): void {
  const path = url.split('?')[0] ?? '';
  for (const segment of path.split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.' || plain === '..') checkArtifactPath(plain, 'artifact path');
  }
}

/** A string field of a query, or `undefined`. */
function field(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The artifact routes, for the endpoint's route table. */
export const artifactRoutes: readonly MlflowRoute[] = [
  {
    methods: ['GET', 'PUT'],
    path: '/api/2.0/mlflow-artifacts/artifacts/',
    prefix: true,
    body: 'raw',
    async handle(ctx, request, res) {
      refuseDotSegments(request.raw.url ?? '');
      const path = decodedPath(request.rest);
      if (request.method === 'PUT') {
        await uploadArtifact(ctx, path, request.raw);
        return {};
      }
      await downloadArtifact(ctx.keel, path, res);
      return undefined;
    },
  },
  {
    methods: ['GET'],
    path: '/api/2.0/mlflow-artifacts/artifacts',
    handle: (ctx, request) => listProxiedArtifacts(ctx.keel, field(request.fields.path)),
  },
  {
    methods: ['GET'],
    path: '/api/2.0/mlflow/artifacts/list',
    handle: (ctx, request) =>
      listRunArtifacts(
        ctx.keel,
        field(request.fields.run_id) ?? field(request.fields.run_uuid),
        field(request.fields.path),
      ),
  },
];

/**
 * @module
 * What an MLflow `source` names, in keel's store: `runs:/<run id>/<path>` and
 * `mlflow-artifacts:/<experiment id>/<run id>/artifacts/<path>` name a run's file or
 * directory, `sha256:<hex>` a stored blob. A file registers as it is; a directory (an MLflow
 * model: `MLmodel`, `model.pkl`, …) registers as a canonical JSON manifest of its files'
 * digests, so the version still pins every byte.
 */
import { putJson } from '../artifacts/json.js';
import { type Digest, isDigest } from '../core/digest.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Run } from '../tracking/types.js';
import { ARTIFACTS_SCHEME, checkArtifactPath, parseRunArtifactPath } from './artifact-paths.js';
import { mlflowExperimentId } from './mapping.js';
import type { MlflowKeel } from './route.js';

/** The media type of a directory manifest: `{ "files": { "<relative path>": "sha256:…" } }`. */
export const DIRECTORY_MEDIA_TYPE = 'application/vnd.keel.mlflow-directory+json';

/** A source resolved: the blob to register and the run it came from, if any. */
export interface ResolvedSource {
  /** The blob the version pins. */
  digest: Digest;
  /** The run whose artifact it is. */
  run?: Run;
}

const SOURCES =
  'give runs:/<run id>/<path>, the run\'s artifact_uri followed by /<path> ("mlflow-artifacts:/…"), or a stored digest "sha256:…"';

/** The run id and path of a `runs:/` or `mlflow-artifacts:` source. */
function parseSource(source: string): { runId: string; path: string; experimentId?: string } {
  const invalid = (problem: string): never => {
    throw new ValidationError(
      `[keel] invalid model version source ${JSON.stringify(source.slice(0, 120))}: ${problem}; ${SOURCES}`,
    );
  };
  if (source.startsWith('runs:/')) {
    const rest = source.slice('runs:/'.length).replace(/^\/+/, '');
    const slash = rest.indexOf('/');
    const runId = slash < 0 ? rest : rest.slice(0, slash);
    if (runId === '') invalid('it names no run');
    return {
      runId,
      path: checkArtifactPath(slash < 0 ? '' : rest.slice(slash + 1), 'source path'),
    };
  }
  if (source.startsWith(ARTIFACTS_SCHEME)) {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(source).pathname);
    } catch {
      return invalid('it is not a URI');
    }
    const { experimentId, runId, name } = parseRunArtifactPath(pathname.replace(/^\/+/, ''));
    return { runId, path: name, experimentId };
  }
  return invalid('keel registers only what it stores');
}

/**
 * The blob an MLflow `source` names, storing a directory's manifest when it names a directory.
 *
 * @throws {ValidationError} when the source has another form or an unsafe path.
 * @throws {NotFoundError} when the run does not exist, has nothing at that path, or the
 *   digest is not stored.
 */
export async function resolveSource(keel: MlflowKeel, source: string): Promise<ResolvedSource> {
  if (isDigest(source)) {
    if (!(await keel.artifacts.has(source))) {
      throw new NotFoundError(
        `[keel] model version source ${source} is not in the artifact store; upload it first`,
      );
    }
    return { digest: source };
  }
  const { runId, path, experimentId } = parseSource(source);
  const run = await keel.tracker.getRun(runId);
  if (experimentId !== undefined && experimentId !== mlflowExperimentId(run.experiment)) {
    throw new NotFoundError(
      `[keel] model version source ${JSON.stringify(source.slice(0, 120))}: run ${run.id} is not in experiment ${JSON.stringify(experimentId)}`,
    );
  }
  const latest = new Map<string, Digest>();
  for (const ref of run.outputs) if (ref.name !== undefined) latest.set(ref.name, ref.digest);
  const file = latest.get(path);
  if (file !== undefined) return { digest: file, run };
  const prefix = path === '' ? '' : `${path}/`;
  const entries = [...latest].filter(([name]) => name.startsWith(prefix));
  if (entries.length === 0) {
    throw new NotFoundError(
      `[keel] model version source ${JSON.stringify(source.slice(0, 120))}: run ${run.id} has no artifact file or directory ${JSON.stringify(path)}; log the model first`,
    );
  }
  // Object.fromEntries defines own properties: a file named "__proto__" is listed, not dropped
  const files = Object.fromEntries(entries.map(([name, d]) => [name.slice(prefix.length), d]));
  const manifest = await putJson(keel.artifacts, { files }, { mediaType: DIRECTORY_MEDIA_TYPE });
  return { digest: manifest.digest, run };
}

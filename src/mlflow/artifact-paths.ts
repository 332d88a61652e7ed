/**
 * @module
 * Where an MLflow client puts a run's files, in keel's terms: a run's `artifact_uri` is
 * `mlflow-artifacts:/<experiment id>/<run id>/artifacts`, as an MLflow server serving
 * artifacts writes it, and a proxied path `<experiment id>/<run id>/artifacts/<name>` names the
 * run's output `<name>`. Paths are checked once here: no `..`, no absolute path, no NUL or
 * other control character, no backslash, no empty segment, at most 1000 characters.
 */
import { ValidationError } from '../core/errors.js';

/** The URI scheme MLflow clients resolve against the tracking server's artifacts proxy. */
export const ARTIFACTS_SCHEME = 'mlflow-artifacts:';

/** The longest artifact name keel records on a run (its `logArtifact` name limit). */
export const MAX_ARTIFACT_NAME = 1000;

/** A proxied path taken apart: whose run, and which name (empty for the run's root). */
export interface RunArtifactPath {
  /** The experiment id the path names (checked against the run's by the caller). */
  experimentId: string;
  /** The run whose artifacts these are. */
  runId: string;
  /** The artifact name under the run's root, `''` for the root itself. */
  name: string;
}

/**
 * Checks a relative artifact path: the decoded path of a proxy request, a `path` query
 * parameter, or the `<path>` of a `runs:/` source. Returns it without a trailing slash.
 *
 * @throws {ValidationError} when it is absolute, climbs (`..`), holds `.` or empty segments, a
 *   NUL or other control character or a backslash, or is longer than 1000 characters.
 */
export function checkArtifactPath(path: string, what: string): string {
  const shown = JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}...` : path);
  const refuse = (problem: string): never => {
    throw new ValidationError(
      `[keel] invalid ${what} ${shown}: ${problem}; give a relative path such as "model/model.pkl"`,
      { issues: [{ path: [what], message: problem }] },
    );
  };
  if (path.length > MAX_ARTIFACT_NAME)
    refuse(`it is ${path.length} characters long, the limit is ${MAX_ARTIFACT_NAME}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(path)) refuse('it holds a NUL or another control character');
  if (path.includes('\\')) refuse('it holds a backslash');
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) refuse('it is absolute');
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed === '') return '';
  for (const segment of trimmed.split('/')) {
    if (segment === '..') refuse('it climbs out of the run with ".."');
    if (segment === '.' || segment === '') refuse('it has an empty or "." segment');
  }
  return trimmed;
}

/**
 * Takes a proxied path (`<experiment id>/<run id>/artifacts[/<name>]`) apart.
 *
 * @throws {ValidationError} when the path is unsafe ({@link checkArtifactPath}) or does not
 *   have that shape.
 */
export function parseRunArtifactPath(path: string): RunArtifactPath {
  const checked = checkArtifactPath(path, 'artifact path');
  const [experimentId, runId, root, ...rest] = checked.split('/');
  if (experimentId === undefined || runId === undefined || root !== 'artifacts') {
    const shown = JSON.stringify(checked.slice(0, 80));
    throw new ValidationError(
      `[keel] invalid artifact path ${shown}: keel serves run artifacts only, at "<experiment id>/<run id>/artifacts/<name>"; use the run's artifact_uri`,
      { issues: [{ path: ['artifact path'], message: 'not a run artifact path' }] },
    );
  }
  return { experimentId, runId, name: rest.join('/') };
}

/** A file or directory of a listing, as MLflow's `FileInfo`. */
export interface FileInfo {
  /** The path (relative to what the route says). */
  path: string;
  /** Whether it is a directory (a prefix of longer names). */
  is_dir: boolean;
  /** Size in bytes; absent for a directory. */
  file_size?: number;
}

/**
 * The entries directly under `dir` (`''` for the root) among `names` (the latest of each
 * name wins; `sizes` by name): files, and directories for names that go deeper. Paths are
 * relative to the root; sorted by path, as MLflow sorts them.
 */
export function listDirectory(
  names: ReadonlyMap<string, number>,
  dir: string,
): { files: FileInfo[]; isFile: boolean } {
  const prefix = dir === '' ? '' : `${dir}/`;
  const entries = new Map<string, FileInfo>();
  for (const [name, size] of names) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) entries.set(name, { path: name, is_dir: false, file_size: size });
    else {
      const sub = `${prefix}${rest.slice(0, slash)}`;
      if (!entries.get(sub)) entries.set(sub, { path: sub, is_dir: true });
    }
  }
  const files = [...entries.values()].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  return { files, isFile: names.has(dir) };
}

/**
 * @module
 * Enumerating the logs of a filesystem MetadataStore (its `listLogs` capability). A log's
 * name is read back from its path; a log stored under a hashed name (a key too long for a
 * path) gets a `<file>.name` record, written before the log file itself, that holds it.
 */
import { dirname, join } from 'node:path';
import { IntegrityError } from '../../core/errors.js';
import { assertKey, compareKeys } from '../../metadata/keys.js';
import {
  assertNoSymlinks,
  exists,
  listDir,
  mkdirDurable,
  readOptional,
  writeFileAtomic,
} from './io.js';
import { HASHED_MARK, isHashedName, type KeyLocation, segmentOfName } from './key-path.js';

/** Suffix of the file that records the name of a log stored under a hashed name. */
export const LOG_NAME_SUFFIX = '.name';

/** Whether a log at `location` needs a name record (some part of its path is hashed). */
export function needsNameRecord(location: KeyLocation): boolean {
  return [...location.dirs, location.file].some((part) => part.startsWith(HASHED_MARK));
}

/**
 * Records the name of a log stored at `path` when its path cannot say it (a hashed part), so
 * that {@link listLogNames} finds it. Written once, before the log file is created.
 */
export async function recordLogName(
  root: string,
  tmpDir: string,
  path: string,
  log: string,
  location: KeyLocation,
): Promise<void> {
  if (!needsNameRecord(location)) return;
  const record = `${path}${LOG_NAME_SUFFIX}`;
  assertNoSymlinks(root, dirname(path));
  if (await exists(record)) return;
  await mkdirDurable(dirname(path));
  await writeFileAtomic(tmpDir, record, log);
}

/**
 * Names of the logs under `logsDir` that start with `prefix`, in name order, reading only
 * the directories such names can be in.
 */
export async function listLogNames(
  root: string,
  logsDir: string,
  prefix: string,
  suffix: string,
): Promise<string[]> {
  const names: string[] = [];
  // `base` is the name so far ('' at the root), undefined below a hashed directory.
  const walk = async (dir: string, base: string | undefined): Promise<void> => {
    assertNoSymlinks(root, dir);
    for (const entry of await listDir(dir)) {
      if (entry.endsWith(LOG_NAME_SUFFIX)) continue;
      const path = join(dir, entry);
      if (entry.endsWith(suffix)) {
        const segment = segmentOfName(entry, suffix);
        if (segment !== undefined && base !== undefined) {
          if ((base + segment).startsWith(prefix)) names.push(base + segment);
        } else if (segment !== undefined || isHashedName(entry, suffix)) {
          const recorded = await recordedName(path);
          if (recorded.startsWith(prefix)) names.push(recorded);
        }
        continue;
      }
      const segment = segmentOfName(entry, '');
      if (segment !== undefined) {
        const next = base === undefined ? undefined : `${base}${segment}/`;
        if (next === undefined || next.startsWith(prefix) || prefix.startsWith(next)) {
          await walk(path, next);
        }
      } else if (isHashedName(entry, '')) {
        await walk(path, undefined);
      }
    }
  };
  await walk(logsDir, '');
  return names.sort(compareKeys);
}

async function recordedName(path: string): Promise<string> {
  const bytes = await readOptional(`${path}${LOG_NAME_SUFFIX}`);
  const name = bytes?.toString('utf8');
  try {
    assertKey(name, 'log name');
    return name;
  } catch {
    throw new IntegrityError(
      `[keel] [fs] the log file ${path} has a hashed name and no readable record of its log name (${path}${LOG_NAME_SUFFIX}): restore that file from a backup, or move the log aside to list the others`,
      { details: { path } },
    );
  }
}

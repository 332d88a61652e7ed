/**
 * @module
 * Version numbering without gaps or duplicates across processes: a version number is taken
 * by creating its document with `ifRevision: null`, and a counter document only remembers
 * how far numbers are known to be taken, so a crash at any point can never leave a gap.
 */
import { isKeelError, NotFoundError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import { asCounterDoc, asVersion, counterKey, versionKey } from './records.js';
import type { ModelVersion } from './types.js';

/**
 * Takes the next free version number of `model` and writes `build(number)` under it.
 *
 * Why this is gap-free: number n is only tried after n - 1 is known to exist (the counter
 * is advanced only after a version was written, and a lost create means the number is
 * taken), and versions are never deleted. Why duplicate-free: creation is exclusive.
 */
export async function claimVersion(
  metadata: MetadataStore,
  model: string,
  build: (version: number) => ModelVersion,
): Promise<ModelVersion> {
  let version = (await readCounter(metadata, model)) + 1;
  for (;;) {
    const record = build(version);
    try {
      await metadata.put(versionKey(model, version), record as unknown as JsonValue, {
        ifRevision: null,
      });
      await advanceCounter(metadata, model, version);
      return record;
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
      version++;
    }
  }
}

/** The highest version number taken (0 when the model has none). */
export async function highestVersion(metadata: MetadataStore, model: string): Promise<number> {
  let last = await readCounter(metadata, model);
  // The counter may lag behind a process that wrote a version and died before advancing it.
  while ((await metadata.get(versionKey(model, last + 1))) !== undefined) last++;
  return last;
}

/** The highest non-archived version, or `undefined` when every version is archived or none exists. */
export async function latestReady(
  metadata: MetadataStore,
  model: string,
): Promise<ModelVersion | undefined> {
  for (let version = await highestVersion(metadata, model); version >= 1; version--) {
    const found = await metadata.get(versionKey(model, version));
    if (found === undefined) continue;
    const record = asVersion(found.value, versionKey(model, version));
    if (record.status === 'ready') return record;
  }
  return undefined;
}

/** Reads one version; `NotFoundError` naming the model and number when absent. */
export async function readVersion(
  metadata: MetadataStore,
  model: string,
  version: number,
): Promise<{ record: ModelVersion; revision: string }> {
  const key = versionKey(model, version);
  const found = await metadata.get(key);
  if (found === undefined) {
    throw new NotFoundError(
      `[keel] [registry] model "${model}" has no version ${version}: list its versions with listVersions("${model}")`,
      { details: { model, version } },
    );
  }
  return { record: asVersion(found.value, key), revision: found.revision };
}

async function readCounter(metadata: MetadataStore, model: string): Promise<number> {
  const found = await metadata.get(counterKey(model));
  return found === undefined ? 0 : asCounterDoc(found.value, counterKey(model)).last;
}

async function advanceCounter(
  metadata: MetadataStore,
  model: string,
  version: number,
): Promise<void> {
  const key = counterKey(model);
  for (let attempt = 0; attempt < 50; attempt++) {
    const found = await metadata.get(key);
    if (found !== undefined && asCounterDoc(found.value, key).last >= version) return;
    try {
      await metadata.put(key, { last: version }, { ifRevision: found?.revision ?? null });
      return;
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
    }
  }
  // The counter is only a hint: giving up leaves it behind, which costs a few probes later.
}

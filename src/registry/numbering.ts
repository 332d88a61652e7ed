/**
 * @module
 * Version numbering without gaps or duplicates across processes: the next number is one past
 * the highest version document that exists, and it is taken by creating its document with
 * `ifRevision: null` in the same commit as its audit entry. A counter document only
 * remembers how far numbers are known to be taken, so a lagging counter costs a few probes
 * and can never cause a gap.
 */
import { NotFoundError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore, Versioned } from '../metadata/types.js';
import type { ChangeWrite } from './audit.js';
import { asCounterDoc, asVersion, counterKey, versionKey } from './records.js';
import type { ModelVersion } from './types.js';

/**
 * Plans the next version of `model`: the record `build(number)` makes, and the writes that
 * take its number (the version document, created exclusively; then the counter hint).
 *
 * Why this is gap-free: number n is only planned when n - 1 exists (the counter only ever
 * records numbers already taken, and the probe walks past the ones it missed), and versions
 * are never deleted. Why duplicate-free: creation is exclusive, so of two plans for the same
 * number only one commits; the other runs again and takes the next.
 */
export async function planVersion(
  metadata: MetadataStore,
  model: string,
  build: (version: number) => ModelVersion,
): Promise<{ record: ModelVersion; writes: ChangeWrite[] }> {
  const key = counterKey(model);
  const { last, counter } = await probe(metadata, model);
  const record = build(last + 1);
  return {
    record,
    writes: [
      {
        key: versionKey(model, record.version),
        value: record as unknown as JsonValue,
        ifRevision: null,
      },
      {
        key,
        value: { last: record.version },
        ifRevision: counter?.revision ?? null,
        ...(counter === undefined ? {} : { previous: counter.value }),
      },
    ],
  };
}

/** The highest version number taken (0 when the model has none). */
export async function highestVersion(metadata: MetadataStore, model: string): Promise<number> {
  return (await probe(metadata, model)).last;
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

async function probe(
  metadata: MetadataStore,
  model: string,
): Promise<{ last: number; counter: Versioned | undefined }> {
  const key = counterKey(model);
  const counter = await metadata.get(key);
  let last = counter === undefined ? 0 : asCounterDoc(counter.value, key).last;
  // The counter may lag behind a version written without it (an older keel, a crash).
  while ((await metadata.get(versionKey(model, last + 1))) !== undefined) last++;
  return { last, counter };
}

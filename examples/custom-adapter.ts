/**
 * A complete custom storage adapter: a MetadataStore and an ArtifactStore kept in plain
 * `Map`s, written only against keel's public API (`keel` and `keel/adapter`), with an atomic
 * `batch` and `listLogs`. It passes every conformance suite (test/examples/custom-adapter.test.ts),
 * and running this file drives keel on it. docs/adapters.md walks through it.
 */
import {
  artifactNotFound,
  assertDigest,
  assertKey,
  assertPrefix,
  assertRevisionOption,
  type BatchResult,
  checkArtifactListOptions,
  checkExpectedDigest,
  checkOffset,
  checkPutOptions,
  checkRevision,
  chunksOf,
  compareKeys,
  concatBytes,
  copyArtifactMeta,
  copyBatch,
  copyJsonValue,
  copyLogEntries,
  createHasher,
  type Digest,
  type JsonValue,
  listLimit,
  readFrom,
  verifyBytes,
} from '../src/adapter.js';
import {
  type ArtifactMeta,
  type ArtifactStore,
  type Backend,
  createKeel,
  type MetadataStore,
} from '../src/index.js';

/** A MetadataStore over two `Map`s: documents with revisions, and logs. */
export function createMapMetadataStore(): MetadataStore {
  const docs = new Map<string, { value: JsonValue; revision: string }>();
  const logs = new Map<string, JsonValue[]>();
  // A counter never repeats within the store, so a re-created key never gets an old revision.
  let writes = 0;
  const write = (key: string, value: JsonValue): string => {
    const revision = `r${++writes}`;
    docs.set(key, { value, revision });
    return revision;
  };
  const appendTo = (log: string, entries: JsonValue[]): number => {
    const records = logs.get(log) ?? [];
    logs.set(log, records);
    records.push(...entries);
    return records.length - entries.length;
  };
  // Names with the prefix, in code point order, strictly after `after`, at most `limit`.
  const page = (
    names: Iterable<string>,
    prefix: string,
    opts?: { after?: string; limit?: number },
  ) => {
    assertPrefix(prefix);
    const limit = listLimit(opts);
    const after = opts?.after;
    return [...names]
      .filter(
        (name) => name.startsWith(prefix) && (after === undefined || compareKeys(name, after) > 0),
      )
      .sort(compareKeys)
      .slice(0, limit);
  };

  return {
    capabilities: { atomicBatch: true, listLogs: true },
    async get(key) {
      assertKey(key);
      const doc = docs.get(key);
      return doc && { value: structuredClone(doc.value), revision: doc.revision };
    },
    async put(key, value, opts) {
      assertKey(key);
      assertRevisionOption(opts?.ifRevision, true);
      const copy = copyJsonValue(value);
      checkRevision('map', key, docs.get(key)?.revision, opts?.ifRevision);
      return { revision: write(key, copy) };
    },
    async delete(key, opts) {
      assertKey(key);
      assertRevisionOption(opts?.ifRevision, false);
      checkRevision('map', key, docs.get(key)?.revision, opts?.ifRevision);
      return docs.delete(key);
    },
    async *list(prefix, opts) {
      for (const key of page(docs.keys(), prefix, opts)) {
        const doc = docs.get(key);
        if (doc) yield { key, value: structuredClone(doc.value), revision: doc.revision };
      }
    },
    async append(log, entries) {
      assertKey(log, 'log name');
      return { offset: appendTo(log, copyLogEntries(entries)) };
    },
    async *read(log, opts) {
      assertKey(log, 'log name');
      const records = logs.get(log) ?? [];
      for (let offset = readFrom(opts); offset < records.length; offset++) {
        yield { offset, entry: structuredClone(records[offset]!) };
      }
    },
    async *listLogs(prefix, opts) {
      yield* page(logs.keys(), prefix, opts);
    },
    async batch(operations) {
      const ops = copyBatch(operations);
      // Every condition is checked before anything is applied: all or nothing. Nothing
      // awaits in between, so no other write can slip in.
      for (const op of ops) {
        if (op.op === 'append')
          checkOffset('map', op.log, logs.get(op.log)?.length ?? 0, op.expectedOffset);
        else checkRevision('map', op.key, docs.get(op.key)?.revision, op.ifRevision);
      }
      return ops.map((op): BatchResult => {
        if (op.op === 'put') return { op: 'put', key: op.key, revision: write(op.key, op.value) };
        if (op.op === 'delete') return { op: 'delete', key: op.key, deleted: docs.delete(op.key) };
        return { op: 'append', log: op.log, offset: appendTo(op.log, op.entries) };
      });
    },
  };
}

/** An ArtifactStore over one `Map` from digest to metadata and bytes. */
export function createMapArtifactStore(): ArtifactStore {
  const blobs = new Map<Digest, { meta: ArtifactMeta; bytes: Uint8Array }>();
  const find = (digest: Digest) => {
    assertDigest(digest);
    const blob = blobs.get(digest);
    if (!blob) throw artifactNotFound('map', digest);
    return blob;
  };

  return {
    async put(body, opts) {
      const checked = checkPutOptions(opts); // before reading the body: bad options store nothing
      const hasher = createHasher();
      const chunks: Uint8Array[] = [];
      for await (const chunk of chunksOf(body)) {
        hasher.update(chunk);
        chunks.push(chunk.slice()); // the caller may reuse its buffer
      }
      const digest = hasher.digest();
      checkExpectedDigest('map', digest, checked.expectedDigest);
      const stored = blobs.get(digest);
      if (stored) return copyArtifactMeta(stored.meta); // deduplicated: the first metadata stands
      const bytes = concatBytes(chunks);
      const meta: ArtifactMeta = {
        digest,
        size: bytes.length,
        mediaType: checked.mediaType,
        createdAt: new Date().toISOString(),
        annotations: checked.annotations,
      };
      blobs.set(digest, { meta, bytes });
      return copyArtifactMeta(meta);
    },
    async get(digest) {
      return verifyBytes(digest, find(digest).bytes, '[map] get').slice();
    },
    async *stream(digest) {
      yield verifyBytes(digest, find(digest).bytes, '[map] stream').slice();
    },
    async stat(digest) {
      assertDigest(digest);
      const blob = blobs.get(digest);
      return blob && copyArtifactMeta(blob.meta);
    },
    async has(digest) {
      assertDigest(digest);
      return blobs.has(digest);
    },
    async *list(opts) {
      const { limit, after } = checkArtifactListOptions(opts);
      const digests = [...blobs.keys()]
        .filter((digest) => after === undefined || compareKeys(digest, after) > 0)
        .sort(compareKeys)
        .slice(0, limit);
      for (const digest of digests) {
        const blob = blobs.get(digest);
        if (blob) yield copyArtifactMeta(blob.meta);
      }
    },
    async delete(digest) {
      assertDigest(digest);
      return blobs.delete(digest);
    },
  };
}

/** Both stores as one {@link Backend}, for `createKeel({ backend })`. */
export function mapBackend(): Backend {
  return { metadata: createMapMetadataStore(), artifacts: createMapArtifactStore() };
}

/** Tracks a run, registers its model and promotes it, all on the Map adapter. */
export async function main(): Promise<void> {
  const keel = createKeel({ backend: mapBackend() });
  const run = await keel.tracker.startRun({ experiment: 'adapter-demo', params: { lr: 0.1 } });
  run.logMetric('auc', 0.91);
  const model = await run.logArtifact('{"weights":[1,2]}', { name: 'model.json' });
  await run.end();
  const version = await keel.registry.registerVersion('churn', { artifact: model, runId: run.id });
  await keel.registry.setAlias('churn', 'champion', version.version, { reason: 'first release' });
  const champion = await keel.registry.resolve('churn', 'champion');
  const audit = await keel.registry.verifyAudit();
  console.log(`map adapter: run ${run.id} ${(await keel.tracker.getRun(run.id)).status}`);
  console.log(`map adapter: champion churn v${champion.version} <- ${champion.artifact.digest}`);
  console.log(`map adapter: audit ${audit.ok ? 'verified' : 'BROKEN'} (${audit.entries} entries)`);
  await keel.close();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

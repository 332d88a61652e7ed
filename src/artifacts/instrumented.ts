/**
 * @module
 * Wraps any ArtifactStore with keel's telemetry (spans `keel.artifacts.put|get`, counter
 * `keel.artifacts.bytes_written`) and the `artifact:put` event, so adapters stay plain.
 */
import type { Emit } from '../core/events.js';
import { inSpan, type Telemetry } from '../core/telemetry.js';
import type { ArtifactMeta, ArtifactStore } from './types.js';

/** Events of the artifact store. */
export interface ArtifactEvents {
  /** A blob was stored (or found already stored). */
  'artifact:put': ArtifactMeta;
}

/** Returns `store` with telemetry and events around `put` and `get`. */
export function instrumentArtifactStore(
  store: ArtifactStore,
  telemetry: Telemetry,
  emit: Emit<ArtifactEvents>,
): ArtifactStore {
  const bytesWritten = telemetry.counter(
    'keel.artifacts.bytes_written',
    'Bytes stored in the artifact store',
    'By',
  );
  return {
    ...store,
    put: (body, opts) =>
      inSpan(telemetry, 'keel.artifacts.put', {}, async (span) => {
        const meta = await store.put(body, opts);
        span.setAttributes({
          'keel.artifact.digest': meta.digest,
          'keel.artifact.size': meta.size,
        });
        bytesWritten.add(meta.size);
        emit('artifact:put', meta);
        return meta;
      }),
    get: (digest) =>
      inSpan(
        telemetry,
        'keel.artifacts.get',
        // the store refuses a digest that is not a string; the span records what it was
        { 'keel.artifact.digest': typeof digest === 'string' ? digest : typeof digest },
        async (span) => {
          const bytes = await store.get(digest);
          span.setAttribute('keel.artifact.size', bytes.length);
          return bytes;
        },
      ),
    stream: (digest) => store.stream(digest),
    stat: (digest) => store.stat(digest),
    has: (digest) => store.has(digest),
    list: (opts) => store.list(opts),
    delete: (digest) => store.delete(digest),
  };
}

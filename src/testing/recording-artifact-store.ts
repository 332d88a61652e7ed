/**
 * @module
 * An ArtifactStore test double that records every call made to it, around a real store.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import { createMemoryArtifactStore } from '../backends/memory/artifact-store.js';

/** One recorded call: the method name and its arguments (bodies are not kept). */
export interface RecordedCall {
  /** The ArtifactStore method called. */
  method: keyof ArtifactStore;
  /** The arguments it was called with. */
  args: unknown[];
}

/** An ArtifactStore that records its calls in `calls`. */
export interface RecordingArtifactStore extends ArtifactStore {
  /** Every call in order. */
  readonly calls: RecordedCall[];
  /**
   * Forgets the recorded calls.
   *
   * Never throws.
   */
  reset(): void;
}

/**
 * Wraps `inner` (default: a fresh memory store) and records every call.
 *
 * @example
 * ```ts
 * const artifacts = recordingArtifactStore();
 * const keel = createKeel({ backend: { artifacts, metadata: createMemoryMetadataStore() } });
 * expect(artifacts.calls.filter((c) => c.method === 'put')).toHaveLength(1);
 * ```
 *
 * Never throws itself; each method passes on what `inner` throws.
 */
export function recordingArtifactStore(
  inner: ArtifactStore = createMemoryArtifactStore(),
): RecordingArtifactStore {
  const calls: RecordedCall[] = [];
  const record = (method: keyof ArtifactStore, args: unknown[]): void => {
    calls.push({ method, args });
  };
  return {
    calls,
    reset: () => {
      calls.length = 0;
    },
    put: (body, opts) => {
      record('put', [
        typeof body === 'string' || body instanceof Uint8Array ? body : '<stream>',
        opts,
      ]);
      return inner.put(body, opts);
    },
    get: (digest) => {
      record('get', [digest]);
      return inner.get(digest);
    },
    stream: (digest) => {
      record('stream', [digest]);
      return inner.stream(digest);
    },
    stat: (digest) => {
      record('stat', [digest]);
      return inner.stat(digest);
    },
    has: (digest) => {
      record('has', [digest]);
      return inner.has(digest);
    },
    list: (opts) => {
      record('list', [opts]);
      return inner.list(opts);
    },
    delete: (digest) => {
      record('delete', [digest]);
      return inner.delete(digest);
    },
  };
}

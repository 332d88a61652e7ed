/**
 * @module
 * The in-memory backend: both stores in memory, for tests and in-process pipelines.
 */

import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { clockOption } from '../../core/option-schemas.js';
import { parseWith } from '../../core/validate.js';
import type { Backend } from '../backend.js';
import { createMemoryArtifactStore } from './artifact-store.js';
import { createMemoryMetadataStore } from './metadata-store.js';

/** Options of {@link memoryBackend}. */
export interface MemoryBackendOptions {
  /** Source of artifact timestamps. */
  clock?: Clock;
}

/**
 * An in-memory {@link Backend}: nothing survives the process.
 *
 * @example
 * ```ts
 * const keel = createKeel({ backend: memoryBackend() });
 * ```
 *
 * @throws {ValidationError} when `opts.clock` is not a clock (`{ now(): number }`).
 */
export function memoryBackend(opts: MemoryBackendOptions = {}): Backend {
  parseWith(z.looseObject({ clock: clockOption.optional() }), opts, 'memoryBackend options');
  return {
    artifacts: createMemoryArtifactStore(opts.clock ? { clock: opts.clock } : {}),
    metadata: createMemoryMetadataStore(),
    close: async () => {},
  };
}

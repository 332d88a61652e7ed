/**
 * @module
 * zod schemas for the non-data options keel's factories take (a clock, a store, a callback),
 * so every factory can check its options object with `parseWith` before using any of it.
 * Values pass through by reference: a store stays the same object.
 */
import { z } from 'zod';

/** Anything with a `now(): number`. */
export const clockOption: z.ZodType<{ now(): number }> = z.custom<{ now(): number }>(
  (value) => typeof (value as { now?: unknown } | null)?.now === 'function',
  'expected a clock: an object with now()',
);

/** A function. */
export const functionOption: z.ZodType<(...args: never[]) => unknown> = z.custom<
  (...args: never[]) => unknown
>((value) => typeof value === 'function', 'expected a function');

/** An object (not null, not an array). */
export const objectOption: z.ZodType<object> = z.custom<object>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'expected an object',
);

/** A MetadataStore: an object with get, put, delete, list, append and read. */
export const metadataStoreOption: z.ZodType<object> = z.custom<object>(
  (value) =>
    ['get', 'put', 'delete', 'list', 'append', 'read'].every(
      (m) => typeof (value as Record<string, unknown> | null)?.[m] === 'function',
    ),
  'expected a MetadataStore (get, put, delete, list, append, read)',
);

/** An ArtifactStore: an object with put, get, stream, stat, has, list and delete. */
export const artifactStoreOption: z.ZodType<object> = z.custom<object>(
  (value) =>
    ['put', 'get', 'stream', 'stat', 'has', 'list', 'delete'].every(
      (m) => typeof (value as Record<string, unknown> | null)?.[m] === 'function',
    ),
  'expected an ArtifactStore (put, get, stream, stat, has, list, delete)',
);

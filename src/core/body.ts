/**
 * @module
 * Artifact bodies: the shapes keel accepts for bytes, and one way to read them as chunks.
 */
import { ValidationError } from './errors.js';

/** A body whose kind cannot even be looked at (a proxy whose traps throw) is refused. */
function checkBodyReadable(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  try {
    Object.getPrototypeOf(body);
    void (Symbol.asyncIterator in body);
  } catch {
    throw new ValidationError(
      '[keel] cannot read the body: reading it threw; pass a Uint8Array, a string, an AsyncIterable<Uint8Array> or a ReadableStream',
    );
  }
}

/** Bytes to store: a buffer, a string (stored as UTF-8), or a stream of chunks. */
export type Body = Uint8Array | string | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

const encoder = new TextEncoder();

/**
 * Reads any {@link Body} as a sequence of byte chunks, without buffering the whole.
 *
 * @throws {ValidationError} when `body` is not a {@link Body}, or a stream yields a chunk
 * that is not a `Uint8Array`; an error of the stream itself is rethrown as is.
 */
export async function* chunksOf(body: Body): AsyncGenerator<Uint8Array> {
  checkBodyReadable(body);
  if (typeof body === 'string') {
    yield encoder.encode(body);
    return;
  }
  if (body instanceof Uint8Array) {
    yield body;
    return;
  }
  if (isReadableStream(body)) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield checkChunk(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
    for await (const chunk of body) yield checkChunk(chunk);
    return;
  }
  throw new ValidationError(
    '[keel] cannot read the body: expected a Uint8Array, a string, an AsyncIterable<Uint8Array> or a ReadableStream',
  );
}

/**
 * Collects every chunk of a {@link Body} into one buffer (a `Uint8Array` body is returned
 * as is, not copied).
 *
 * @throws {ValidationError} as {@link chunksOf} does.
 */
export async function bytesOf(body: Body): Promise<Uint8Array> {
  checkBodyReadable(body);
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return encoder.encode(body);
  const parts: Uint8Array[] = [];
  for await (const chunk of chunksOf(body)) parts.push(chunk);
  return concatBytes(parts);
}

/**
 * Concatenates byte arrays (one array is returned as is, not copied).
 *
 * Never throws for an array of byte arrays.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function isReadableStream(body: unknown): body is ReadableStream<Uint8Array> {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as ReadableStream).getReader === 'function'
  );
}

function checkChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new ValidationError(
    '[keel] a body chunk is not a Uint8Array; yield Uint8Array chunks (or Buffer)',
  );
}

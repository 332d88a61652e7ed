// Reading an MLflow request (a JSON body within a size limit, or a GET's query) and writing a JSON reply.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter, MlflowApiError } from './errors.js';
import type { MlflowFields } from './route.js';

/**
 * Reads and parses a JSON object body of at most `limit` bytes (and says how many it had). An
 * empty body is `{}`.
 *
 * @throws {MlflowApiError} (413) when the body is larger than `limit`; (400) when it is not a
 *   JSON object.
 */
export async function readJsonBody(
  req: IncomingMessage,
  limit: number,
): Promise<{ fields: MlflowFields; bytes: number }> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // stop buffering at once: the rest of a huge body is never held in memory
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, size).toString('utf8').trim();
  if (text === '') return { fields: {}, bytes: size };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      // Python's json.dumps writes NaN, Infinity and -Infinity bare, and MLflow's server reads them
      value = JSON.parse(quoteNonFinite(text));
    } catch {
      throw new MlflowApiError(
        'BAD_REQUEST',
        'the request body is not valid JSON: send a JSON object',
      );
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidParameter('the request body must be a JSON object');
  }
  return { fields: value as MlflowFields, bytes: size };
}

/** A GET's query as fields: a name given once is a string, a repeated name an array of strings. */
export function queryFields(query: URLSearchParams): MlflowFields {
  const fields = new Map<string, string | string[]>();
  for (const [key, value] of query) {
    const seen = fields.get(key);
    if (seen === undefined) fields.set(key, value);
    else fields.set(key, Array.isArray(seen) ? [...seen, value] : [seen, value]);
  }
  // a null-prototype object: a `__proto__` name is an ordinary field, never a prototype
  return Object.assign(Object.create(null) as Record<string, unknown>, Object.fromEntries(fields));
}

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': bytes.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(bytes);
}

/**
 * The JSON text with the bare tokens `NaN`, `Infinity` and `-Infinity` (outside strings) written
 * as the strings proto3 JSON uses for them, which the double fields accept.
 */
export function quoteNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // copy a string whole, escapes included
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const token = /^(?:-Infinity|Infinity|NaN)/.exec(text.slice(i, i + 9))?.[0];
    if (token !== undefined && !/[\w.]/.test(text[i - 1] ?? '')) {
      out += `"${token}"`;
      i += token.length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function tooLarge(limit: number): MlflowApiError {
  return new MlflowApiError(
    'INVALID_PARAMETER_VALUE',
    `the request body is larger than ${limit} bytes: send less per request (log-batch takes at most 1000 metrics, 100 params and 100 tags)`,
    413,
  );
}

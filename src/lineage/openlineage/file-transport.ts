/**
 * @module
 * The OpenLineage file transport (Node only, exported from `keel/fs`): one JSON line per
 * event, appended to a file that other processes may append to as well.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { StorageError } from '../../core/errors.js';
import { parseWith } from '../../core/validate.js';
import type { OpenLineageTransport } from './transports.js';

/** Options of {@link fileTransport}. */
export interface FileTransportOptions {
  /** The file events are appended to (created with its directory when missing). */
  path: string;
}

const optionsSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(4096)
    .refine((path) => !path.includes('\0'), 'a path without NUL characters'),
});

/**
 * A transport that appends each event as one line of JSON (JSON Lines) to `path`. The file
 * is opened in append mode and each line is written by one call, so lines from several
 * processes appending to the same file do not overwrite each other.
 *
 * @example
 * ```ts
 * import { fileTransport } from 'keel/fs';
 * createKeel({ backend, openLineage: { transport: fileTransport({ path: 'lineage.jsonl' }) } });
 * ```
 * @throws {ValidationError} when `path` is not a non-empty string.
 */
export function fileTransport(options: FileTransportOptions): OpenLineageTransport {
  const { path } = parseWith(optionsSchema, options, 'fileTransport options');
  let handle: Promise<FileHandle> | undefined;
  const opened = (): Promise<FileHandle> => {
    handle ??= (async () => {
      await mkdir(dirname(path), { recursive: true });
      return open(path, 'a', 0o644);
    })().catch((error: unknown) => {
      handle = undefined; // the next event tries again
      throw new StorageError(
        `[keel] [openlineage] cannot open ${path} for appending: ${messageOf(error)}; pass a writable path`,
        { cause: error },
      );
    });
    return handle;
  };
  return {
    async send(event) {
      const file = await opened();
      await file.appendFile(`${JSON.stringify(event)}\n`, 'utf8');
    },
    async close() {
      const current = handle;
      handle = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

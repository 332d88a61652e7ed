/**
 * @module
 * The on-disk format of an append-only log: one line per `append` call
 * (`<first offset> <count> <crc32> <JSON array of entries>`), so a batch is all-or-nothing,
 * and a scanner that stops at a torn last line (a writer killed mid-append).
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { IntegrityError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import { parseJsonSafe } from '../../core/json.js';

/** One complete, verified log line. */
export interface LogLine {
  kind: 'line';
  /** Offset of the first entry of the line. */
  offset: number;
  /** Number of entries in the line. */
  count: number;
  /** The entries' JSON array text. */
  json: string;
  /** Byte position where the line starts. */
  start: number;
  /** Byte position just past the line's newline. */
  end: number;
}

/** Where the valid part of a log ends. */
export interface LogEnd {
  kind: 'end';
  /** Byte length of the valid prefix. */
  end: number;
  /** The offset the next appended entry gets. */
  next: number;
  /** Whether bytes past `end` are a torn record to truncate before appending. */
  torn: boolean;
}

/** Encodes one append as a log line. */
export function formatLine(offset: number, entries: readonly JsonValue[]): Buffer {
  const json = JSON.stringify(entries);
  const head = `${offset} ${entries.length} `;
  return Buffer.from(`${head}${checksum(head, json)} ${json}\n`, 'utf8');
}

/** Parses a line's JSON text into its entries (prototype-safe), checking the count. */
export function lineEntries(line: LogLine, path: string): JsonValue[] {
  const entries = parseJsonSafe(line.json);
  if (!Array.isArray(entries) || entries.length !== line.count) {
    throw corrupt(path, line.start, line.offset);
  }
  return entries;
}

/**
 * Reads the lines of a log file from byte `start`, whose first line must have offset
 * `offset`, then reports where the valid part ends. A bad or incomplete last line is
 * reported as torn; a bad line followed by more data throws `IntegrityError`.
 */
export async function* scanLog(
  handle: FileHandle,
  path: string,
  start: number,
  offset: number,
): AsyncGenerator<LogLine | LogEnd> {
  let pos = start;
  let next = offset;
  let buffer = Buffer.alloc(0);
  let eof = false;
  let rereadAt = -1;
  for (;;) {
    let newline = buffer.indexOf(NEWLINE);
    while (newline === -1 && !eof) {
      const searched = buffer.length;
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, pos + buffer.length);
      if (bytesRead === 0) eof = true;
      else {
        buffer = Buffer.concat([buffer, chunk.subarray(0, bytesRead)]);
        newline = buffer.indexOf(NEWLINE, searched);
      }
    }
    if (newline === -1) {
      yield { kind: 'end', end: pos, next, torn: buffer.length > 0 };
      return;
    }
    const parsed = parseLine(buffer.toString('utf8', 0, newline));
    if (parsed === undefined || parsed.offset !== next) {
      // A reader may have stitched a torn tail to a line appended after its truncation:
      // read the line again from disk before judging it.
      if (rereadAt !== pos) {
        rereadAt = pos;
        buffer = Buffer.alloc(0);
        eof = false;
        continue;
      }
      const size = (await handle.stat()).size;
      if (size > pos + newline + 1) throw corrupt(path, pos, next);
      yield { kind: 'end', end: pos, next, torn: true };
      return;
    }
    const end = pos + newline + 1;
    yield { kind: 'line', offset: next, count: parsed.count, json: parsed.json, start: pos, end };
    next += parsed.count;
    pos = end;
    buffer = buffer.subarray(newline + 1);
  }
}

const NEWLINE = 0x0a;
const CHUNK = 1 << 16;
const LINE = /^(\d{1,16}) (\d{1,16}) ([0-9a-f]{8}) (\[.*\])$/s;

function parseLine(text: string): { offset: number; count: number; json: string } | undefined {
  const match = LINE.exec(text);
  if (!match) return undefined;
  const [, offset, count, crc, json] = match as unknown as [string, string, string, string, string];
  const head = `${offset} ${count} `;
  if (checksum(head, json) !== crc) return undefined;
  const n = Number(count);
  if (n < 1) return undefined;
  return { offset: Number(offset), count: n, json };
}

function checksum(head: string, json: string): string {
  return crc32(json, crc32(head)).toString(16).padStart(8, '0');
}

function corrupt(path: string, position: number, offset: number): IntegrityError {
  return new IntegrityError(
    `[keel] [fs] the log ${path} is corrupt at byte ${position} (entry offset ${offset}): a record fails its checksum; restore the file from a backup`,
    { details: { path, position, offset } },
  );
}

/**
 * @module
 * The on-disk format of an append-only log: one line per `append` call
 * (`<first offset> <count> <crc32> <writer id> <JSON array of entries>`), so a batch is
 * all-or-nothing, and a scanner that tells a torn last line (a writer killed mid-append:
 * no newline yet), which is ignored, from a complete line that fails its checksum
 * (corruption), which is an `IntegrityError`. A complete, intact line whose offset was
 * already taken is the write of a holder that lost its lock (ADR 0009): it never counts.
 * Lines of keel versions before the writer id (`<offset> <count> <crc32> <JSON>`) still read.
 */
import { randomBytes } from 'node:crypto';
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
  /** The entries' JSON array, as UTF-8 bytes (decoded only for the lines a reader wants). */
  json: Uint8Array;
  /** The writer id of the line (16 hex digits), `''` for lines of older versions. */
  writer: string;
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

/** A fresh writer id: tells one append's line from any other line with the same offset. */
export function newWriterId(): string {
  return randomBytes(8).toString('hex');
}

/** Encodes one append as a log line, tagged with its writer id (16 hex digits). */
export function formatLine(offset: number, entries: readonly JsonValue[], writer: string): Buffer {
  const json = JSON.stringify(entries);
  const head = `${offset} ${entries.length} `;
  const tag = `${writer} `;
  const crc = crc32(json, crc32(tag, crc32(head)))
    .toString(16)
    .padStart(8, '0');
  return Buffer.from(`${head}${crc} ${tag}${json}\n`, 'utf8');
}

/**
 * The line that starts at byte `position` of a log if it is complete, intact and has the
 * given offset; `undefined` otherwise.
 */
export async function lineAt(
  handle: FileHandle,
  position: number,
  offset: number,
): Promise<LogLine | undefined> {
  let buffer = Buffer.alloc(0);
  for (;;) {
    const chunk = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await handle.read(chunk, 0, CHUNK, position + buffer.length);
    if (bytesRead === 0) return undefined;
    const searched = buffer.length;
    buffer = Buffer.concat([buffer, chunk.subarray(0, bytesRead)]);
    const newline = buffer.indexOf(NEWLINE, searched);
    if (newline === -1) continue;
    const parsed = parseLine(buffer.subarray(0, newline));
    if (parsed === undefined || parsed.offset !== offset) return undefined;
    return { kind: 'line', ...parsed, start: position, end: position + newline + 1 };
  }
}

/** Parses a line's JSON text into its entries (prototype-safe), checking the count. */
export function lineEntries(line: LogLine, path: string): JsonValue[] {
  const entries = parseJsonSafe(decoder.decode(line.json));
  if (!Array.isArray(entries) || entries.length !== line.count) {
    throw corrupt(path, line.start, line.offset, undefined);
  }
  return entries;
}

/**
 * Reads the lines of a log file from byte `start`, whose first line must have offset
 * `offset`, then reports where the valid part ends. An incomplete last line (no newline) is
 * reported as torn. A complete line that fails its checksum or claims an offset past the
 * expected one throws `IntegrityError` naming the file, the byte and the offset; an intact
 * line whose offset was already taken (a fenced-out writer's) is skipped.
 *
 * Lines whose entries all come before `skip.before` are checked the same way but handed to
 * `skip.visit` instead of being yielded: a reader that starts far into a log does not pay an
 * asynchronous step per line it does not want.
 */
export async function* scanLog(
  handle: FileHandle,
  path: string,
  start: number,
  offset: number,
  skip?: { before: number; visit(line: LogLine): void },
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
    const parsed = parseLine(buffer.subarray(0, newline));
    if (parsed === undefined || parsed.offset > next) {
      // A reader may have stitched a torn tail to a line appended after its truncation:
      // read the line again from disk before judging it.
      if (rereadAt !== pos) {
        rereadAt = pos;
        buffer = Buffer.alloc(0);
        eof = false;
        continue;
      }
      throw corrupt(path, pos, next, parsed === undefined ? undefined : parsed.offset);
    }
    const end = pos + newline + 1;
    if (parsed.offset < next) {
      // Written by a holder that had lost its lock, after the offset was taken: never counts.
      pos = end;
      buffer = buffer.subarray(newline + 1);
      continue;
    }
    const line: LogLine = {
      kind: 'line',
      offset: next,
      count: parsed.count,
      json: parsed.json,
      writer: parsed.writer,
      start: pos,
      end,
    };
    if (skip !== undefined && next + parsed.count <= skip.before) skip.visit(line);
    else yield line;
    next += parsed.count;
    pos = end;
    buffer = buffer.subarray(newline + 1);
  }
}

const NEWLINE = 0x0a;
const WRITER_DIGITS = 16;
const SPACE = 0x20;
const CHUNK = 1 << 16;
const decoder = new TextDecoder();

/**
 * Parses one line (without its newline) of the form `<offset> <count> <crc32> <writer> <[json]>`:
 * 1 to 16 digits, a space, 1 to 16 digits, a space, 8 lowercase hex digits, a space, 16
 * lowercase hex digits and a space (absent in lines of older versions), then a JSON array,
 * whose checksum must match. Works on the bytes: the lines a reader skips are never decoded
 * into strings.
 */
function parseLine(
  line: Uint8Array,
): { offset: number; count: number; json: Uint8Array; writer: string } | undefined {
  const offset = digitsAt(line, 0);
  if (offset === undefined || line[offset.end] !== SPACE) return undefined;
  const count = digitsAt(line, offset.end + 1);
  if (count === undefined || line[count.end] !== SPACE) return undefined;
  const headEnd = count.end + 1;
  let crc = 0;
  for (let i = headEnd; i < headEnd + 8; i++) {
    const c = line[i];
    const digit =
      c === undefined
        ? -1
        : c >= 0x30 && c <= 0x39
          ? c - 0x30
          : c >= 0x61 && c <= 0x66
            ? c - 0x57
            : -1;
    if (digit < 0) return undefined;
    crc = crc * 16 + digit;
  }
  if (line[headEnd + 8] !== SPACE) return undefined;
  let jsonStart = headEnd + 9;
  let writer = '';
  let sum = crc32(line.subarray(0, headEnd));
  if (line[jsonStart] !== 0x5b) {
    const tagEnd = jsonStart + WRITER_DIGITS;
    for (let i = jsonStart; i < tagEnd; i++) {
      const c = line[i];
      if (c === undefined || !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)))
        return undefined;
    }
    if (line[tagEnd] !== SPACE) return undefined;
    writer = decoder.decode(line.subarray(jsonStart, tagEnd));
    sum = crc32(line.subarray(jsonStart, tagEnd + 1), sum);
    jsonStart = tagEnd + 1;
  }
  if (line.length < jsonStart + 2 || line[jsonStart] !== 0x5b || line[line.length - 1] !== 0x5d) {
    return undefined;
  }
  const json = line.subarray(jsonStart);
  if (crc32(json, sum) !== crc) return undefined;
  if (count.value < 1) return undefined;
  return { offset: offset.value, count: count.value, json, writer };
}

/** 1 to 16 ASCII digits starting at `start`: their value and where they end. */
function digitsAt(line: Uint8Array, start: number): { value: number; end: number } | undefined {
  let value = 0;
  let i = start;
  for (; i < line.length && i - start < 17; i++) {
    const c = line[i]!;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  const digits = i - start;
  if (digits < 1 || digits > 16) return undefined;
  // past 15 digits the running sum may round differently from Number(): let Number() decide
  if (digits > 15) value = Number(decoder.decode(line.subarray(start, i)));
  return { value, end: i };
}

function corrupt(
  path: string,
  position: number,
  offset: number,
  claimed: number | undefined,
): IntegrityError {
  const what =
    claimed === undefined
      ? 'a complete record fails its checksum'
      : `a record claims offset ${claimed} where ${offset} was expected`;
  return new IntegrityError(
    `[keel] [fs] the log ${path} is corrupt at byte ${position} (entry offset ${offset}): ${what}. Restore the file from a backup, or keep the entries before offset ${offset} by truncating the file to ${position} bytes (the entries from offset ${offset} on are then lost); keel neither reads past nor appends after a corrupt record`,
    { details: { path, position, offset } },
  );
}

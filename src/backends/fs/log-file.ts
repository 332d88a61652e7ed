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
  /** The entries' JSON array, as UTF-8 bytes (decoded only for the lines a reader wants). */
  json: Uint8Array;
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
  const entries = parseJsonSafe(decoder.decode(line.json));
  if (!Array.isArray(entries) || entries.length !== line.count) {
    throw corrupt(path, line.start, line.offset);
  }
  return entries;
}

/**
 * Reads the lines of a log file from byte `start`, whose first line must have offset
 * `offset`, then reports where the valid part ends. A bad or incomplete last line is
 * reported as torn; a bad line followed by more data throws `IntegrityError`.
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
    const line: LogLine = {
      kind: 'line',
      offset: next,
      count: parsed.count,
      json: parsed.json,
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
const SPACE = 0x20;
const CHUNK = 1 << 16;
const decoder = new TextDecoder();

/**
 * Parses one line (without its newline) of the form `<offset> <count> <crc32> <[json]>`:
 * 1 to 16 digits, a space, 1 to 16 digits, a space, 8 lowercase hex digits, a space and a JSON
 * array, whose checksum must match. Works on the bytes: the lines a reader skips are never
 * decoded into strings.
 */
function parseLine(
  line: Uint8Array,
): { offset: number; count: number; json: Uint8Array } | undefined {
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
  const jsonStart = headEnd + 9;
  if (
    line[headEnd + 8] !== SPACE ||
    line.length < jsonStart + 2 ||
    line[jsonStart] !== 0x5b ||
    line[line.length - 1] !== 0x5d
  ) {
    return undefined;
  }
  const json = line.subarray(jsonStart);
  if (crc32(json, crc32(line.subarray(0, headEnd))) !== crc) return undefined;
  if (count.value < 1) return undefined;
  return { offset: offset.value, count: count.value, json };
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

function checksum(head: string, json: string): string {
  return crc32(json, crc32(head)).toString(16).padStart(8, '0');
}

function corrupt(path: string, position: number, offset: number): IntegrityError {
  return new IntegrityError(
    `[keel] [fs] the log ${path} is corrupt at byte ${position} (entry offset ${offset}): a record fails its checksum; restore the file from a backup`,
    { details: { path, position, offset } },
  );
}

/**
 * @module
 * The audit chain itself: how an entry is hashed, what makes an entry fit to follow the one
 * before it, how the head document is read, and one pass over the stored log that checks
 * every link (and every MAC in the keyed range). Writing, verification and head repair all
 * read the chain through these.
 */
import { canonicalJson } from '../core/canonical-json.js';
import { type Digest, digestOfJson } from '../core/digest.js';
import { isKeelError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import type { AuditMac } from './audit-key.js';
import { type AuditHeadDoc, asAuditHead } from './records.js';
import type { AuditEntry } from './types.js';

/** The `prevHash` of the first entry. */
export const GENESIS_HASH: Digest = `sha256:${'0'.repeat(64)}`;

/** Where a chain ends: the next offset and the hash of the entry before it. */
export interface ChainState {
  next: number;
  hash: Digest;
}

/** The hash of an entry: sha256 of the canonical JSON of every field but `hash` and `mac`. */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash' | 'mac'>): Digest {
  return digestOfJson({
    offset: entry.offset,
    timestamp: entry.timestamp,
    actor: entry.actor,
    action: entry.action,
    resource: entry.resource,
    details: entry.details,
    prevHash: entry.prevHash,
  });
}

/** Why `entry` cannot stand at `offset` after an entry hashed `previous`; `undefined` if it can. */
export function entryProblem(
  entry: JsonValue,
  offset: number,
  previous: Digest,
): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return `the entry at offset ${offset} is not an object`;
  }
  const candidate = entry as unknown as AuditEntry;
  if (candidate.offset !== offset) {
    return `the entry at offset ${offset} says it is entry ${String(candidate.offset)}: entries were removed or reordered`;
  }
  if (candidate.prevHash !== previous) {
    return `the entry at offset ${offset} does not chain to the entry before it: entries were removed, reordered or edited`;
  }
  let hash: Digest;
  try {
    hash = hashAuditEntry(candidate);
  } catch {
    return `the entry at offset ${offset} cannot be hashed: it was edited`;
  }
  if (candidate.hash !== hash)
    return `the entry at offset ${offset} does not match its hash: it was edited`;
  return undefined;
}

/** Where an audit log and its head live, and the key that signs them (if any). */
export interface AuditTarget {
  metadata: MetadataStore;
  log: string;
  headKey: string;
  mac?: AuditMac;
}

/** The head document and its revision; neither when there is none. */
export async function readAuditHead(
  metadata: MetadataStore,
  headKey: string,
): Promise<{ doc?: AuditHeadDoc; revision?: string }> {
  const found = await metadata.get(headKey);
  return found === undefined
    ? {}
    : { doc: asAuditHead(found.value, headKey), revision: found.revision };
}

/** The head document as written: with a MAC over everything else when keyed. */
export async function sealAuditHead(
  doc: AuditHeadDoc,
  mac: AuditMac | undefined,
): Promise<JsonValue> {
  const { mac: _old, ...body } = doc;
  if (mac === undefined) return body as unknown as JsonValue;
  return { ...body, mac: await mac.sign(canonicalJson(body)) } as unknown as JsonValue;
}

/** What to look at during one {@link walkAuditLog}. */
export interface WalkOptions {
  /** With `keyedFrom`: every entry from that offset on must carry a valid MAC. */
  mac?: AuditMac;
  keyedFrom?: number;
  /** Remember the hash of the entry at this offset (the one a head records). */
  anchorAt?: number;
  /** Remember the hashes of up to `tailMax` entries from `tailFrom` on. */
  tailFrom?: number;
  tailMax?: number;
}

/** What one pass over the log found. */
export interface ChainWalk {
  /** Entries that chain from the first one (all of them when there is no `problem`). */
  count: number;
  /** The hash of the last entry that chains ({@link GENESIS_HASH} for none). */
  lastHash: Digest;
  /** The first entry that does not chain, fails its MAC, or that the store cannot read. */
  problem?: { offset: number; reason: string };
  /** The hash at `anchorAt`, when the walk got there. */
  anchor?: Digest;
  /** The hashes from `tailFrom` on. */
  tail: Digest[];
  /** The first offset whose entry carries a `mac` field at all. */
  firstMac?: number;
}

/**
 * Reads the audit log once and checks every link; stops at the first problem.
 *
 * @throws {StorageError} (or a custom store's own error) when the store fails for another reason
 *   than a damaged record.
 */
export async function walkAuditLog(
  metadata: MetadataStore,
  log: string,
  opts: WalkOptions = {},
): Promise<ChainWalk> {
  const walk: ChainWalk = { count: 0, lastHash: GENESIS_HASH, tail: [] };
  try {
    for await (const { offset, entry } of metadata.read(log)) {
      const problem = entryProblem(entry, offset, walk.lastHash);
      if (problem !== undefined) {
        walk.problem = { offset, reason: problem };
        return walk;
      }
      const candidate = entry as unknown as AuditEntry;
      if (walk.firstMac === undefined && candidate.mac !== undefined) walk.firstMac = offset;
      if (opts.mac !== undefined && opts.keyedFrom !== undefined && offset >= opts.keyedFrom) {
        if (!(await opts.mac.check(candidate.hash, candidate.mac))) {
          walk.problem = {
            offset,
            reason: `the entry at offset ${offset} has no valid MAC: it was written or rewritten without the auditKey`,
          };
          return walk;
        }
      }
      walk.lastHash = candidate.hash;
      walk.count++;
      if (offset === opts.anchorAt) walk.anchor = candidate.hash;
      if (
        opts.tailFrom !== undefined &&
        offset >= opts.tailFrom &&
        walk.tail.length < (opts.tailMax ?? Number.POSITIVE_INFINITY)
      ) {
        walk.tail.push(candidate.hash);
      }
    }
  } catch (error) {
    // The store itself refuses the log past this point (e.g. a record whose checksum broke).
    if (!isKeelError(error, 'KEEL_INTEGRITY')) throw error;
    walk.problem = {
      offset: walk.count,
      reason: `the store cannot read the log at offset ${walk.count}: ${error.message}`,
    };
  }
  return walk;
}

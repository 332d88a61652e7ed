/**
 * @module
 * What both ways of committing to the audit log share (one batch, or a leased head): where the
 * log and its head live, reading them, the checks before building on a head, and chaining
 * records into hashed (and, with a key, MAC'd) entries.
 */
import { canonicalJson } from '../core/canonical-json.js';
import { type Clock, isoNow } from '../core/clock.js';
import type { Digest } from '../core/digest.js';
import { ConflictError, IntegrityError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import type { AuditRecord } from './audit.js';
import {
  type AuditTarget,
  type ChainState,
  hashAuditEntry,
  readAuditHead,
  sealAuditHead,
} from './audit-chain.js';
import type { AuditMac } from './audit-key.js';
import type { AuditHeadDoc } from './records.js';
import type { AuditEntry } from './types.js';

/** The audit log's place in a store, and the reads and entry building its writers share. */
export class AuditWriter {
  /** The store of the log and its head. */
  readonly metadata: MetadataStore;
  /** The log's name. */
  readonly log: string;
  /** The head document's key. */
  readonly headKey: string;
  /** Signs and checks entries and the head, when the log is keyed. */
  readonly mac: AuditMac | undefined;
  /** The log as `verifyAuditLog` reads it. */
  readonly target: AuditTarget;
  readonly #clock: Clock;

  /** A writer of `log` (head `headKey`) in `metadata`, timestamped by `clock`. */
  constructor(
    metadata: MetadataStore,
    log: string,
    headKey: string,
    mac: AuditMac | undefined,
    clock: Clock,
  ) {
    this.metadata = metadata;
    this.log = log;
    this.headKey = headKey;
    this.mac = mac;
    this.#clock = clock;
    this.target = { metadata, log, headKey, ...(mac === undefined ? {} : { mac }) };
  }

  /**
   * The head document and its revision (both undefined when there is none).
   *
   * @throws {IntegrityError} (as a rejection) when the head document is malformed.
   */
  readHead(): ReturnType<typeof readAuditHead> {
    return readAuditHead(this.metadata, this.headKey);
  }

  /** The log's entries from `from` on, as stored. */
  async readTail(from: number): Promise<JsonValue[]> {
    const out: JsonValue[] = [];
    for await (const { entry } of this.metadata.read(this.log, { from })) out.push(entry);
    return out;
  }

  /** Whether the log holds an entry at `from` or later. */
  async hasEntriesFrom(from: number): Promise<boolean> {
    for await (const _ of this.metadata.read(this.log, { from })) return true;
    return false;
  }

  /** The head document as stored: with its MAC when the log is keyed. */
  seal(doc: AuditHeadDoc): Promise<JsonValue> {
    return sealAuditHead(doc, this.mac);
  }

  /** Where keyed entries start once this log writes: kept, or from now on. */
  keyedFromFor(doc: AuditHeadDoc | undefined): { keyedFrom?: number } {
    if (this.mac === undefined) return {};
    return { keyedFrom: doc?.keyedFrom ?? doc?.next ?? 0 };
  }

  /**
   * Refuses to build on a head this log cannot vouch for, or on a log without a head.
   *
   * @throws {ConflictError} (as a rejection) when the head appeared while it was being read.
   * @throws {IntegrityError} (as a rejection) when the log has entries but no head, or the head's
   *   MAC does not verify under this key.
   * @throws {ValidationError} (as a rejection) when the log is keyed and this writer has no key.
   */
  async checkBeforeWriting(doc: AuditHeadDoc | undefined): Promise<void> {
    const { log, headKey, mac } = this;
    if (doc === undefined) {
      if (await this.hasEntriesFrom(0)) {
        // Another process may have committed its first batch (head and entries together)
        // between our read of the head and of the log: that is a lost race, not a lost head.
        if ((await this.metadata.get(headKey)) !== undefined) {
          throw new ConflictError(
            `[keel] [registry] the audit head ${headKey} appeared while it was being read: another process committed first; read again and retry`,
          );
        }
        throw new IntegrityError(
          `[keel] [registry] the audit log ${log} has entries but its head document ${headKey} is missing, so appended or removed entries could not be told apart; restore ${headKey} from a backup, or run keel.doctor(), which rebuilds it from the log when the chain verifies`,
          { details: { log, head: headKey } },
        );
      }
      return;
    }
    if (mac === undefined) {
      if (doc.keyedFrom !== undefined) {
        throw new ValidationError(
          `[keel] [registry] the audit log ${log} is protected by an auditKey (from offset ${doc.keyedFrom}): pass the same auditKey to createRegistry or createKeel`,
        );
      }
      return;
    }
    if (doc.mac !== undefined || doc.keyedFrom !== undefined) {
      const { mac: claimed, ...body } = doc;
      if (!(await mac.check(canonicalJson(body), claimed))) {
        throw new IntegrityError(
          `[keel] [registry] the audit head ${headKey} does not carry a valid MAC for this auditKey: the key differs from the one the log was written with, or the head was edited; run verifyAudit() and investigate`,
          { details: { head: headKey } },
        );
      }
    }
  }

  /** The entries of `records`, chained on from `state`, timestamped now. */
  async chain(records: AuditRecord[], state: ChainState): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    let { next, hash } = state;
    for (const record of records) {
      const entry = await this.makeEntry(record, next, hash, isoNow(this.#clock));
      out.push(entry);
      next++;
      hash = entry.hash;
    }
    return out;
  }

  /** The entry of `record` at `offset` after `prevHash`: hashed, and MAC'd when keyed. */
  async makeEntry(
    record: AuditRecord,
    offset: number,
    prevHash: Digest,
    timestamp: string,
  ): Promise<AuditEntry> {
    const unhashed = {
      offset,
      timestamp,
      actor: record.actor,
      action: record.action,
      resource: record.resource,
      details: record.details,
      prevHash,
    };
    const hash = hashAuditEntry(unhashed);
    return this.mac === undefined
      ? { ...unhashed, hash }
      : { ...unhashed, hash, mac: await this.mac.sign(hash) };
  }
}

/** Entries as the store's JSON values. */
export function asJson(value: unknown): JsonValue {
  return value as JsonValue;
}

/** A short random pause before retrying, growing with `attempt`. */
export function pause(attempt: number): Promise<void> {
  const ms = Math.min(50, 1 + attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

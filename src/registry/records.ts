/**
 * @module
 * Where the registry keeps its documents in the MetadataStore, and the shapes of those
 * documents. Model names and aliases are validated before they become key segments.
 */
import type { Digest } from '../core/digest.js';
import { StorageError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { MetadataStore } from '../metadata/types.js';
import type { AliasChange, Approval, AuditEntry, Model, ModelVersion } from './types.js';

/** The log that holds the audit chain. */
export const AUDIT_LOG = 'registry/audit';
/** The document that records the audit chain's head (next offset, last hash, append lease). */
export const AUDIT_HEAD = 'registry/audit-head';

/** Prefix of every model document. */
export const MODELS_PREFIX = 'registry/models/';

/** Key of a model document. */
export function modelKey(model: string): string {
  return `${MODELS_PREFIX}${model}`;
}

/** Key of a version document; numbers are zero-padded so key order is number order. */
export function versionKey(model: string, version: number): string {
  return `${versionsPrefix(model)}${padVersion(version)}`;
}

/** Prefix of a model's version documents. */
export function versionsPrefix(model: string): string {
  return `registry/versions/${model}/`;
}

/** Key of the document that remembers the highest version known to be taken. */
export function counterKey(model: string): string {
  return `registry/counters/${model}`;
}

/** Key of an alias document (current version plus full history). */
export function aliasKey(model: string, alias: string): string {
  return `${aliasesPrefix(model)}${alias}`;
}

/** Prefix of a model's alias documents. */
export function aliasesPrefix(model: string): string {
  return `registry/aliases/${model}/`;
}

/** Key of the approvals of one version for one alias. */
export function approvalsKey(model: string, version: number, alias: string): string {
  return `registry/approvals/${model}/${padVersion(version)}/${alias}`;
}

/**
 * Key of the newest gate report evaluated for one model version and policy (by the policy's
 * digest): a report older than the one recorded here no longer counts.
 */
export function gateReportKey(model: string, version: number, policyDigest: Digest): string {
  return `registry/gate-reports/${model}/${padVersion(version)}/${policyDigest.slice(7)}`;
}

/** The newest gate report of one model version and policy. */
export interface GateReportIndexDoc {
  digest: Digest;
  decision: 'pass' | 'warn' | 'fail';
  evaluatedAt: string;
}

/** Zero-pads a version number to 10 digits. */
export function padVersion(version: number): string {
  return String(version).padStart(10, '0');
}

/** An alias document: where the alias points now, and every move. */
export interface AliasDoc {
  model: string;
  alias: string;
  /** `null` after a delete (the document stays so that the history survives). */
  version: number | null;
  history: AliasChange[];
}

/** The approvals document of one version and alias. */
export interface ApprovalsDoc {
  approvals: Approval[];
}

/** The counter document: the highest version number known to be taken. */
export interface CounterDoc {
  last: number;
}

/**
 * The head of the audit chain: how many entries the log holds and the hash of the last one,
 * written atomically with them when the store has batches. Without batches it also holds
 * the lease of the process writing and the entries it is about to append.
 */
export interface AuditHeadDoc {
  next: number;
  hash: Digest;
  /** With an audit key: the first offset whose entries carry a MAC. */
  keyedFrom?: number;
  /** With an audit key: HMAC of the canonical JSON of every other field. */
  mac?: string;
  lease?: { token: string; expires: number };
  /** The entries the lease holder is committing; the next holder finishes or drops them. */
  pending?: PendingEntry[];
  /** Written by older keel versions after a failed append: the tail is adopted. */
  dirty?: boolean;
}

/** An audit entry whose change is being written, and how to tell whether the change landed. */
export interface PendingEntry {
  entry: AuditEntry;
  /** The change's decisive document and the digest of the value it was written with. */
  check?: { key: string; digest: Digest };
}

/** Reads a stored model document. */
export function asModel(value: JsonValue, key: string): Model {
  return expectObject<Model>(value, key, ['name', 'createdAt']);
}

/** Reads a stored version document. */
export function asVersion(value: JsonValue, key: string): ModelVersion {
  const doc = expectObject<ModelVersion>(value, key, ['model', 'version', 'artifact', 'status']);
  if (typeof doc.version !== 'number') throw corrupt(key, 'its version is not a number');
  return doc;
}

/** Reads a stored alias document. */
export function asAliasDoc(value: JsonValue, key: string): AliasDoc {
  const doc = expectObject<AliasDoc>(value, key, ['alias', 'history']);
  if (!Array.isArray(doc.history)) throw corrupt(key, 'its history is not a list');
  return doc;
}

/** Reads a stored approvals document. */
export function asApprovalsDoc(value: JsonValue, key: string): ApprovalsDoc {
  const doc = expectObject<ApprovalsDoc>(value, key, ['approvals']);
  if (!Array.isArray(doc.approvals)) throw corrupt(key, 'its approvals are not a list');
  return doc;
}

/** Reads a stored counter document. */
export function asCounterDoc(value: JsonValue, key: string): CounterDoc {
  const doc = expectObject<CounterDoc>(value, key, ['last']);
  if (typeof doc.last !== 'number' || !Number.isInteger(doc.last) || doc.last < 0) {
    throw corrupt(key, 'its counter is not a non-negative integer');
  }
  return doc;
}

/** Reads the stored audit head. */
export function asAuditHead(value: JsonValue, key: string): AuditHeadDoc {
  const doc = expectObject<AuditHeadDoc>(value, key, ['next', 'hash']);
  if (typeof doc.next !== 'number' || typeof doc.hash !== 'string') {
    throw corrupt(key, 'its next offset or hash is malformed');
  }
  return doc;
}

/** Reads an alias document and its revision; `undefined` when the alias was never set. */
export async function readAliasDoc(
  metadata: MetadataStore,
  model: string,
  alias: string,
): Promise<{ doc: AliasDoc; revision: string } | undefined> {
  const key = aliasKey(model, alias);
  const found = await metadata.get(key);
  return found === undefined
    ? undefined
    : { doc: asAliasDoc(found.value, key), revision: found.revision };
}

/** The approvals recorded for one version and alias (none when the document is absent). */
export async function readApprovals(
  metadata: MetadataStore,
  model: string,
  version: number,
  alias: string,
): Promise<Approval[]> {
  const key = approvalsKey(model, version, alias);
  const found = await metadata.get(key);
  return found === undefined ? [] : asApprovalsDoc(found.value, key).approvals;
}

/** Deep-freezes a record so that callers cannot change what the cache returns. */
export function freeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) freeze(item);
    Object.freeze(value);
  }
  return value;
}

function expectObject<T>(value: JsonValue, key: string, fields: string[]): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw corrupt(key, 'it is not an object');
  }
  for (const field of fields) {
    if (!(field in value)) throw corrupt(key, `it has no "${field}"`);
  }
  return value as T;
}

function corrupt(key: string, why: string): StorageError {
  return new StorageError(
    `[keel] [registry] the document ${key} is malformed: ${why}; restore it from a backup or remove it`,
    { details: { key } },
  );
}

/**
 * @module
 * The public shapes of the model registry: models, immutable versions, aliases and their
 * history, policies, the authorizer, audit entries, lineage reports and the `Registry` itself.
 */
import type { ArtifactRef } from '../artifacts/types.js';
import type { Digest } from '../core/digest.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { Actor, Tags } from '../core/schemas.js';
import type { GatePolicy } from '../gates/schema.js';
import type { GateReport } from '../gates/types.js';
import type { LineageRef } from '../tracking/types.js';

/** A registered model: a name that groups numbered versions. */
export interface Model {
  /** The model's name (unique in the registry). */
  name: string;
  /** What the model is for. */
  description?: string;
  /** Free-form labels. */
  tags: Tags;
  /** ISO-8601 time of creation. */
  createdAt: string;
  /** Id of the actor who created it. */
  createdBy: string;
}

/** The input and output contract of a model, as JSON Schema objects. */
export interface ModelSignature {
  /** JSON Schema of what the model accepts. */
  inputs?: JsonObject;
  /** JSON Schema of what the model returns. */
  outputs?: JsonObject;
}

/** One immutable, numbered version of a model. Only `status` ever changes (to `archived`). */
export interface ModelVersion {
  /** The model's name. */
  model: string;
  /** 1, 2, 3, ... per model, without gaps. */
  version: number;
  /** The stored artifact (its digest, size and media type as the store reported them). */
  artifact: ArtifactRef;
  /** The tracked run that produced it. */
  runId?: string;
  /** Datasets and artifacts it was built from. */
  inputs: LineageRef[];
  /** Metrics registered with the version (what gates re-check). */
  metrics: Record<string, number>;
  /** Input and output schemas, when registered. */
  signature?: ModelSignature;
  /** Free-form labels. */
  tags: Tags;
  /** What changed in this version. */
  description?: string;
  /** `archived` versions cannot be aliased again. */
  status: 'ready' | 'archived';
  /** ISO-8601 time of registration. */
  createdAt: string;
  /** Id of the actor who registered it. */
  createdBy: string;
}

/** What an alias change did: set it, delete it, or roll it back. */
export type AliasChangeKind = 'set' | 'delete' | 'rollback';

/** One move of an alias, as kept in its history. */
export interface AliasChange {
  /** The model's name. */
  model: string;
  /** The alias moved. */
  alias: string;
  /** The version the alias points to after the change (`null` when deleted). */
  version: number | null;
  /** The version it pointed to before (`null` when it did not exist). */
  previousVersion: number | null;
  /** Who moved it. */
  actor: Actor;
  /** Why, as the caller said. */
  reason?: string;
  /** Digest of the gate report cited as evidence. */
  evidence?: Digest;
  /** ISO-8601 time of the change. */
  at: string;
  /** What the change was. */
  kind: AliasChangeKind;
}

/** A recorded approval of one version for one alias. */
export interface Approval {
  /** The model's name. */
  model: string;
  /** The version approved. */
  version: number;
  /** The alias the approval is for. */
  alias: string;
  /** Who approved. */
  actor: Actor;
  /** What the approver said. */
  comment?: string;
  /** ISO-8601 time of the approval. */
  at: string;
}

/** The request an {@link Authorizer} decides on. */
export interface AuthorizationRequest {
  /** Who asks. */
  actor: Actor;
  /** One of {@link RegistryActions}. */
  action: string;
  /** What the action touches. */
  resource: AuditResource;
}

/** Decides whether an actor may perform an action; `true` allows. A throw counts as a denial. */
export type Authorizer = (req: AuthorizationRequest) => boolean | Promise<boolean>;

/** Governance of one alias (for every model, or only `model` when given). */
export interface AliasPolicy {
  /** The alias this policy governs. */
  alias: string;
  /** Restricts the policy to one model; without it the policy applies to every model. */
  model?: string;
  /**
   * `setAlias` needs `evidence`: a gate report about this version, evaluated by keel, that the
   * registry judges again on the policy and evidence it names. `true` accepts any policy
   * evaluated on the version's registered metrics; `{ policy }` names the policy that counts.
   */
  requireGate?: boolean | RequireGate;
  /** Distinct approvers needed (through `approve`) before `setAlias` moves the alias. */
  requiredApprovals?: number;
  /** Only actors with one of these roles may set, delete or roll back the alias. */
  allowedRoles?: string[];
  /** Only actors with one of these roles may approve versions for the alias. */
  approverRoles?: string[];
}

/** What a `requireGate` alias policy asks of the evidence. */
export interface RequireGate {
  /**
   * The gate policy the report must have evaluated: the policy itself, or the name of one in
   * the registry's `gatePolicies`. Its canonical digest is what counts. Without it, any policy.
   */
  policy?: GatePolicy | string;
  /**
   * `registered` (default): the candidate metrics in the evidence must equal the version's
   * registered metrics. `asserted`: they may be any the caller measured (a live canary); the
   * registry still judges the report again, but cannot tell where they came from.
   */
  metrics?: 'registered' | 'asserted';
  /** Whether a `warn` decision satisfies the requirement. Default `false`: only `pass` does. */
  acceptWarn?: boolean;
}

/** What an audit entry is about. */
export interface AuditResource {
  /** The model concerned. */
  model?: string;
  /** The alias concerned. */
  alias?: string;
  /** The version concerned. */
  version?: number;
}

/** One entry of the hash-chained audit log. */
export interface AuditEntry {
  /** Position in the log: 0, 1, 2, ... */
  offset: number;
  /** ISO-8601 time of the entry. */
  timestamp: string;
  /** Who acted. */
  actor: Actor;
  /** What was done, e.g. `alias:set` (see `RegistryActions`). */
  action: string;
  /** What it was done to. */
  resource: AuditResource;
  /** `outcome` (`'ok'`, `'denied'` or `'refused'`) plus what the action changed. */
  details: { [key: string]: JsonValue };
  /** `hash` of the previous entry (a fixed genesis value for the first). */
  prevHash: Digest;
  /** sha256 of the canonical JSON of this entry without `hash` (and `mac`). */
  hash: Digest;
  /** With an `auditKey`: `hmac-sha256:<hex>` of `hash` under the key. */
  mac?: string;
}

/** The result of {@link Registry.verifyAudit}. */
export interface AuditVerification {
  /** Whether the whole chain verified. */
  ok: boolean;
  /** Entries read. */
  entries: number;
  /** The first offset whose entry was edited, removed, reordered or is missing. */
  firstBadOffset?: number;
  /** Why verification failed, in words. */
  reason?: string;
  /** The hash of the last good entry: publish it elsewhere to anchor the log. */
  headHash: Digest;
  /** Verified with an `auditKey`: the first offset whose entries (and the head) carry a checked MAC. */
  authenticatedFrom?: number;
}

/** One item checked by {@link Registry.verifyLineage}. */
export interface LineageItem {
  /** What was checked: the artifact, an input, or the producing run. */
  kind: 'artifact' | 'input' | 'run';
  /** A digest, or a run id. */
  ref: string;
  /** `unchecked`: no way to check it was configured (a run without `runExists`). */
  status: 'ok' | 'missing' | 'corrupt' | 'unchecked';
  /** What is wrong, when the status is not `ok`. */
  message?: string;
}

/** Can this version be rebuilt from immutable inputs? */
export interface LineageReport {
  /** The model's name. */
  model: string;
  /** The version checked. */
  version: number;
  /** True when no item is missing or corrupt. */
  ok: boolean;
  /** One item per referenced digest or run. */
  items: LineageItem[];
}

/** Options of {@link Registry.gc}. */
export interface GcOptions {
  /** Default `true`: only report. `false` deletes the unreferenced blobs. */
  dryRun?: boolean;
  /**
   * Digests referenced outside the registry (runs, pipeline caches, datasets), which must be
   * kept. Required when `dryRun` is `false`: pass `[]` to state that there are none.
   */
  references?: Iterable<Digest> | AsyncIterable<Digest>;
  /** Blobs younger than this are kept (a put may be about to be registered). Default 24 h. */
  minAgeMs?: number;
  /** Let archived versions' blobs go (when nothing else references them). Default `false`. */
  releaseArchived?: boolean;
  /** Who runs the collection (audited). */
  actor?: Actor;
}

/** What {@link Registry.gc} found, and in real mode did. */
export interface GcPlan {
  /** Whether this was only a report. */
  dryRun: boolean;
  /** Blobs in the artifact store. */
  scanned: number;
  /** Blobs referenced by a version, an alias history (evidence) or `references`. */
  referenced: number;
  /** Unreferenced blobs old enough to go, in digest order. */
  unreferenced: Array<{
    /** The blob's digest. */
    digest: Digest;
    /** Its size in bytes. */
    size: number;
    /** When it was stored. */
    createdAt: string;
  }>;
  /** Unreferenced but younger than `minAgeMs`: kept. */
  tooYoung: number;
  /** Bytes the unreferenced blobs take. */
  bytes: number;
  /** Digests actually deleted (empty in a dry run). */
  deleted: Digest[];
}

/** The registry's events: event name to payload. */
export interface RegistryEvents {
  /** A model was created. */
  'model:created': {
    /** The model's name. */
    model: string;
    /** Who acted (actor id). */
    actor: string;
  };
  /** A version was registered. */
  'model:registered': {
    /** The model's name. */
    model: string;
    /** The new version's number. */
    version: number;
    /** The model artifact's digest. */
    artifact: Digest;
    /** Who acted (actor id). */
    actor: string;
  };
  /** A version was archived. */
  'version:archived': {
    /** The model's name. */
    model: string;
    /** The version archived. */
    version: number;
    /** Who acted (actor id). */
    actor: string;
  };
  /** A version was approved for an alias. */
  'version:approved': {
    /** The model's name. */
    model: string;
    /** The version approved. */
    version: number;
    /** The alias the approval is for. */
    alias: string;
    /** Who acted (actor id). */
    actor: string;
  };
  /** An alias was set, deleted or rolled back. */
  'alias:changed': {
    /** The model's name. */
    model: string;
    /** The alias moved. */
    alias: string;
    /** Where it points now (`null`: deleted). */
    version: number | null;
    /** Where it pointed before (`null`: it did not exist). */
    previousVersion: number | null;
    /** How it moved. */
    kind: AliasChangeKind;
    /** Who acted (actor id). */
    actor: string;
  };
}

/** Options of {@link Registry.registerVersion}. */
export interface RegisterVersionOptions {
  /** The stored artifact: its digest, or a ref (checked against the store). */
  artifact: ArtifactRef | Digest;
  /** The tracked run that produced the model (must exist in the tracker). */
  runId?: string;
  /** Datasets and artifacts the model was built from (lineage). */
  inputs?: LineageRef[];
  /** Metrics to register (gates check these). */
  metrics?: Record<string, number>;
  /** Input and output schemas. */
  signature?: ModelSignature;
  /** Free-form labels. */
  tags?: Tags;
  /** What changed in this version. */
  description?: string;
  /** Who registers (default: the registry's actor). */
  actor?: Actor;
}

/** Options of {@link Registry.setAlias}. */
export interface SetAliasOptions {
  /** Who moves the alias (default: the registry's actor). */
  actor?: Actor;
  /** Why, recorded in the alias history and audit log. */
  reason?: string;
  /** A gate report about this version (required by policies with `requireGate`). */
  evidence?: GateReport;
  /** Compare-and-swap: the version the alias must point to now (`null`: must not exist). */
  expectedVersion?: number | null;
}

/** The model registry: versions, aliases, governance, audit and lineage. */
export interface Registry {
  /**
   * Creates a model (registerVersion also creates one on first use).
   *
   * @throws {ValidationError} when `name` breaks the model-name rules (a letter or digit first,
   *   then letters, digits, `.`, `_` and `-`, at most 256 characters) or an option is invalid.
   * @throws {ConflictError} when the model exists.
   * @throws {UnauthorizedError} when the authorizer denies it (the denial is audited).
   */
  createModel(
    name: string,
    opts?: { description?: string; tags?: Tags; actor?: Actor },
  ): Promise<Model>;
  /**
   * A model's name, description, tags and creation.
   *
   * @throws {ValidationError} when `name` is not a valid model name.
   * @throws {NotFoundError} when there is no such model.
   */
  getModel(name: string): Promise<Model>;
  /**
   * Models in name order, a page at a time (`limit` default 100).
   *
   * @throws {ValidationError} when `limit` or `cursor` is invalid.
   */
  listModels(opts?: { cursor?: string; limit?: number }): Promise<{
    /** This page of models. */
    models: Model[];
    /** Pass as `cursor` for the next page; absent on the last. */
    nextCursor?: string;
  }>;
  /**
   * Registers the next version (1, 2, … per model; never reused), creating the model when
   * needed. The artifact must already be in the artifact store.
   *
   * @throws {ValidationError} when the model name or an option is invalid (a NaN metric, a
   *   malformed digest, …), or an `ArtifactRef`'s size or media type differs from the stored one.
   * @throws {NotFoundError} when the artifact is not in the store, or `runId` names a run the
   *   tracker does not know (through `createKeel`, or a registry given `runExists`).
   * @throws {UnauthorizedError} when the authorizer denies it (the denial is audited).
   */
  registerVersion(name: string, opts: RegisterVersionOptions): Promise<ModelVersion>;
  /**
   * A version by number (or numeric string), alias or `'latest'` (the highest ready version).
   *
   * @throws {ValidationError} when the model name or `ref` is invalid.
   * @throws {NotFoundError} when the model, the version or the alias does not exist.
   */
  getVersion(name: string, ref: number | string): Promise<ModelVersion>;
  /**
   * The version an alias (or `'latest'`) points to. Cached, as the serving hot path: for up to
   * `resolveCacheMs`, or until a change this registry (or the store's watch) sees.
   *
   * @throws {ValidationError} when the model name or alias is invalid.
   * @throws {NotFoundError} when the model or the alias does not exist, or `latest` has no
   *   ready version.
   */
  resolve(name: string, alias: string): Promise<ModelVersion>;
  /**
   * Versions in number order, archived ones included, a page at a time (`limit` default 100).
   *
   * @throws {ValidationError} when the model name, `limit` or `cursor` is invalid.
   * @throws {NotFoundError} when there is no such model.
   */
  listVersions(
    name: string,
    opts?: { cursor?: string; limit?: number },
  ): Promise<{
    /** This page of versions. */
    versions: ModelVersion[];
    /** Pass as `cursor` for the next page; absent on the last. */
    nextCursor?: string;
  }>;
  /**
   * Points an alias at a version, under its policy: the policy may require a passing gate
   * report about this very version (`evidence`), distinct approvals, or actor roles. The move,
   * with its reason and evidence digest, is recorded in the alias history and the audit log.
   *
   * @example
   * ```ts
   * const policy = {
   *   name: 'release',
   *   rules: [{ kind: 'metric' as const, metric: 'auc', min: 0.8 }],
   * };
   * const { digest } = await keel.artifacts.put(JSON.stringify({ weights: [0.4, 1.2] }));
   * const v = await keel.registry.registerVersion('churn', {
   *   artifact: digest,
   *   metrics: { auc: 0.91 },
   * });
   * const report = await keel.gates.evaluate(
   *   policy,
   *   { candidate: { metrics: v.metrics } },
   *   { subject: { model: 'churn', version: v.version } },
   * );
   * await keel.registry.setAlias('churn', 'production', v.version, {
   *   reason: 'beats the baseline',
   *   evidence: report,
   * });
   * ```
   * @throws {ValidationError} when the model name, alias (`[a-z][a-z0-9_-]{0,63}`, not
   *   `latest`), version or an option is invalid.
   * @throws {NotFoundError} when the model or the version does not exist.
   * @throws {PolicyError} when the alias policy refuses it: gate evidence absent, failed, about
   *   another version, or unreadable; too few approvals (the refusal is audited).
   * @throws {UnauthorizedError} when the authorizer or the policy's `allowedRoles` deny the
   *   actor (audited).
   * @throws {ConflictError} when the version is archived, or `expectedVersion` is given and the
   *   alias points elsewhere.
   */
  setAlias(
    name: string,
    alias: string,
    version: number,
    opts?: SetAliasOptions,
  ): Promise<AliasChange>;
  /**
   * Removes an alias (its history stays; a rollback can restore it).
   *
   * @throws {ValidationError} when the model name, alias or an option is invalid.
   * @throws {NotFoundError} when the alias does not exist (or was already deleted).
   * @throws {UnauthorizedError} when the authorizer or the policy's `allowedRoles` deny it.
   */
  deleteAlias(
    name: string,
    alias: string,
    opts?: { actor?: Actor; reason?: string },
  ): Promise<void>;
  /**
   * Moves an alias back to the version it pointed to before its last move (repeated
   * rollbacks walk further back). No gate or approval is required: a rollback restores a
   * version the alias served before.
   *
   * @throws {ValidationError} when the model name, alias or an option is invalid.
   * @throws {NotFoundError} when the alias does not exist.
   * @throws {ConflictError} when there is no earlier version, or that version is archived.
   * @throws {UnauthorizedError} when the authorizer or the policy's `allowedRoles` deny it.
   */
  rollback(
    name: string,
    alias: string,
    opts?: { actor?: Actor; reason?: string },
  ): Promise<AliasChange>;
  /**
   * Every move of an alias, oldest first; empty for an alias never set.
   *
   * @throws {ValidationError} when the model name or alias is invalid.
   * @throws {NotFoundError} when there is no such model.
   */
  aliasHistory(name: string, alias: string): Promise<AliasChange[]>;
  /**
   * The aliases of a model and the versions they point to (deleted aliases left out).
   *
   * @throws {ValidationError} when the model name is invalid.
   * @throws {NotFoundError} when there is no such model.
   */
  listAliases(name: string): Promise<Record<string, number>>;
  /**
   * Records the actor's approval of a version for an alias (approving twice counts once).
   * Policies with `requiredApprovals` count distinct approvers.
   *
   * @throws {ValidationError} when the model name, version or `opts.alias` is invalid.
   * @throws {NotFoundError} when the model or the version does not exist.
   * @throws {ConflictError} when the version is archived.
   * @throws {UnauthorizedError} when the authorizer or the policy's `approverRoles` deny it.
   */
  approve(
    name: string,
    version: number,
    opts: { alias: string; actor?: Actor; comment?: string },
  ): Promise<void>;
  /**
   * The approvals recorded for a version and alias, oldest first (empty when none).
   *
   * @throws {ValidationError} when the model name, version or alias is invalid.
   */
  approvals(name: string, version: number, alias: string): Promise<Approval[]>;
  /**
   * Marks a version archived (never deleted, never renumbered): no alias may point to it, and
   * `latest` skips it. Archiving an archived version changes nothing.
   *
   * @throws {ValidationError} when the model name, version or an option is invalid.
   * @throws {NotFoundError} when the model or the version does not exist.
   * @throws {ConflictError} when an alias still points to the version.
   * @throws {UnauthorizedError} when the authorizer denies it.
   */
  archiveVersion(
    name: string,
    version: number,
    opts?: { actor?: Actor; reason?: string },
  ): Promise<ModelVersion>;
  /**
   * Streams the audit log from offset `from` (default 0), entries as stored, without checking
   * the chain (that is {@link Registry.verifyAudit}).
   *
   * @throws {ValidationError} (synchronously) when `from` is not a non-negative integer.
   */
  audit(opts?: { from?: number }): AsyncIterable<AuditEntry>;
  /**
   * Recomputes the hash chain (and, with an `auditKey`, checks every MAC) from the first entry
   * to the head. A broken chain is reported in the result (`ok: false`, `firstBadOffset`,
   * `reason`), not thrown.
   *
   * @throws {IntegrityError} (as a rejection) when the audit head document is unreadable.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  verifyAudit(): Promise<AuditVerification>;
  /**
   * Checks that a version's artifact, inputs and run exist and are intact (each blob is read
   * through and verified). Problems are reported per item, not thrown.
   *
   * @throws {ValidationError} when the model name or version is invalid.
   * @throws {NotFoundError} when the model or the version does not exist.
   */
  verifyLineage(name: string, version: number): Promise<LineageReport>;
  /**
   * Plans (and with `dryRun: false` performs) the removal of blobs nothing references and
   * that are older than `minAgeMs`. Dry run by default.
   *
   * @throws {ValidationError} when an option or a reference is invalid, or `dryRun: false` is
   *   given without `references`.
   * @throws {UnauthorizedError} when the authorizer denies a real run.
   */
  gc(opts?: GcOptions): Promise<GcPlan>;
}

/**
 * @module
 * What every part of the registry shares: the stores, the clock, telemetry, the event
 * emitter, the default actor, the authorizer and policies, the resolve cache and the audit
 * log. `createRegistry` builds one context and hands it to each group of methods.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { Clock } from '../core/clock.js';
import type { Emit } from '../core/events.js';
import type { Actor } from '../core/schemas.js';
import type { Telemetry } from '../core/telemetry.js';
import type { GatePolicy } from '../gates/schema.js';
import type { MetadataStore } from '../metadata/types.js';
import type { AuditLog } from './audit.js';
import type { EvidenceSources } from './evidence.js';
import type { ResolveCache } from './resolve.js';
import type { AliasPolicy, Authorizer, RegistryEvents } from './types.js';

/** The shared state of one registry. */
export interface RegistryContext {
  readonly metadata: MetadataStore;
  readonly artifacts: ArtifactStore;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly emit: Emit<RegistryEvents>;
  /** The actor of calls that pass none. */
  readonly defaultActor: Actor;
  readonly authorizer: Authorizer;
  readonly policies: readonly AliasPolicy[];
  /** The injected run lookup, when one was given (`registerVersion` checks run ids with it). */
  readonly runExists: ((runId: string) => Promise<boolean>) | undefined;
  /** The run lookup of `verifyLineage`: the injected one, or the tracker's run documents. */
  readonly lookupRun: (runId: string) => Promise<boolean>;
  /** The registry's gate policies by name (`requireGate: { policy: name }`). */
  readonly gatePolicies: ReadonlyMap<string, GatePolicy>;
  /** What checking gate evidence reads: reports, policies and evidence, and the judge. */
  readonly evidence: EvidenceSources;
  /** The resolve cache shared by every registry over `metadata`. */
  readonly cache: ResolveCache;
  /** How long a cached resolution is trusted (ms). */
  readonly ttl: number;
  /** The hash-chained audit log. */
  readonly audit: AuditLog;
}

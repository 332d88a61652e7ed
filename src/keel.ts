/**
 * @module
 * `createKeel`: the composition root. It joins a backend, telemetry, a clock, an actor
 * and one event bus, and hands them to every service.
 */
import type { Meter, Tracer } from '@opentelemetry/api';
import { type ArtifactEvents, instrumentArtifactStore } from './artifacts/instrumented.js';
import type { ArtifactStore } from './artifacts/types.js';
import type { Backend } from './backends/backend.js';
import { type Clock, systemClock } from './core/clock.js';
import { isKeelError, ValidationError } from './core/errors.js';
import { type Emit, SafeEmitter } from './core/events.js';
import { type Actor, actorSchema } from './core/schemas.js';
import { createTelemetry, type Telemetry } from './core/telemetry.js';
import { assertReadableObject, parseWith } from './core/validate.js';
import { createDriftService, type DriftEvents, type DriftService } from './drift/service.js';
import { createGateEvaluator, type GateEvaluator, type GateEvents } from './gates/evaluator.js';
import type { GatePolicy } from './gates/schema.js';
import {
  createOpenLineageEmitter,
  type OpenLineageEmitter,
  type OpenLineageOptions,
} from './lineage/openlineage/emitter.js';
import type { MetadataStore } from './metadata/types.js';
import { type DoctorOptions, type DoctorReport, runDoctor } from './ops/doctor.js';
import type { PipelineEvents } from './pipeline/events.js';
import type { AuditKey } from './registry/audit-key.js';
import { auditHeadRepairer } from './registry/audit-repair.js';
import { withReportIndex } from './registry/evidence.js';
import { createRegistry } from './registry/registry.js';
import type { AliasPolicy, Authorizer, Registry, RegistryEvents } from './registry/types.js';
import { createTracker } from './tracking/tracker.js';
import type { Tracker, TrackerEvents } from './tracking/types.js';

/** Options of {@link createKeel}. */
export interface KeelOptions {
  /** Where everything is stored: `memoryBackend()` or `fsBackend({ root })` from `keel/fs`. */
  backend: Backend;
  /** The default actor recorded in audit entries. Default `{ id: 'anonymous' }`. */
  actor?: Actor;
  /** Source of every timestamp. Default: the system clock. */
  clock?: Clock;
  /** OpenTelemetry tracer. Default: the global API's (a no-op until an SDK is registered). */
  tracer?: Tracer;
  /** OpenTelemetry meter. Default: the global API's. */
  meter?: Meter;
  /** Decides every registry mutation. Default: allow everything. */
  authorizer?: Authorizer;
  /** Governance of aliases (gate evidence, approvals, roles). */
  aliasPolicies?: AliasPolicy[];
  /**
   * Secret (string or bytes, at least 16) for HMAC-SHA256 over the registry's audit chain;
   * `registry.verifyAudit()` then also detects a log rewritten by someone without the key.
   */
  auditKey?: AuditKey;
  /** Gate policies by name, for alias policies with `requireGate: { policy: 'name' }`. */
  gatePolicies?: GatePolicy[];
  /**
   * Emit OpenLineage RunEvents for every tracked run (pipeline runs and their steps included)
   * and every gate verdict on a registered version, through `transport`. See
   * docs/openlineage.md.
   */
  openLineage?: OpenLineageOptions;
}

/** Every event keel's services emit, by name. */
export interface KeelEvents
  extends ArtifactEvents,
    TrackerEvents,
    RegistryEvents,
    GateEvents,
    DriftEvents,
    PipelineEvents {}

/** A keel instance: the services over one backend. */
export interface Keel {
  /** Content-addressed artifacts (instrumented). */
  readonly artifacts: ArtifactStore;
  /** JSON documents and logs. */
  readonly metadata: MetadataStore;
  /** Experiment runs, params, metrics, lineage and run search. */
  readonly tracker: Tracker;
  /** Models, versions, aliases, governance and the audit log. */
  readonly registry: Registry;
  /** Quality gates whose reports are stored as evidence. */
  readonly gates: GateEvaluator;
  /** Dataset drift with telemetry and the `drift:detected` event. */
  readonly drift: DriftService;
  /** All services' events. A throwing listener never breaks the operation that emitted. */
  readonly events: SafeEmitter<KeelEvents>;
  /** The clock every service uses. */
  readonly clock: Clock;
  /** The default actor. */
  readonly actor: Actor;
  /** Tracer, meter and instruments. */
  readonly telemetry: Telemetry;
  /** The OpenLineage emitter (its stats and flush), when `openLineage` was given. */
  readonly openLineage?: OpenLineageEmitter;
  /**
   * Checks every document, every log, every blob and the registry's audit chain; quarantines
   * corrupt documents under `quarantine/` (with a report), rebuilds the tracker's journal and
   * search cache from the run documents, and rebuilds a missing or stale audit head when the
   * log proves it (with `auditKey`: every MAC verifies). Damaged blobs and logs and a broken
   * audit chain are reported with what to do, never deleted. See docs/operations.md ("Repair")
   * and docs/governance.md.
   *
   * @example
   * ```ts
   * const report = await keel.doctor({ dryRun: true });
   * if (!report.ok) console.log(report.corrupt);
   * ```
   *
   * @throws {ValidationError} (as a rejection) when an option is unknown or malformed.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store cannot be
   *   read at all; a damaged record is reported, never thrown.
   */
  doctor(opts?: DoctorOptions): Promise<DoctorReport>;
  /**
   * Flushes what services buffer and closes the backend. Idempotent.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when buffered metrics
   *   cannot be written or the backend fails to close; calling `close()` again retries the flush.
   */
  close(): Promise<void>;
}

/**
 * Creates a keel instance: the tracker, registry, gates and drift service over one backend,
 * sharing its clock, actor, telemetry and event bus. Nothing is read or written until a
 * service is used; call `close()` when done so buffered metrics are written.
 *
 * @example
 * ```ts
 * import { createKeel } from 'keel';
 * import { fsBackend } from 'keel/fs';
 *
 * const keel = createKeel({ backend: fsBackend({ root: '.keel' }), actor: { id: 'ci' } });
 * keel.events.on('alias:changed', (e) => console.log(`${e.model}@${e.alias} -> v${e.version}`));
 * const run = await keel.tracker.startRun({ experiment: 'churn', params: { lr: 0.05 } });
 * const weights = JSON.stringify({ weights: [0.4, 1.2] });
 * const model = await run.logArtifact(weights, { name: 'model.json' });
 * await run.end();
 * const v = await keel.registry.registerVersion('churn', {
 *   artifact: model.digest,
 *   runId: run.id,
 * });
 * await keel.registry.setAlias('churn', 'staging', v.version); // prints churn@staging -> v1
 * await keel.close(); // writes what is buffered, closes the backend
 * ```
 * @throws {ValidationError} when `backend` lacks an artifact or a metadata store, or an option
 *   (the actor, alias or gate policies, the audit key, …) is invalid.
 */
export function createKeel(options: KeelOptions): Keel {
  assertReadableObject(options, 'createKeel options');
  const backend = checkBackend(options?.backend);
  const actor = options.actor
    ? parseWith(actorSchema, options.actor, 'actor')
    : { id: 'anonymous' };
  const clock = options.clock ?? systemClock;
  const telemetry = createTelemetry({
    ...(options.tracer ? { tracer: options.tracer } : {}),
    ...(options.meter ? { meter: options.meter } : {}),
  });
  const events = new SafeEmitter<KeelEvents>();
  const artifacts = instrumentArtifactStore(
    backend.artifacts,
    telemetry,
    emitterFor<ArtifactEvents>(events),
  );
  const services = {
    metadata: backend.metadata,
    artifacts,
    clock,
    telemetry,
  };
  const tracker = createTracker({ ...services, emit: emitterFor<TrackerEvents>(events) });
  // Every report is recorded as the newest for its model version and policy: the registry
  // refuses an older one.
  const gates = withReportIndex(
    createGateEvaluator({ ...services, emit: emitterFor<GateEvents>(events) }),
    backend.metadata,
  );
  const drift = createDriftService({ telemetry, emit: emitterFor<DriftEvents>(events) });
  const registry = createRegistry({
    ...services,
    emit: emitterFor<RegistryEvents>(events),
    actor,
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    ...(options.aliasPolicies ? { aliasPolicies: options.aliasPolicies } : {}),
    ...(options.auditKey === undefined ? {} : { auditKey: options.auditKey }),
    ...(options.gatePolicies ? { gatePolicies: options.gatePolicies } : {}),
    gates,
    // The tracker shares the store: a version can only name a run it knows (deferred runs too).
    runExists: async (runId: string) => {
      try {
        await tracker.getRun(runId);
        return true;
      } catch (error) {
        if (isKeelError(error, 'KEEL_NOT_FOUND') || isKeelError(error, 'KEEL_VALIDATION'))
          return false;
        throw error;
      }
    },
  });
  const repairHead = auditHeadRepairer(backend.metadata, options.auditKey);
  const openLineage = options.openLineage
    ? createOpenLineageEmitter(options.openLineage, {
        events,
        telemetry,
        clock,
        runOfVersion: async (model, version) => {
          const { runId } = await registry.getVersion(model, version);
          return runId === undefined ? undefined : tracker.getRun(runId);
        },
      })
    : undefined;
  let closing: Promise<void> | undefined;

  return {
    artifacts,
    metadata: backend.metadata,
    tracker,
    registry,
    gates,
    drift,
    events,
    clock,
    actor,
    telemetry,
    ...(openLineage ? { openLineage } : {}),
    async doctor(opts) {
      return runDoctor(
        {
          metadata: backend.metadata,
          artifacts: backend.artifacts,
          clock,
          emit: emitterFor<Pick<TrackerEvents, 'store:corrupt'>>(events),
          audit: { verify: () => registry.verifyAudit(), repairHead },
        },
        opts,
      );
    },
    close() {
      closing ??= (async () => {
        try {
          // queued lineage events (and the reads behind gate events) go before the stores close
          await openLineage?.close();
          // buffered metrics and deferred runs are written while the backend is still open
          await tracker.close();
        } finally {
          await backend.close?.();
        }
      })();
      return closing;
    },
  };
}

function checkBackend(backend: unknown): Backend {
  const candidate = backend as Partial<Backend> | undefined;
  if (
    typeof candidate?.artifacts?.put !== 'function' ||
    typeof candidate.metadata?.put !== 'function'
  ) {
    throw new ValidationError(
      '[keel] createKeel needs a backend with artifacts and metadata stores: pass { backend: memoryBackend() } or fsBackend({ root }) from keel/fs',
    );
  }
  return candidate as Backend;
}

/**
 * An {@link Emit} for one service's event map, onto the shared bus. Type-safe because
 * `KeelEvents` extends every service's map (the conditional type refuses any other map).
 */
function emitterFor<S extends object>(
  events: SafeEmitter<KeelEvents>,
): KeelEvents extends S ? Emit<S> : never {
  const emit = (event: string, payload: unknown): void => {
    (events.emit as (event: string, payload: unknown) => boolean)(event, payload);
  };
  return emit as KeelEvents extends S ? Emit<S> : never;
}

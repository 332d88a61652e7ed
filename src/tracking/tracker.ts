/**
 * @module
 * `createTracker`: experiments, runs, metrics, search and lineage, implemented once over
 * the two storage contracts so that every backend behaves identically.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import { type Clock, isoNow, systemClock } from '../core/clock.js';
import { assertDigest, type Digest, sha256 } from '../core/digest.js';
import { ErrorCodes, isKeelError, NotFoundError, ValidationError } from '../core/errors.js';
import { type Emit, emitNothing } from '../core/events.js';
import { createIdGenerator } from '../core/ids.js';
import { nameSchema } from '../core/schemas.js';
import { createTelemetry, type Telemetry } from '../core/telemetry.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import type { MetadataStore } from '../metadata/types.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { captureEnvironment } from './environment.js';
import { parseFilter } from './filter/parser.js';
import { printExpr, printField } from './filter/print.js';
import { decodeMetricBatch } from './metric-batch.js';
import { parseOrderBy } from './order.js';
import { searchInStore } from './push-down.js';
import { quickStartRun } from './quick-validate.js';
import { experimentId, trackingKeys } from './records.js';
import { TrackedRunHandle } from './run-handle.js';
import { RunIndex } from './run-index.js';
import {
  addRefs,
  assertNotClosed,
  checkRunId,
  copyRun,
  createRunDocument,
  endedError,
  readRunArtifact,
  requireRun,
  storeDeferred,
  type TrackerContext,
  track,
} from './run-store.js';
import {
  artifactNameSchema,
  DEFAULT_SEARCH_LIMIT,
  metricKeySchema,
  searchRunsSchema,
  startRunSchema,
} from './schemas.js';
import type { ScanQuery } from './search-scan.js';
import type {
  Experiment,
  LineageResult,
  MetricPoint,
  Run,
  RunHandle,
  SearchRunsQuery,
  SearchRunsResult,
  StartRunOptions,
  Tracker,
  TrackerEvents,
} from './types.js';

/** Options of {@link createTracker}. */
export interface TrackerOptions {
  /** Where runs, the journal and metric logs are stored. */
  metadata: MetadataStore;
  /** Where `logArtifact` puts bytes. */
  artifacts: ArtifactStore;
  /** Source of timestamps and ids. Default: the system clock. */
  clock?: Clock;
  /** Spans and metrics (default: the global OpenTelemetry API). */
  telemetry?: Telemetry;
  /** Where the tracker's events go (createKeel passes its event bus). */
  emit?: Emit<TrackerEvents>;
  /** Buffered metrics are written at least this often (ms; default 1000; 0 disables the timer). */
  flushIntervalMs?: number;
  /** Buffered metrics are written every this many points (default 1000). */
  flushSize?: number;
  /** Directory whose git checkout and package.json `captureEnvironment` reads (default `process.cwd()`). */
  cwd?: string;
  /**
   * Compact the journal (store a search snapshot and start a new journal log from it, ADR 0017)
   * once its log holds at least this many entries (and at least a sixty-fourth as many as there
   * are runs), and start the first search of a process from the snapshot, so that it need not
   * read every run (docs/tracking.md). 0 never does either. Default: 1024 on stores shared
   * across processes (fs), else 0.
   */
  searchSnapshotEvery?: number;
  /**
   * Until this process has loaded its search cache, send `searchRuns` to the store as a query
   * when the store runs queries (`capabilities.queryDocuments`, e.g. PostgreSQL): nothing is
   * loaded into memory, but each search scans the run documents in the database. Default
   * `false`: the cache, started from the stored search snapshot, answers faster (ADR 0020,
   * docs/benchmarks.md).
   */
  searchPushDown?: boolean;
}

/** Default number of points between automatic flushes. */
export const DEFAULT_FLUSH_SIZE = 1000;
/** Default time between automatic flushes (ms). */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** Default journal entries between two compactions, on stores shared across processes. */
export const DEFAULT_SEARCH_SNAPSHOT_EVERY = 1024;

/**
 * Creates a {@link Tracker}. `createKeel` makes one over its backend; call this directly only
 * to track without the registry.
 *
 * @throws {ValidationError} when `metadata` or `artifacts` is missing, or `flushSize`,
 *   `flushIntervalMs` or `searchSnapshotEvery` is not an integer in range.
 *
 * @example
 * ```ts
 * const tracker = createTracker({ metadata: createMemoryMetadataStore(), artifacts: createMemoryArtifactStore() });
 * const run = await tracker.startRun({ experiment: 'churn', params: { lr: 0.01 } });
 * for (let step = 0; step < 100; step++) run.logMetric('loss', 1 / (step + 1), { step });
 * await run.end();
 * const { runs } = await tracker.searchRuns({ filter: 'metrics.loss < 0.05' });
 * ```
 */
export function createTracker(options: TrackerOptions): Tracker {
  assertReadableObject(options, 'createTracker options');
  if (
    typeof options?.metadata?.put !== 'function' ||
    typeof options.artifacts?.put !== 'function'
  ) {
    throw new ValidationError(
      '[keel] createTracker needs { metadata, artifacts }: pass a MetadataStore and an ArtifactStore',
    );
  }
  const clock = options.clock ?? systemClock;
  const emit = options.emit ?? (emitNothing as Emit<TrackerEvents>);
  const ctx: TrackerContext = {
    metadata: options.metadata,
    artifacts: options.artifacts,
    clock,
    telemetry: options.telemetry ?? createTelemetry(),
    emit,
    index: new RunIndex(
      options.metadata,
      clock,
      positiveInteger(
        options.searchSnapshotEvery,
        options.metadata.capabilities?.sharedAcrossProcesses ? DEFAULT_SEARCH_SNAPSHOT_EVERY : 0,
        'searchSnapshotEvery',
        0,
      ),
      (record) => emit('store:corrupt', record),
    ),
    newId: createIdGenerator(clock),
    flushSize: positiveInteger(options.flushSize, DEFAULT_FLUSH_SIZE, 'flushSize', 1),
    flushIntervalMs: positiveInteger(
      options.flushIntervalMs,
      DEFAULT_FLUSH_INTERVAL_MS,
      'flushIntervalMs',
      0,
    ),
    experiments: new Set(),
    unborn: new Map(),
    closed: false,
    live: new Set(),
    pending: new Set(),
  };
  const cwd = options.cwd;
  if (options.searchPushDown !== undefined && typeof options.searchPushDown !== 'boolean') {
    throw new ValidationError('[keel] invalid tracker option "searchPushDown": pass true or false');
  }
  const pushDown = options.searchPushDown === true;
  let closing: Promise<void> | undefined;

  return {
    startRun(opts: StartRunOptions): Promise<RunHandle> {
      // counted from the call on: close() waits for a start under way and flushes its handle
      return track(
        ctx,
        (async () => {
          assertNotClosed(ctx);
          const checked =
            quickStartRun(opts) ?? parseWith(startRunSchema, opts, 'startRun options');
          if (checked.parentRunId !== undefined) {
            const parentId = checkRunId(checked.parentRunId, 'parentRunId');
            // a child is never stored before its parent
            await storeDeferred(ctx, [parentId]);
            // a run this process has seen exists: runs are never deleted
            if (!ctx.index.has(parentId)) await requireRun(ctx, parentId);
          }
          await ensureExperiment(ctx, checked.experiment);
          const id = ctx.newId();
          const run: Run = {
            id,
            experiment: checked.experiment,
            status: 'running',
            startTime: isoNow(clock),
            params: { ...checked.params },
            tags: { ...checked.tags },
            metrics: {},
            inputs: [],
            outputs: [],
          };
          addRefs(run.inputs, checked.inputs ?? []);
          if (checked.name !== undefined) run.name = checked.name;
          if (checked.parentRunId !== undefined) run.parentRunId = checked.parentRunId;
          const capture = checked.captureEnvironment;
          if (capture) {
            run.environment = await captureEnvironment({
              clock,
              ...(cwd === undefined ? {} : { cwd }),
              ...(typeof capture === 'object' && capture.env ? { env: capture.env } : {}),
            });
          }
          const deferMs = checked.deferWriteMs ?? 0;
          const handle =
            deferMs > 0
              ? TrackedRunHandle.deferred(ctx, run, deferMs)
              : new TrackedRunHandle(ctx, id, await createRunDocument(ctx, run));
          const event: TrackerEvents['run:started'] = {
            runId: id,
            experiment: run.experiment,
            run: copyRun(run),
          };
          if (run.name !== undefined) event.name = run.name;
          if (run.parentRunId !== undefined) event.parentRunId = run.parentRunId;
          ctx.emit('run:started', event);
          return handle;
        })(),
      );
    },

    resumeRun(runId: string): Promise<RunHandle> {
      return track(
        ctx,
        (async () => {
          assertNotClosed(ctx);
          const id = checkRunId(runId);
          await storeDeferred(ctx, [id]);
          const { run } = await requireRun(ctx, id);
          if (run.status !== 'running') throw endedError(run.id, run.status);
          return new TrackedRunHandle(ctx, run.id);
        })(),
      );
    },

    close(): Promise<void> {
      closing ??= closeTracker(ctx).catch((error: unknown) => {
        // a failed flush keeps its points: the next close() tries again
        closing = undefined;
        throw error;
      });
      return closing;
    },

    async getRun(runId: string): Promise<Run> {
      const id = checkRunId(runId);
      await storeDeferred(ctx, [id]);
      return (await requireRun(ctx, id)).run;
    },

    async searchRuns(query: SearchRunsQuery = {}): Promise<SearchRunsResult> {
      const q = parseWith(searchRunsSchema, query, 'searchRuns query');
      const filter = parseFilter(q.filter ?? '');
      const keys = parseOrderBy(q.orderBy);
      const limit = q.limit ?? DEFAULT_SEARCH_LIMIT;
      const fingerprint = sha256(
        JSON.stringify([
          q.experiment ?? null,
          filter === undefined ? '' : printExpr(filter),
          keys.map((key) => [printField(key.field), key.descending]),
        ]),
      ).slice(7, 31);
      const after =
        q.cursor === undefined ? undefined : decodeCursor(q.cursor, fingerprint, keys.length);
      await storeDeferred(ctx);
      // Only the first limit + 1 matches in order are kept (one more tells whether a next page
      // exists): with many runs, sorting every match was the cost of a page.
      const scan: ScanQuery = {
        ...(q.experiment === undefined ? {} : { experiment: q.experiment }),
        ...(filter === undefined ? {} : { filter }),
        keys,
        ...(after === undefined ? {} : { after }),
        keep: limit + 1,
      };
      // with searchPushDown, a store that runs queries answers until the cache is loaded (ADR 0020)
      const rows =
        (pushDown ? await searchInStore(ctx, scan) : undefined) ?? (await ctx.index.search(scan));
      const page = rows.slice(0, limit);
      const result: SearchRunsResult = { runs: page.map((row) => structuredClone(row.run)) };
      const corrupt = ctx.index.corruptRecords();
      if (corrupt.length > 0) result.corrupt = corrupt;
      if (rows.length > limit)
        result.nextCursor = encodeCursor(fingerprint, page[page.length - 1]!.values);
      return result;
    },

    async getRunArtifact(runId: string, name: string): Promise<Uint8Array> {
      const id = checkRunId(runId);
      const artifactName = parseWith(artifactNameSchema, name, 'artifact name');
      await storeDeferred(ctx, [id]);
      return readRunArtifact(ctx, id, artifactName);
    },

    async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
      const id = checkRunId(runId);
      parseWith(metricKeySchema, key, 'metric key');
      await storeDeferred(ctx, [id]);
      await requireRun(ctx, id);
      const log = trackingKeys.metricsLog(id);
      const seen = new Set<string>();
      const points: MetricPoint[] = [];
      for await (const { entry } of ctx.metadata.read(log)) {
        const { batch, columns } = decodeMetricBatch(log, entry);
        // a flush retried after an append whose outcome was unknown may have stored a batch twice
        if (seen.has(batch)) continue;
        seen.add(batch);
        const index = columns.keys.indexOf(key);
        if (index < 0) continue;
        for (let i = 0; i < columns.count; i++) {
          if (columns.keyIndex[i] !== index) continue;
          points.push({
            key,
            value: columns.values[i]!,
            step: columns.steps[i]!,
            timestamp: columns.timestamps[i]!,
          });
        }
      }
      return points.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
    },

    async listExperiments(): Promise<Experiment[]> {
      const experiments: Experiment[] = [];
      for await (const { value } of ctx.metadata.list(trackingKeys.experimentsPrefix)) {
        const experiment = asExperiment(value);
        if (experiment) experiments.push(experiment);
      }
      return experiments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    async getExperiment(name: string): Promise<Experiment> {
      const checked = parseWith(nameSchema, name, 'experiment name');
      const found = await ctx.metadata.get(trackingKeys.experiment(checked));
      const experiment = asExperiment(found?.value);
      if (experiment?.name !== checked) {
        throw new NotFoundError(
          `[keel] no experiment named ${JSON.stringify(checked)}: experiments are created by the first run started under them (tracker.startRun({ experiment }))`,
          { details: { name: checked } },
        );
      }
      return experiment;
    },

    async lineage(digest: Digest): Promise<LineageResult> {
      assertDigest(digest);
      await storeDeferred(ctx);
      // Runs list their refs in their documents, and the search cache follows every run
      // document through the journal: no separate index to write on every logInput/logOutput.
      const found = await ctx.index.lineage(digest);
      return {
        producedBy: found.producedBy.map((run) => structuredClone(run)),
        consumedBy: found.consumedBy.map((run) => structuredClone(run)),
      };
    },
  };
}

/**
 * Refuses new runs and writes, waits for the calls under way, then flushes every live handle
 * (all of them, even when one fails) and rejects with the first failure.
 */
async function closeTracker(ctx: TrackerContext): Promise<void> {
  ctx.closed = true;
  // calls refused from now on settle at once, so this ends
  while (ctx.pending.size > 0) await Promise.allSettled([...ctx.pending]);
  const results = await Promise.allSettled([...ctx.live].map((handle) => handle.persist()));
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}

/** The experiment an experiment document records, or undefined when it is not one. */
function asExperiment(value: unknown): Experiment | undefined {
  const doc = value as { name?: unknown; createdAt?: unknown } | null | undefined;
  if (typeof doc?.name !== 'string' || typeof doc.createdAt !== 'string') return undefined;
  return { id: experimentId(doc.name), name: doc.name, createdAt: doc.createdAt };
}

async function ensureExperiment(ctx: TrackerContext, name: string): Promise<void> {
  if (ctx.experiments.has(name)) return;
  const key = trackingKeys.experiment(name);
  const existing = await ctx.metadata.get(key);
  if (existing === undefined) {
    try {
      await ctx.metadata.put(key, { name, createdAt: isoNow(ctx.clock) }, { ifRevision: null });
    } catch (error) {
      // another process created it first: that is the same experiment
      if (!isKeelError(error, ErrorCodes.conflict)) throw error;
    }
  }
  ctx.experiments.add(name);
}

function positiveInteger(value: unknown, fallback: number, what: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
  throw new ValidationError(`[keel] invalid tracker option "${what}": pass an integer >= ${min}`);
}

/**
 * @module
 * The Tracker's public types: runs, their handles, metric points, lineage references,
 * experiments, the captured environment, search queries and the events it emits.
 */
import type { ArtifactMeta } from '../artifacts/types.js';
import type { Body } from '../core/body.js';
import type { Digest } from '../core/digest.js';
import type { Params, Tags } from '../core/schemas.js';

/** The status of a run: `running` until `end()`, then one of the final three. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'killed';

/** A final status, accepted by {@link RunHandle.end}. */
export type FinalRunStatus = Exclude<RunStatus, 'running'>;

/** One metric measurement. `value` may be NaN or an infinity: they are stored as such. */
export interface MetricPoint {
  /** The metric's name, e.g. `loss`. */
  key: string;
  /** The measured value (NaN and infinities are kept). */
  value: number;
  /** A non-negative integer (training step, epoch, ...). */
  step: number;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
}

/** A reference to content a run consumed or produced (lineage). */
export interface LineageRef {
  /** The content's digest in the artifact store. */
  digest: Digest;
  /** A name for people, e.g. `training rows` or `model.json`. */
  name?: string;
  /** What the content is: `'dataset'`, `'model'`, `'artifact'` or any other label. */
  kind?: string;
}

/** Where a run happened: captured at `startRun` with `captureEnvironment: true`. See docs/tracking.md. */
export interface Environment {
  /** When the environment was captured (ISO-8601). */
  capturedAt: string;
  /** The JavaScript runtime and machine. */
  runtime: {
    /** `node`, `bun`, `deno` or `unknown`. */
    name: string;
    /** The runtime's version, e.g. `20.19.0`. */
    version?: string;
    /** The operating system, e.g. `linux`. */
    platform?: string;
    /** The CPU architecture, e.g. `x64`. */
    arch?: string;
    /** The number of logical CPUs. */
    cpus?: number;
  };
  /** Present when the working directory is inside a git checkout and git is installed. */
  git?: {
    /** The checked-out commit's hash. */
    commit: string;
    /** The current branch (absent on a detached HEAD). */
    branch?: string;
    /** Whether the tree had uncommitted changes. */
    dirty: boolean;
  };
  /** The calling project (the package.json of the working directory), when there is one. */
  project?: {
    /** Its `name`. */
    name?: string;
    /** Its `version`. */
    version?: string;
    /** Declared dependencies (all kinds): the declared range and the installed version when found. */
    dependencies: Record<
      string,
      {
        /** The range package.json declares. */
        declared: string;
        /** The version installed in node_modules, when found. */
        installed?: string;
      }
    >;
    /** The lock file found beside package.json and its SHA-256. */
    lockfile?: {
      /** Its file name, e.g. `package-lock.json`. */
      name: string;
      /** The SHA-256 of its bytes. */
      digest: Digest;
    };
  };
  /** Values of the environment variables named in the allow-list, and only those. */
  env?: Record<string, string>;
}

/** A recorded run, as `getRun` and `searchRuns` return it. */
export interface Run {
  /** The run's id (time-sortable). */
  id: string;
  /** The experiment it belongs to. */
  experiment: string;
  /** A display name. */
  name?: string;
  /** `running` until it ends. */
  status: RunStatus;
  /** ISO-8601. */
  startTime: string;
  /** ISO-8601; set by `end()`. */
  endTime?: string;
  /** The run this one is a child of (a pipeline run, for a step's run). */
  parentRunId?: string;
  /** Parameters, immutable once logged. */
  params: Params;
  /** Tags, which may change. */
  tags: Tags;
  /** The latest point of each key (highest step, then latest timestamp), as of the last flush. */
  metrics: Record<string, MetricPoint>;
  /** What the run consumed (lineage). */
  inputs: LineageRef[];
  /** What the run produced (lineage). */
  outputs: LineageRef[];
  /** Where it ran, when captured. */
  environment?: Environment;
  /** Set by `end(status, error)`. */
  error?: {
    /** The error's message. */
    message: string;
    /** Its `KeelError` code, when it had one. */
    code?: string;
  };
}

/** An experiment: a named group of runs, created by the first run that names it. */
export interface Experiment {
  /** Stable id derived from the name. */
  id: string;
  /** The experiment's name, as runs name it. */
  name: string;
  /** ISO-8601. */
  createdAt: string;
}

/** Options of {@link Tracker.startRun}. */
export interface StartRunOptions {
  /** The experiment (created on first use). */
  experiment: string;
  /** A display name. */
  name?: string;
  /** Parameters to log at the start. */
  params?: Params;
  /** Tags to set at the start. */
  tags?: Tags;
  /** Must name an existing run (`NotFoundError` otherwise). */
  parentRunId?: string;
  /** `true`: record the {@link Environment}; `{ env }`: also record the named environment variables. */
  captureEnvironment?:
    | boolean
    | {
        /** Names of environment variables whose values are recorded (an allow-list). */
        env?: string[];
      };
  /**
   * Content the run consumes, known when it starts: recorded as `logInput` would, in the
   * write that creates the run.
   */
  inputs?: LineageRef[];
  /**
   * Delays storing the new run by up to this many milliseconds (default 0: stored before
   * `startRun` resolves). It is stored at the first write through its handle, when this
   * delay has passed, or by `end()`: a run that ends sooner is stored once, already ended.
   * Until then only this tracker knows it; its `getRun`, `searchRuns`, `lineage`,
   * `metricHistory` and `resumeRun` store it first. For many short runs (pipeline steps).
   */
  deferWriteMs?: number;
}

/** Options of {@link RunHandle.end}: last writes folded into the write that ends the run. */
export interface EndRunOptions {
  /** Tags set (or overwritten) as the run ends. */
  tags?: Tags;
  /** Content the run produced: recorded as `logOutput` would. */
  outputs?: LineageRef[];
}

/** Options of {@link RunHandle.logMetric}. */
export interface LogMetricOptions {
  /** Non-negative integer; default: one more than the last step this handle logged for the key (0 first). */
  step?: number;
  /** Milliseconds since the epoch; default: the tracker's clock. */
  timestamp?: number;
}

/** A query of {@link Tracker.searchRuns}. */
export interface SearchRunsQuery {
  /** Only runs of this experiment. */
  experiment?: string;
  /** A filter in the language of docs/search.md, e.g. `metrics.acc > 0.9 and tags.team = 'ml'`. */
  filter?: string;
  /** Entries like `metrics.acc desc`; default `attributes.start_time desc` then the run id. */
  orderBy?: string[];
  /** Page size, 1 to 10 000 (default 100). */
  limit?: number;
  /** The `nextCursor` of the previous page (same query). */
  cursor?: string;
}

/** A page of {@link Tracker.searchRuns}. */
export interface SearchRunsResult {
  /** The runs of this page, in the requested order. */
  runs: Run[];
  /**
   * Present when the search skipped records it could not read (a damaged run document, a
   * journal damaged at some offset): what they are and why. The runs it could read are
   * still returned; `keel.doctor()` repairs the store.
   */
  corrupt?: CorruptRecord[];
  /** Present when more runs match; pass it back as `cursor`. */
  nextCursor?: string;
}

/** Where a digest came from and where it went. */
export interface LineageResult {
  /** Runs that logged the digest as an output. */
  producedBy: Run[];
  /** Runs that logged the digest as an input. */
  consumedBy: Run[];
}

/**
 * A live run. Writes are refused with `ConflictError` once the run has ended or its tracker
 * is closed ({@link Tracker.close}).
 * `logMetric` is synchronous and buffered; the buffer is written by `flush()`, `end()`,
 * every `flushSize` points and every `flushIntervalMs`.
 */
export interface RunHandle {
  /** The run's id. */
  readonly id: string;
  /**
   * Records parameters: strings (up to 6000 characters), finite numbers or booleans. Params
   * are immutable: the same value again is fine, another value is refused.
   *
   * @throws {ValidationError} when a key or value is invalid; nothing is written.
   * @throws {ConflictError} when a param already has another value, or the run has ended (or is
   *   ending, or its tracker is closed).
   */
  logParams(params: Params): Promise<void>;
  /**
   * Buffers one point (NaN and infinities are kept); it is written by the next flush. Without
   * `opts.step` the step is one more than the last one this handle logged for `key`.
   *
   * @throws {ValidationError} (synchronously, nothing buffered) for a bad key, a value that is
   *   not a number, a step or timestamp that is not a non-negative integer, or more than
   *   100 000 metric keys in one run.
   * @throws {ConflictError} (synchronously) when the run has ended or its tracker is closed.
   */
  logMetric(key: string, value: number, opts?: LogMetricOptions): void;
  /**
   * Buffers one point per key, all at the same timestamp; each key's step is `opts.step`, or
   * one more than that key's last step. Checks every key and value before buffering any.
   *
   * @throws {ValidationError} as {@link RunHandle.logMetric} does, or when `values` is not an
   *   object.
   * @throws {ConflictError} when the run has ended or its tracker is closed.
   */
  logMetrics(values: Record<string, number>, opts?: LogMetricOptions): void;
  /**
   * Sets (or overwrites) tags: string keys to string values.
   *
   * @throws {ValidationError} when a key or value is invalid; nothing is written.
   * @throws {ConflictError} when the run has ended or its tracker is closed.
   */
  setTags(tags: Tags): Promise<void>;
  /**
   * Records content the run consumed (lineage: `tracker.lineage(digest).consumedBy`). The same
   * reference twice is recorded once.
   *
   * @throws {ValidationError} when `ref.digest` is not `sha256:<64 hex>` or a field is invalid.
   * @throws {ConflictError} when the run has ended or its tracker is closed.
   */
  logInput(ref: LineageRef): Promise<void>;
  /**
   * Records content the run produced (lineage: `tracker.lineage(digest).producedBy`). The same
   * reference twice is recorded once.
   *
   * @throws {ValidationError} when `ref.digest` is not `sha256:<64 hex>` or a field is invalid.
   * @throws {ConflictError} when the run has ended or its tracker is closed.
   */
  logOutput(ref: LineageRef): Promise<void>;
  /**
   * Stores bytes in the artifact store and records them as an output (`kind: 'artifact'`,
   * named `opts.name`); read them back with {@link RunHandle.artifact} or by digest.
   *
   * @throws {ValidationError} when `opts.name` is not 1 to 1000 characters or `opts.mediaType`
   *   is invalid.
   * @throws {ConflictError} when the run has ended or its tracker is closed.
   */
  logArtifact(body: Body, opts?: { name?: string; mediaType?: string }): Promise<ArtifactMeta>;
  /**
   * The verified bytes of the artifact this run logged under `name` (`logArtifact(body, { name })`,
   * or any output reference with that name); the latest one when the name was logged more
   * than once. Works after `end()` too.
   *
   * @throws {NotFoundError} when the run has no output of that name (the message lists the names
   *   it has), or the blob is gone from the artifact store.
   * @throws {IntegrityError} when the stored bytes do not match their digest.
   * @throws {ValidationError} when `name` is not a string of 1 to 1000 characters.
   */
  artifact(name: string): Promise<Uint8Array>;
  /**
   * Writes buffered metrics; rejects with the error of an earlier failed background flush.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the points cannot
   *   be written, now or in an earlier background flush (the points stay buffered).
   */
  flush(): Promise<void>;
  /**
   * Flushes, then ends the run (default `completed`) in one run-document write that also
   * applies `opts` (final tags and outputs). Idempotent: later calls return the same Run
   * (their arguments are ignored). `error` (for a `failed` run) is stored as its message and
   * code. A failed end leaves the run running, and calling `end()` again retries.
   *
   * @throws {ValidationError} when `status` is not `completed`, `failed` or `killed`, or `opts`
   *   is invalid.
   * @throws {ConflictError} when the tracker is closed, or the run was ended elsewhere (another
   *   handle or process).
   */
  end(status?: FinalRunStatus, error?: unknown, opts?: EndRunOptions): Promise<Run>;
}

/** Experiments, runs, metrics, search and lineage over a MetadataStore and an ArtifactStore. */
export interface Tracker {
  /**
   * Starts a run, creating its experiment if needed, and stores it (status `running`) before
   * resolving, unless `deferWriteMs` delays that.
   *
   * @example
   * ```ts
   * const run = await keel.tracker.startRun({
   *   experiment: 'churn',
   *   name: 'gbm-baseline',
   *   params: { lr: 0.05, depth: 6 },
   *   tags: { team: 'growth' },
   * });
   * for (let epoch = 0; epoch < 10; epoch++) run.logMetric('loss', 1 / (epoch + 1));
   * await run.logArtifact(JSON.stringify({ trees: [] }), { name: 'model.json' });
   * await run.end(); // status 'completed'
   * ```
   * @throws {ValidationError} when an option is invalid (an empty or too long experiment name, a
   *   NaN or object param, an unknown option, …); nothing is written.
   * @throws {NotFoundError} when `parentRunId` names no run.
   * @throws {ConflictError} when the tracker is closed.
   */
  startRun(opts: StartRunOptions): Promise<RunHandle>;
  /**
   * A handle to write to an existing running run (e.g. from another process).
   *
   * @throws {ValidationError} when `runId` is not a string.
   * @throws {NotFoundError} when there is no such run.
   * @throws {ConflictError} when the run has ended (the message says its status), or the
   *   tracker is closed.
   */
  resumeRun(runId: string): Promise<RunHandle>;
  /**
   * The run as stored: status, params, tags, the last value of each metric, lineage.
   *
   * @throws {ValidationError} when `runId` is not a string.
   * @throws {NotFoundError} when there is no such run.
   */
  getRun(runId: string): Promise<Run>;
  /**
   * Runs matching a filter, ordered and paginated. The filter language, the order of missing
   * and NaN values, and the limits are in docs/search.md.
   *
   * @throws {ValidationError} when the filter or an `orderBy` entry does not parse (the message
   *   shows where), `limit` is outside 1..10 000, or `cursor` belongs to another query.
   */
  searchRuns(query?: SearchRunsQuery): Promise<SearchRunsResult>;
  /**
   * The verified bytes of the artifact run `runId` logged under `name`
   * (`run.logArtifact(body, { name })`, or any output reference with that name); the latest
   * one when the name was logged more than once. Reading by digest stays
   * `artifacts.get(digest)`.
   *
   * @example
   * ```ts
   * const weights = await keel.tracker.getRunArtifact(runId, 'model.onnx');
   * ```
   * @throws {NotFoundError} for an unknown run, a run without an output of that name (the message
   *   lists the names it has), or a blob gone from the artifact store.
   * @throws {IntegrityError} when the stored bytes do not match their digest.
   * @throws {ValidationError} when `runId` or `name` is not a string (`name`: 1 to 1000
   *   characters).
   */
  getRunArtifact(runId: string, name: string): Promise<Uint8Array>;
  /**
   * Every flushed point of one metric, ordered by step, then timestamp; empty when the run
   * never logged `key`. Points still buffered in a handle are not included (`flush()` first).
   *
   * @throws {ValidationError} when `runId` is not a string or `key` is not a valid metric key.
   * @throws {NotFoundError} when there is no such run.
   */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  /**
   * Every experiment, by name.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  listExperiments(): Promise<Experiment[]>;
  /**
   * The experiment named `name` (created by the first run logged under it), read by its key:
   * one lookup, however many experiments there are.
   *
   * @throws {ValidationError} when `name` is not a valid experiment name.
   * @throws {NotFoundError} when no run was ever started under that name.
   * @throws {StorageError} (as a rejection; or a custom store's own error) when the store fails.
   */
  getExperiment(name: string): Promise<Experiment>;
  /**
   * The runs that produced (`logOutput`, `logArtifact`) and consumed (`logInput`) a digest.
   *
   * @throws {ValidationError} when `digest` is not `sha256:<64 hex>`.
   */
  lineage(digest: Digest): Promise<LineageResult>;
  /**
   * Writes what this tracker holds back, for a process that is shutting down: waits for the
   * calls under way, then flushes every handle whose run has not ended through it (buffered
   * metrics, including points an earlier background flush failed to write, and runs whose
   * storing is still deferred by `deferWriteMs`), so that nothing logged before `close()` is
   * lost. It does not end runs: they stay `running`, as when a process exits without `end()`.
   * An `end()` under way is awaited.
   *
   * From the call on, `startRun`, `resumeRun` and every write through this tracker's handles
   * (`logMetric`, `logParams`, `end`, ...) throw `ConflictError` (the tracker is closed);
   * reads still work while the stores are open. Idempotent: while it runs and once it has
   * succeeded, calls return the same promise. When a write fails, the other handles are still
   * flushed and `close()` rejects with the first error (never silently); the points stay
   * buffered and calling `close()` again retries.
   * `keel.close()` calls it before closing the backend.
   *
   * @throws {StorageError} (as a rejection; or a custom store's own error) when a write fails.
   */
  close(): Promise<void>;
}

/** A stored record a read skipped, or a write could not build on, because it is corrupt. */
export interface CorruptRecord {
  /** The document key or log name. */
  key: string;
  /** For a log: the offset of the first entry that could not be read. */
  offset?: number;
  /** What is wrong, in the store's words. */
  reason: string;
}

/** The events the Tracker emits: event name to payload. */
export interface TrackerEvents {
  /** Emitted once per corrupt record a read skipped (or a write met); see {@link CorruptRecord}. */
  'store:corrupt': CorruptRecord;
  /** A run started. */
  'run:started': {
    /** The run's id. */
    runId: string;
    /** Its experiment. */
    experiment: string;
    /** Its display name. */
    name?: string;
    /** Its parent run. */
    parentRunId?: string;
    /**
     * A copy of the run as it started (params, tags and inputs given to `startRun`), for
     * listeners that forward runs elsewhere, e.g. as OpenLineage events.
     */
    run: Run;
  };
  /** A run ended. */
  'run:ended': {
    /** The run's id. */
    runId: string;
    /** Its experiment. */
    experiment: string;
    /** The status it ended with. */
    status: FinalRunStatus;
    /** A copy of the run as it ended: final tags, latest metrics, outputs and error. */
    run: Run;
  };
  /** One per flushed batch, not per point. */
  'metric:logged': {
    /** The run written to. */
    runId: string;
    /** Points in the batch. */
    count: number;
    /** The metric keys in the batch. */
    keys: string[];
  };
}

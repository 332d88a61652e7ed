/**
 * @module
 * keel: run machine-learning systems in production from any JS runtime. This entry holds
 * everything that needs no Node built-ins; `keel/fs` adds the filesystem backend and
 * `keel/testing` the conformance suites and test doubles.
 */

export type { ArtifactDamage, OnArtifactDamage } from './artifacts/damage.js';
export type { ArtifactEvents } from './artifacts/instrumented.js';
export { getJson, JSON_MEDIA_TYPE, putJson } from './artifacts/json.js';
export type {
  ArtifactMeta,
  ArtifactRef,
  ArtifactStore,
  ListArtifactsOptions,
  PutOptions,
} from './artifacts/types.js';
export type { Backend } from './backends/backend.js';
export {
  type CopyBackendOptions,
  type CopyProgress,
  type CopyReport,
  copyBackend,
} from './backends/copy.js';
export {
  createMemoryArtifactStore,
  type MemoryArtifactStoreOptions,
} from './backends/memory/artifact-store.js';
export { type MemoryBackendOptions, memoryBackend } from './backends/memory/backend.js';
export { createMemoryMetadataStore } from './backends/memory/metadata-store.js';
export type { Body } from './core/body.js';
export { canonicalJson, toJsonValue } from './core/canonical-json.js';
export { type Clock, systemClock } from './core/clock.js';
export {
  assertDigest,
  createHasher,
  type Digest,
  digestOf,
  digestOfJson,
  type Hasher,
  isDigest,
  sha256,
} from './core/digest.js';
export {
  AbortedError,
  ConflictError,
  type ErrorCode,
  ErrorCodes,
  IntegrityError,
  isKeelError,
  KeelError,
  type KeelErrorOptions,
  NotFoundError,
  PolicyError,
  StorageError,
  TimeoutError,
  UnauthorizedError,
  ValidationError,
  type ValidationIssue,
} from './core/errors.js';
export {
  type Emit,
  type EmitterArgs,
  type EventMap,
  type ListenerErrorEvent,
  SafeEmitter,
} from './core/events.js';
export { createIdGenerator, newId } from './core/ids.js';
export type { JsonObject, JsonValue } from './core/json.js';
export { createRandom, type Random, type Seed } from './core/random.js';
export {
  type Actor,
  actorSchema,
  digestSchema,
  keySchema,
  nameSchema,
  type Params,
  paramsSchema,
  type Tags,
  tagsSchema,
} from './core/schemas.js';
export type {
  InferOutput,
  StandardSchemaResult,
  StandardSchemaV1,
} from './core/standard-schema.js';
export { INSTRUMENTATION_SCOPE, type Telemetry } from './core/telemetry.js';
export {
  benjaminiHochberg,
  type ColumnDriftEntry,
  type ColumnSpec,
  type DetectDriftOptions,
  type DetectDriftReport,
  defaultMethod,
  detectDrift,
  type SkippedColumn,
  type SkipReason as DriftSkipReason,
} from './drift/dataset.js';
export { type MannWhitneyResult, mannWhitneyU } from './drift/detectors/mannwhitney.js';
export {
  anderson,
  chisquare,
  cramervonmises,
  detectors,
  energy,
  fisher,
  hellinger,
  jensenshannon,
  kl,
  ks,
  linf,
  mannwhitney,
  psi,
  type SampleDetector,
  ttest,
  tvd,
  wasserstein,
  z,
} from './drift/detectors.js';
export {
  type CategoricalColumnProfile,
  type ColumnProfile,
  columnSketch,
  type EmptyColumnProfile,
  isProfile,
  mergeProfiles,
  type NumericColumnProfile,
  PROFILE_FORMAT,
  PROFILE_VERSION,
  type Profile,
  type ProfileHistogram,
  type ProfileOptions,
  parseProfile,
  profile,
} from './drift/profile.js';
export {
  type CategoricalDriftHistogram,
  type DriftHistogram,
  HISTOGRAM_MAX_BINS,
  HISTOGRAM_MAX_CATEGORIES,
  HISTOGRAM_MAX_LABEL,
  type NumericDriftHistogram,
} from './drift/report-histogram.js';
export {
  type CategoricalSample,
  categoricalSample,
  type NumericSample,
  numericSample,
  type Sample,
} from './drift/sample.js';
export {
  createDriftService,
  type DriftEvents,
  type DriftService,
  type DriftServiceOptions,
} from './drift/service.js';
export {
  DEFAULT_SKETCH_K,
  QuantileSketch,
  type QuantileSketchJson,
  type QuantileSketchOptions,
} from './drift/sketch.js';
export { Adwin, type AdwinOptions, type AdwinUpdate } from './drift/streaming/adwin.js';
export { Ddm, type DdmOptions } from './drift/streaming/ddm.js';
export { Eddm, type EddmOptions } from './drift/streaming/eddm.js';
export { HddmA, type HddmAOptions } from './drift/streaming/hddm-a.js';
export { HddmW, type HddmWOptions } from './drift/streaming/hddm-w.js';
export { Kswin, type KswinOptions, type KswinUpdate } from './drift/streaming/kswin.js';
export { PageHinkley, type PageHinkleyOptions } from './drift/streaming/page-hinkley.js';
export type { StreamingDetector, StreamingUpdate } from './drift/streaming/types.js';
export {
  type ColumnType,
  type ColumnTypeInfo,
  inferColumnType,
  isMissing,
  type Row,
  type Table,
  type TableColumns,
  tableColumns,
} from './drift/table.js';
export type {
  ColumnDriftResult,
  DatasetDriftReport,
  DriftDetector,
  DriftKind,
  DriftTestOptions,
  DriftTestResult,
  MissingCounts,
} from './drift/types.js';
export {
  type ColumnExpectation,
  type DataCheck,
  type DataExpectation,
  type DataReport,
  type DataSpec,
  type DriftExpectation,
  validateData,
  validateDataAsync,
} from './drift/validate-data.js';
export {
  createGateEvaluator,
  type EvaluateGateOptions,
  type GateEvaluator,
  type GateEvaluatorOptions,
  type GateEvents,
  type GateJudgement,
} from './gates/evaluator.js';
export {
  decodeEvidence,
  type Evidence,
  encodeEvidence,
  type ModelEvidence,
} from './gates/evidence.js';
export { formatGateReport } from './gates/format.js';
export {
  GATE_EVIDENCE_MEDIA_TYPE,
  GATE_POLICY_MEDIA_TYPE,
  GATE_REPORT_MEDIA_TYPE,
  gatePolicyDigest,
  overallDecision,
  readGateReport,
  type StoredGateReport,
  storedGateReportSchema,
} from './gates/report.js';
export type { RuleEvaluator, RuleOutcome } from './gates/rule.js';
export {
  type BuiltinRule,
  builtinRuleKinds,
  type CompareRule,
  type ConvergenceRule,
  type CostRule,
  type CustomRule,
  createGatePolicySchema,
  type DriftRule,
  type FairnessMetric,
  type FairnessRule,
  type GatePolicy,
  gatePolicySchema,
  type LatencyRule,
  type LeakageRule,
  type MetricRule,
  type Rule,
  type RuleBase,
  type RuleSeverity,
  type SignificanceRule,
  type SignificanceTest,
} from './gates/schema.js';
export type { GateDecision, GateReport, GateSubject, RuleResult } from './gates/types.js';
export { createKeel, type Keel, type KeelEvents, type KeelOptions } from './keel.js';
export type {
  OpenLineageBus,
  OpenLineageEmitter,
  OpenLineageOptions,
  OpenLineageStats,
} from './lineage/openlineage/emitter.js';
export { keelRunIdOf, openLineageRunId } from './lineage/openlineage/run-id.js';
export type {
  OpenLineageDataset,
  OpenLineageEventType,
  OpenLineageFacet,
  OpenLineageJob,
  OpenLineageRunEvent,
} from './lineage/openlineage/spec.js';
export {
  type ConsoleTransportOptions,
  consoleTransport,
  type HttpTransportOptions,
  httpTransport,
  type OpenLineageTransport,
} from './lineage/openlineage/transports.js';
export {
  checkDocumentQuery,
  type DocumentPredicate,
  type DocumentQuery,
  MAX_QUERY_LIMIT,
  MAX_QUERY_NODES,
  type QueryComparison,
  type QueryOrderKey,
  type QueryTerm,
  type QueryTermType,
} from './metadata/query.js';
export type {
  BatchOperation,
  BatchResult,
  DocumentChange,
  ListDocumentsOptions,
  LogRecord,
  MetadataCapabilities,
  MetadataStore,
  PutDocumentOptions,
  Versioned,
} from './metadata/types.js';
export { type ScoreBatchOptions, type ScoredBatch, scoreBatch } from './ops/batch.js';
export type { EventSource, OpsKeel } from './ops/context.js';
export type {
  DoctorFinding,
  DoctorOptions,
  DoctorRepair,
  DoctorReport,
} from './ops/doctor.js';
export type { Listenable, ListenerEvents } from './ops/emitter.js';
export { createMonitor, decayDetectors } from './ops/monitor/monitor.js';
export type {
  DecayDetected,
  DecayDetectorName,
  DecayOptions,
  DriftDetected,
  DriftEpisode,
  DriftFinding,
  DriftResolved,
  FalseAlarmBudget,
  MismatchCounts,
  Monitor,
  MonitorCheck,
  MonitorColumnEntry,
  MonitorEffects,
  MonitorEvents,
  MonitorGroupState,
  MonitorKeel,
  MonitorOptions,
  MonitorPreset,
  MonitorReport,
  MonitorState,
  MonitorStats,
  MonitorStatus,
  MonitorTestKind,
  MonitorTestResult,
  WrapOptions,
} from './ops/monitor/types.js';
export { stableUnit } from './ops/router/assignment.js';
export { createRouter } from './ops/router/router.js';
export type {
  Arm,
  ArmStats,
  AutoRelease,
  Prediction,
  PredictionRecorder,
  Predictor,
  ReleaseActionOptions,
  ReleaseStrategy,
  ReplicaOptions,
  Router,
  RouterEvents,
  RouterOptions,
  RouterStats,
  ShadowStats,
  SharedArmStats,
  SharedStats,
} from './ops/router/types.js';
export {
  createTrainingLoop,
  type LoopOutcome,
  type LoopStage,
  type RegisterOptions,
  type SkipReason,
  type TrainablePipeline,
  type TrainingLoop,
  type TrainingLoopEvents,
  type TrainingLoopOptions,
} from './ops/training-loop.js';
export {
  every,
  type FireTrigger,
  type MonitorSource,
  onDecay,
  onDrift,
  onEvent,
  type Trigger,
  type TriggerEvent,
} from './ops/triggers.js';
export {
  type InferSchemaInput,
  type InferSchemaOutput,
  pipeline,
} from './pipeline/builder.js';
export { PipelineAbortedError, PipelineRunError } from './pipeline/errors.js';
export type { PipelineEvents, StepEventBase } from './pipeline/events.js';
export type {
  BackoffOptions,
  CacheExplain,
  CacheKeyParts,
  LogSink,
  NewStepName,
  Pipeline,
  PipelineBuilder,
  PipelineKeel,
  PipelineOptions,
  PipelineResult,
  RunOptions,
  Simplify,
  StepArgs,
  StepContext,
  StepFn,
  StepInfo,
  StepLogEntry,
  StepLogger,
  StepOptions,
  StepResult,
  StepStatus,
} from './pipeline/types.js';
export type { AuditKey } from './registry/audit-key.js';
export {
  allowAll,
  type RegistryAction,
  RegistryActions,
  roleAuthorizer,
} from './registry/authorizer.js';
export { recordGateReport, withReportIndex } from './registry/evidence.js';
export { createRegistry, type RegistryOptions } from './registry/registry.js';
export type {
  AliasChange,
  AliasChangeKind,
  AliasPolicy,
  Approval,
  AuditEntry,
  AuditResource,
  AuditVerification,
  AuthorizationRequest,
  Authorizer,
  GcOptions,
  GcPlan,
  LineageItem,
  LineageReport,
  Model,
  ModelSignature,
  ModelVersion,
  RegisterVersionOptions,
  Registry,
  RegistryEvents,
  RequireGate,
  SetAliasOptions,
} from './registry/types.js';
export { type CaptureEnvironmentOptions, captureEnvironment } from './tracking/environment.js';
export type {
  AndExpr,
  AttributeKey,
  AttributeKey as FilterAttributeKey,
  ComparisonExpr,
  ComparisonOperator,
  FieldKind,
  FieldRef,
  FilterExpr,
  FilterValue,
  InExpr,
  LikeExpr,
  OrExpr,
} from './tracking/filter/ast.js';
export { ATTRIBUTE_KEYS, COMPARISON_OPERATORS, FIELD_KINDS } from './tracking/filter/ast.js';
export { matchesFilter } from './tracking/filter/evaluate.js';
export { parseFilter } from './tracking/filter/parser.js';
export { printFilter } from './tracking/filter/print.js';
export { createTracker, type TrackerOptions } from './tracking/tracker.js';
export type {
  CorruptRecord,
  EndRunOptions,
  Environment,
  Experiment,
  FinalRunStatus,
  LineageRef,
  LineageResult,
  LogMetricOptions,
  MetricPoint,
  Run,
  RunHandle,
  RunStatus,
  SearchRunsQuery,
  SearchRunsResult,
  StartRunOptions,
  Tracker,
  TrackerEvents,
} from './tracking/types.js';

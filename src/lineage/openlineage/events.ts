/**
 * @module
 * Pure builders from keel's tracked runs to OpenLineage RunEvents: which job a run belongs
 * to (a pipeline, one of its steps, or an experiment), its datasets, and its facets.
 */
import type { GateReport } from '../../gates/types.js';
import type { LineageRef, Run } from '../../tracking/types.js';
import { openLineageRunId } from './run-id.js';
import {
  FACET_SCHEMA_URLS,
  KEEL_FACETS_SCHEMA_URL,
  OPENLINEAGE_SCHEMA_URL,
  type OpenLineageDataset,
  type OpenLineageEventType,
  type OpenLineageFacet,
  type OpenLineageJob,
  type OpenLineageRunEvent,
} from './spec.js';

/** Who emits, and under which namespace. */
export interface EventSettings {
  /** Namespace of jobs and datasets. */
  namespace: string;
  /** The producer URI of events and facets. */
  producer: string;
}

/** The job a tracked run belongs to. */
export interface JobIdentity {
  /** `pipeline` for a pipeline's run, `step.name` for a step's, the experiment otherwise. */
  name: string;
  /** `PIPELINE`, `STEP` or `JOB` (the `jobType` facet's `jobType`). */
  type: 'PIPELINE' | 'STEP' | 'JOB';
}

/** The parent of a run, as the ParentRunFacet names it. */
export interface ParentIdentity {
  /** The parent's keel run id. */
  runId: string;
  /** The parent's job name. */
  job: string;
}

/**
 * The job of a tracked run: runs the pipeline runner records carry the `keel.pipeline` (and,
 * for a step, `keel.step`) tags; any other run is a run of its experiment.
 */
export function jobOf(run: Pick<Run, 'experiment' | 'tags'>): JobIdentity {
  const pipeline = run.tags['keel.pipeline'];
  const step = run.tags['keel.step'];
  if (pipeline !== undefined && step !== undefined)
    return { name: `${pipeline}.${step}`, type: 'STEP' };
  if (pipeline !== undefined) return { name: pipeline, type: 'PIPELINE' };
  return { name: run.experiment, type: 'JOB' };
}

/** The OpenLineage transition a run's final status is. */
export function endEventType(status: Run['status']): OpenLineageEventType {
  if (status === 'failed') return 'FAIL';
  if (status === 'killed') return 'ABORT';
  return 'COMPLETE';
}

/**
 * The RunEvent for a run's START or end (COMPLETE, FAIL, ABORT). The START event carries
 * the params; an end event the latest metrics and, after an error, the ErrorMessageRunFacet.
 * The event shares the run's tags and params objects: pass a run no one changes afterwards
 * (the tracker's events carry copies).
 */
export function runEvent(
  eventType: OpenLineageEventType,
  run: Run,
  parent: ParentIdentity | undefined,
  settings: EventSettings,
): OpenLineageRunEvent {
  const job = jobOf(run);
  const facets: Record<string, OpenLineageFacet> = {};
  if (parent) facets.parent = parentFacet(parent, settings);
  const keelRun: Record<string, unknown> = {
    runId: run.id,
    experiment: run.experiment,
    status: run.status,
    tags: run.tags,
  };
  if (run.name !== undefined) keelRun.name = run.name;
  if (run.error?.code !== undefined) keelRun.errorCode = run.error.code;
  facets.keel_run = keelFacet('KeelRunFacet', settings, keelRun);
  if (eventType === 'START') {
    if (Object.keys(run.params).length > 0)
      facets.keel_params = keelFacet('KeelParamsRunFacet', settings, { params: run.params });
  } else {
    const metrics = finalMetrics(run);
    if (metrics) facets.keel_metrics = keelFacet('KeelMetricsRunFacet', settings, { metrics });
  }
  if (eventType !== 'START' && run.error !== undefined) {
    facets.errorMessage = {
      _producer: settings.producer,
      _schemaURL: FACET_SCHEMA_URLS.errorMessage,
      message: run.error.message,
      programmingLanguage: 'JavaScript',
    };
  }
  const pipeline = job.type === 'PIPELINE' ? job.name : run.tags['keel.pipeline'];
  return {
    eventType,
    eventTime: eventType === 'START' ? run.startTime : (run.endTime ?? run.startTime),
    run: { runId: openLineageRunId(run.id), facets },
    job: jobFacets(job, settings),
    inputs: datasets(run.inputs, pipeline, undefined, settings),
    outputs: datasets(run.outputs, pipeline, job.type === 'STEP' ? job.name : undefined, settings),
    producer: settings.producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
  };
}

/**
 * An `OTHER` event that adds a gate's verdict (the `keel_gate` facet) to the run that
 * produced the judged model version, after that run ended.
 */
export function gateEvent(
  run: Run,
  report: Pick<GateReport, 'policy' | 'decision' | 'digest' | 'subject'>,
  eventTime: string,
  settings: EventSettings,
): OpenLineageRunEvent {
  const gate: Record<string, unknown> = {
    policy: report.policy,
    decision: report.decision,
    passed: report.decision !== 'fail',
    report: report.digest,
  };
  if (report.subject) gate.subject = { ...report.subject };
  return {
    eventType: 'OTHER',
    eventTime,
    run: {
      runId: openLineageRunId(run.id),
      facets: { keel_gate: keelFacet('KeelGateRunFacet', settings, gate) },
    },
    job: jobFacets(jobOf(run), settings),
    inputs: [],
    outputs: [],
    producer: settings.producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
  };
}

function jobFacets(job: JobIdentity, settings: EventSettings): OpenLineageJob {
  return {
    namespace: settings.namespace,
    name: job.name,
    facets: {
      jobType: {
        _producer: settings.producer,
        _schemaURL: FACET_SCHEMA_URLS.jobType,
        processingType: 'BATCH',
        integration: 'KEEL',
        jobType: job.type,
      },
    },
  };
}

function parentFacet(parent: ParentIdentity, settings: EventSettings): OpenLineageFacet {
  return {
    _producer: settings.producer,
    _schemaURL: FACET_SCHEMA_URLS.parent,
    run: { runId: openLineageRunId(parent.runId) },
    job: { namespace: settings.namespace, name: parent.job },
  };
}

function keelFacet(
  definition: string,
  settings: EventSettings,
  fields: Record<string, unknown>,
): OpenLineageFacet {
  return {
    _producer: settings.producer,
    _schemaURL: `${KEEL_FACETS_SCHEMA_URL}#/$defs/${definition}`,
    ...fields,
  };
}

/** The latest value of each metric; NaN and infinities as strings (JSON has no such numbers). */
function finalMetrics(run: Run): Record<string, number | string> | undefined {
  const keys = Object.keys(run.metrics);
  if (keys.length === 0) return undefined;
  const out: Record<string, number | string> = {};
  for (const key of keys) {
    const value = run.metrics[key]!.value;
    out[key] = Number.isFinite(value) ? value : String(value);
  }
  return out;
}

/**
 * Datasets from lineage references. A pipeline's data between steps keeps one name per
 * producing step (`<pipeline>.<step>.output`, and `<pipeline>.input`), whose versions are
 * digests; any other reference is content-addressed in keel, so its digest is its name.
 */
function datasets(
  refs: readonly LineageRef[],
  pipeline: string | undefined,
  producingStep: string | undefined,
  settings: EventSettings,
): OpenLineageDataset[] {
  const out: OpenLineageDataset[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const name = datasetName(ref, pipeline, producingStep);
    if (seen.has(name)) continue;
    seen.add(name);
    const facets: Record<string, OpenLineageFacet> = {
      version: {
        _producer: settings.producer,
        _schemaURL: FACET_SCHEMA_URLS.version,
        datasetVersion: ref.digest,
      },
    };
    const artifact: Record<string, unknown> = { digest: ref.digest };
    if (ref.name !== undefined) artifact.name = ref.name;
    if (ref.kind !== undefined) artifact.kind = ref.kind;
    facets.keel_artifact = keelFacet('KeelArtifactDatasetFacet', settings, artifact);
    out.push({ namespace: settings.namespace, name, facets });
  }
  return out;
}

function datasetName(
  ref: LineageRef,
  pipeline: string | undefined,
  producingStep: string | undefined,
): string {
  if (pipeline !== undefined && ref.kind === 'pipeline-input') return `${pipeline}.input`;
  if (pipeline !== undefined && ref.kind === 'step-output' && ref.name !== undefined) {
    // a step's own output is named after the step; its inputs after the steps that made them
    if (producingStep !== undefined) return `${producingStep}.output`;
    return `${pipeline}.${ref.name}.output`;
  }
  return ref.digest;
}

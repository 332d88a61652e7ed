/**
 * @module
 * The OpenLineage 2-0-2 shapes keel emits (RunEvent, job, run, datasets, facets) and the
 * schema URLs of the standard facets it uses, as the specification names them.
 */

/** The RunEvent schema keel's events declare (`schemaURL`). */
export const OPENLINEAGE_SCHEMA_URL =
  'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';

/** Schema URLs of the standard facets keel emits, with the facet versions of spec 2-0-2. */
export const FACET_SCHEMA_URLS = {
  parent: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet',
  errorMessage:
    'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  version:
    'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
} as const;

/**
 * Where keel's own facets are described: a JSON Schema shipped in the package as
 * `docs/openlineage-facets.json`; each facet's `_schemaURL` points into its `$defs`.
 */
export const KEEL_FACETS_SCHEMA_URL = 'https://unpkg.com/keel/docs/openlineage-facets.json';

/** The default `producer` of keel's events and facets. */
export const KEEL_PRODUCER = 'https://www.npmjs.com/package/keel';

/** The transition an event reports, as OpenLineage names it. */
export type OpenLineageEventType = 'START' | 'RUNNING' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';

/** Fields every facet carries: who wrote it and which schema it follows. */
export interface OpenLineageFacet {
  /** URI of the producer of this facet. */
  _producer: string;
  /** URL of the JSON Schema (definition) this facet follows. */
  _schemaURL: string;
  /** The facet's own fields. */
  [field: string]: unknown;
}

/** A dataset a run read or wrote. */
export interface OpenLineageDataset {
  /** Where the dataset lives (keel uses the emitter's namespace). */
  namespace: string;
  /** Its name within the namespace. */
  name: string;
  /** Dataset facets (keel sets `version`: the content digest). */
  facets?: Record<string, OpenLineageFacet>;
}

/** The job a run belongs to. */
export interface OpenLineageJob {
  /** The namespace of the job. */
  namespace: string;
  /** The job's name within the namespace. */
  name: string;
  /** Job facets (keel sets `jobType`). */
  facets?: Record<string, OpenLineageFacet>;
}

/** An OpenLineage RunEvent, as keel emits it (a JSON value). */
export interface OpenLineageRunEvent {
  /** The transition. */
  eventType: OpenLineageEventType;
  /** ISO-8601 time of the transition. */
  eventTime: string;
  /** The run. */
  run: {
    /** A UUID: keel's run id written as a UUID (see `openLineageRunId`). */
    runId: string;
    /** Run facets: `parent`, `errorMessage` and keel's own (`keel_run`, `keel_params`, …). */
    facets?: Record<string, OpenLineageFacet>;
  };
  /** The job. */
  job: OpenLineageJob;
  /** Datasets the run read. */
  inputs: OpenLineageDataset[];
  /** Datasets the run wrote. */
  outputs: OpenLineageDataset[];
  /** URI of the producer of this event. */
  producer: string;
  /** The RunEvent schema this event follows (spec 2-0-2's `RunEvent`). */
  schemaURL: string;
}

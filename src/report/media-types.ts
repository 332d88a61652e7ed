/**
 * @module
 * The media types under which reports are stored as artifacts, so that the UI (and anyone
 * listing a run's outputs) knows which renderer draws them.
 */

/** Media type of a stored drift report (`detectDrift`'s JSON). */
export const DRIFT_REPORT_MEDIA_TYPE = 'application/vnd.keel.drift-report+json';

/** Media type of a stored pipeline result (`pipeline.run`'s result as JSON). */
export const PIPELINE_RUN_MEDIA_TYPE = 'application/vnd.keel.pipeline-run+json';

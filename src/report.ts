/**
 * @module
 * keel/report: reports as self-contained HTML strings, in any JS runtime. Each function takes
 * a report (or its stored JSON) and returns one HTML document with its styles, charts (uPlot,
 * inlined) and data inside: no request leaves the page, so it opens from a file, an email
 * attachment or an artifact store. Every string from data is escaped. See docs/reports.md.
 */

export {
  type ComparedRun,
  type RunComparisonOptions,
  renderRunComparison,
} from './report/comparison.js';
export { type DriftReportOptions, renderDriftReport } from './report/drift.js';
export { type GateReportOptions, renderGateReport } from './report/gate.js';
export { DRIFT_REPORT_MEDIA_TYPE, PIPELINE_RUN_MEDIA_TYPE } from './report/media-types.js';
export {
  type PipelineRunOptions,
  type PipelineStepShape,
  renderPipelineRun,
} from './report/pipeline.js';

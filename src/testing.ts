/**
 * @module
 * keel/testing: conformance suites for custom adapters (runner-agnostic; vitest is an
 * optional peer), a manual clock and recording test doubles.
 */
export {
  type ArtifactStoreSuiteOptions,
  describeArtifactStore,
} from './testing/artifact-store-suite.js';
export { ManualClock } from './testing/manual-clock.js';
export {
  type BatchCrash,
  describeMetadataStore,
  type MetadataStoreSuiteOptions,
} from './testing/metadata-store-suite.js';
export {
  createPipelineTestKeel,
  type ExpectedStep,
  expectStepStatuses,
  type PipelineTestKeel,
  type PipelineTestKeelOptions,
  type PipelineTestRun,
  type RecordedPipelineRun,
  recordedRuns,
  runPipelineForTest,
  type TestRunOptions,
  withStep,
} from './testing/pipeline.js';
export {
  type RecordedCall,
  type RecordingArtifactStore,
  recordingArtifactStore,
} from './testing/recording-artifact-store.js';
export { describeRegistry, type RegistrySuiteOptions } from './testing/registry-suite.js';
export type { SuiteCase, SuiteOptions, TestFn, TestRunner } from './testing/runner.js';
export { describeTracker, type TrackerSuiteOptions } from './testing/tracker-suite.js';

/**
 * Issue 16 ("Hostile input"): every public function and method of the root entry, keel/fs,
 * keel/report and keel/ui, called with hostile arguments (test/helpers/hostile.ts). Whatever it
 * is given, a call either returns or fails with a `KeelError` subclass (never a raw TypeError,
 * RangeError or a zod error), and a call that fails on its input writes nothing to the store.
 * Seeded, so a failure reproduces; the seed and the arguments are in the message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../src/artifacts/types.js';
import type { Backend } from '../src/backends/backend.js';
import * as fsEntry from '../src/fs.js';
import * as root from '../src/index.js';
import type { MetadataStore } from '../src/metadata/types.js';
import * as reportEntry from '../src/report.js';
import * as uiEntry from '../src/ui.js';
import {
  type Arg,
  argument,
  fixedArgs,
  hostile,
  outcome,
  PLAUSIBLE_NAME,
  plausibleScalar,
} from './helpers/hostile.js';

// FUZZ_SEED / FUZZ_RUNS explore further; the suite runs the fixed seed
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 15);

/** Counts every write that reaches a store, so a rejected call can be shown to write nothing. */
interface Counted {
  backend: Backend;
  writes(): number;
}

function counted(inner: Backend): Counted {
  let writes = 0;
  const wrap = <T extends object>(store: T, methods: readonly string[]): T =>
    new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof key !== 'string' || !methods.includes(key) || typeof value !== 'function')
          return typeof value === 'function' ? value.bind(target) : value;
        // a write counts once the store took it (a store refusing the input wrote nothing)
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          writes++;
          return result;
        };
      },
    });
  return {
    backend: {
      metadata: wrap<MetadataStore>(inner.metadata, ['put', 'delete', 'append', 'batch']),
      artifacts: wrap<ArtifactStore>(inner.artifacts, ['put', 'delete']),
    },
    writes: () => writes,
  };
}

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

/** A keel on a counted memory backend with a model, versions, an alias, runs and a report. */
async function world() {
  const store = counted(root.memoryBackend());
  const keel = root.createKeel({
    backend: store.backend,
    actor: { id: 'fuzz' },
    aliasPolicies: [{ alias: 'gated', requireGate: true }],
  });
  const { digest } = await keel.artifacts.put('weights');
  await keel.registry.registerVersion('m', { artifact: digest, metrics: { auc: 0.9 } });
  await keel.registry.registerVersion('m', { artifact: digest });
  await keel.registry.setAlias('m', 'prod', 1);
  const ended = await keel.tracker.startRun({ experiment: 'e', params: { lr: 0.1 } });
  ended.logMetric('loss', 0.5);
  await ended.end();
  const live = await keel.tracker.startRun({ experiment: 'e' });
  const policy: root.GatePolicy = {
    name: 'release',
    rules: [{ kind: 'metric', metric: 'auc', min: 0.5 }],
  };
  const report = await keel.gates.evaluate(
    policy,
    { candidate: { metrics: { auc: 0.9 } } },
    { subject: { model: 'm', version: 1 } },
  );
  const reference = root.profile({ x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
  const load = () => (input: unknown) => input;
  const router = root.createRouter({
    keel,
    model: 'm',
    load,
    strategy: { kind: 'canary', weight: 0.5 },
  });
  const monitor = root.createMonitor({
    keel,
    name: 'fuzz',
    reference,
    window: { size: 100 },
    checkEvery: 1_000_000,
  });
  const flow = root
    .pipeline('fuzz')
    .step('a', () => 1)
    .build();
  const loop = root.createTrainingLoop({ keel, pipeline: flow, input: () => undefined });
  const fsRoot = mkdtempSync(join(tmpdir(), 'keel-fuzz-'));
  temp.push(fsRoot);
  const fs = fsEntry.fsBackend({ root: fsRoot });
  const ui = uiEntry.createUiHandler({ keel });
  return {
    keel,
    store,
    digest,
    runId: ended.id,
    live,
    policy,
    report,
    reference,
    router,
    monitor,
    flow,
    loop,
    fs,
    ui,
    load,
  };
}

type World = Awaited<ReturnType<typeof world>>;
type Call = (w: World, a: unknown, b: unknown, c: unknown, d: unknown) => unknown;
const any = (value: unknown) => value as never;

/** The keys of `value` to merge into a well-formed base; a value that cannot be spread adds one key holding it. */
function spread(value: unknown): object {
  try {
    return { ...(value as object) };
  } catch {
    return { hostile: value };
  }
}

/**
 * Serves one request on a fake `node:http` response; resolves once the UI ended the response,
 * and throws what it destroyed the response with (a page that could not be served at all).
 */
function serveOnce(ui: uiEntry.UiHandler, req: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const res = {
      statusCode: 200,
      headersSent: false,
      writableEnded: false,
      setHeader: () => res,
      getHeader: () => undefined,
      removeHeader: () => undefined,
      writeHead: () => res,
      write: () => true,
      end: () => {
        resolve();
        return res;
      },
      destroy: (error?: unknown) => {
        reject(error ?? new Error('the UI destroyed the response'));
        return res;
      },
      on: () => res,
      once: () => res,
    };
    ui(req as IncomingMessage, res as unknown as ServerResponse);
  });
}

const streaming: Record<string, new (o?: never) => { update(x: never): unknown }> = {
  Adwin: root.Adwin,
  Ddm: root.Ddm,
  Eddm: root.Eddm,
  HddmA: root.HddmA,
  HddmW: root.HddmW,
  Kswin: root.Kswin,
  PageHinkley: root.PageHinkley,
};

const calls: Record<string, Call> = {
  // keel
  createKeel: (_, a) => root.createKeel(any(a)),
  'keel.doctor': (w, a) => w.keel.doctor(any(a)),
  'keel.events.emit': (w, a, b) =>
    (w.keel.events.emit as (e: unknown, p: unknown) => boolean)(a, b),
  'keel.events.on': (w, a, b) => w.keel.events.on(any(a), any(b)),
  // tracker
  'tracker.startRun': (w, a) => w.keel.tracker.startRun(any(a)),
  'tracker.resumeRun': (w, a) => w.keel.tracker.resumeRun(any(a)),
  'tracker.getRun': (w, a) => w.keel.tracker.getRun(any(a)),
  'tracker.searchRuns': (w, a) => w.keel.tracker.searchRuns(any(a)),
  'tracker.getRunArtifact': (w, a, b) => w.keel.tracker.getRunArtifact(any(a), any(b)),
  'tracker.metricHistory': (w, a, b) => w.keel.tracker.metricHistory(any(a), any(b)),
  'tracker.listExperiments': (w) => w.keel.tracker.listExperiments(),
  'tracker.lineage': (w, a) => w.keel.tracker.lineage(any(a)),
  'run.logParams': (w, a) => w.live.logParams(any(a)),
  'run.logMetric': (w, a, b, c) => w.live.logMetric(any(a), any(b), any(c)),
  'run.logMetrics': (w, a, b) => w.live.logMetrics(any(a), any(b)),
  'run.setTags': (w, a) => w.live.setTags(any(a)),
  'run.logInput': (w, a) => w.live.logInput(any(a)),
  'run.logOutput': (w, a) => w.live.logOutput(any(a)),
  'run.logArtifact': (w, a, b) => w.live.logArtifact(any(a), any(b)),
  'run.artifact': (w, a) => w.live.artifact(any(a)),
  'run.end': (w, a, b, c) => w.live.end(any(a), any(b), any(c)),
  // registry
  'registry.createModel': (w, a, b) => w.keel.registry.createModel(any(a), any(b)),
  'registry.getModel': (w, a) => w.keel.registry.getModel(any(a)),
  'registry.listModels': (w, a) => w.keel.registry.listModels(any(a)),
  'registry.registerVersion': (w, a, b) => w.keel.registry.registerVersion(any(a), any(b)),
  'registry.getVersion': (w, a, b) => w.keel.registry.getVersion(any(a), any(b)),
  'registry.resolve': (w, a, b) => w.keel.registry.resolve(any(a), any(b)),
  'registry.listVersions': (w, a, b) => w.keel.registry.listVersions(any(a), any(b)),
  'registry.setAlias': (w, a, b, c, d) => w.keel.registry.setAlias(any(a), any(b), any(c), any(d)),
  'registry.deleteAlias': (w, a, b, c) => w.keel.registry.deleteAlias(any(a), any(b), any(c)),
  'registry.rollback': (w, a, b, c) => w.keel.registry.rollback(any(a), any(b), any(c)),
  'registry.aliasHistory': (w, a, b) => w.keel.registry.aliasHistory(any(a), any(b)),
  'registry.listAliases': (w, a) => w.keel.registry.listAliases(any(a)),
  'registry.approve': (w, a, b, c) => w.keel.registry.approve(any(a), any(b), any(c)),
  'registry.approvals': (w, a, b, c) => w.keel.registry.approvals(any(a), any(b), any(c)),
  'registry.archiveVersion': (w, a, b, c) => w.keel.registry.archiveVersion(any(a), any(b), any(c)),
  'registry.audit': (w, a) => w.keel.registry.audit(any(a)),
  'registry.verifyLineage': (w, a, b) => w.keel.registry.verifyLineage(any(a), any(b)),
  'registry.gc': (w, a) => w.keel.registry.gc(any(a)),
  // gates, drift
  'gates.evaluate': (w, a, b, c) => w.keel.gates.evaluate(any(a), any(b), any(c)),
  'gates.judge': (w, a, b) => w.keel.gates.judge(any(a), any(b)),
  'gates.evaluate(policy, …)': (w, a, b) => w.keel.gates.evaluate(w.policy, any(a), any(b)),
  'drift.detect': (w, a, b, c) => w.keel.drift.detect(any(a), any(b), any(c)),
  'drift.detect(reference, …)': (w, a, b) => w.keel.drift.detect(w.reference, any(a), any(b)),
  // stores through keel
  'artifacts.put': (w, a, b) => w.keel.artifacts.put(any(a), any(b)),
  'artifacts.get': (w, a) => w.keel.artifacts.get(any(a)),
  'artifacts.stream': (w, a) => w.keel.artifacts.stream(any(a)),
  'artifacts.stat': (w, a) => w.keel.artifacts.stat(any(a)),
  'artifacts.has': (w, a) => w.keel.artifacts.has(any(a)),
  'artifacts.list': (w, a) => w.keel.artifacts.list(any(a)),
  'artifacts.delete': (w, a) => w.keel.artifacts.delete(any(a)),
  'metadata.get': (w, a) => w.keel.metadata.get(any(a)),
  'metadata.put': (w, a, b, c) => w.keel.metadata.put(any(a), any(b), any(c)),
  'metadata.delete': (w, a, b) => w.keel.metadata.delete(any(a), any(b)),
  'metadata.list': (w, a, b) => w.keel.metadata.list(any(a), any(b)),
  'metadata.append': (w, a, b) => w.keel.metadata.append(any(a), any(b)),
  'metadata.read': (w, a, b) => w.keel.metadata.read(any(a), any(b)),
  'metadata.batch': (w, a) => w.keel.metadata.batch?.(any(a)),
  checkDocumentQuery: (_, a) => root.checkDocumentQuery(a),
  'metadata.listLogs': (w, a, b) => w.keel.metadata.listLogs?.(any(a), any(b)),
  // ops
  createRouter: (_, a) => root.createRouter(any(a)),
  'createRouter(keel, …)': (w, a) =>
    root.createRouter({ keel: w.keel, load: w.load, ...spread(a) } as never),
  'router.predict': (w, a, b) => w.router.predict(any(a), any(b)),
  'router.analyze': (w, a) => w.router.analyze(any(a)),
  'router.promote': (w, a) => w.router.promote(any(a)),
  'router.rollback': (w, a) => w.router.rollback(any(a)),
  createMonitor: (_, a) => root.createMonitor(any(a)),
  'createMonitor(keel, …)': (w, a) => root.createMonitor({ keel: w.keel, ...spread(a) } as never),
  'monitor.wrap': (w, a, b) => w.monitor.wrap(any(a), any(b)),
  'monitor.record': (w, a, b, c, d) => w.monitor.record(a, b, any(c), any(d)),
  'monitor.recordOutcome': (w, a, b) => w.monitor.recordOutcome(any(a), b),
  createTrainingLoop: (_, a) => root.createTrainingLoop(any(a)),
  'createTrainingLoop(keel, …)': (w, a) =>
    root.createTrainingLoop({ keel: w.keel, ...spread(a) } as never),
  'loop.trigger': (w, a) => w.loop.trigger(any(a)),
  every: (_, a) => root.every(any(a)),
  onDrift: (_, a) => root.onDrift(any(a)),
  onDecay: (_, a) => root.onDecay(any(a)),
  onEvent: (_, a, b, c) => root.onEvent(any(a), any(b), any(c)),
  'onEvent(keel.events, …)': (w, a, b) => root.onEvent(w.keel.events, any(a), any(b)),
  scoreBatch: (_, a) => root.scoreBatch(any(a)),
  'scoreBatch(keel, …)': (w, a) =>
    root.scoreBatch({ keel: w.keel, model: 'm', load: w.load, ...spread(a) } as never),
  stableUnit: (_, a, b) => root.stableUnit(any(a), any(b)),
  decayDetectors: (_, a) =>
    typeof a === 'string' && Object.hasOwn(root.decayDetectors, a)
      ? (root.decayDetectors as Record<string, () => unknown>)[a]!()
      : undefined,
  // pipelines
  pipeline: (_, a, b) => root.pipeline(any(a), any(b)),
  'pipeline.step': (_, a, b, c) => root.pipeline('p').step(any(a), any(b), any(c)).build(),
  'pipeline.run': (w, a, b) => w.flow.run(any(a), any(b)),
  'pipeline.run(…, { keel })': (w, a, b) =>
    w.flow.run(any(a), { keel: w.keel, ...spread(b) } as never),
  // services made directly
  createRegistry: (_, a) => root.createRegistry(any(a)),
  createTracker: (_, a) => root.createTracker(any(a)),
  createGateEvaluator: (_, a) => root.createGateEvaluator(any(a)),
  createDriftService: (_, a) => root.createDriftService(any(a)),
  roleAuthorizer: (_, a) => root.roleAuthorizer(any(a)),
  allowAll: (_, a) => root.allowAll(any(a)),
  'roleAuthorizer(…)(request)': (_, a) => root.roleAuthorizer({ admin: ['*'] })(any(a)),
  recordGateReport: (w, a) => root.recordGateReport(w.keel.metadata, any(a)),
  withReportIndex: (_, a, b) => root.withReportIndex(any(a), any(b)),
  copyBackend: (_, a, b, c) => root.copyBackend(any(a), any(b), any(c)),
  'copyBackend(keel, …)': (w, a, b) =>
    root.copyBackend({ metadata: w.keel.metadata, artifacts: w.keel.artifacts }, any(a), any(b)),
  memoryBackend: (_, a) => root.memoryBackend(any(a)),
  createMemoryArtifactStore: (_, a) => root.createMemoryArtifactStore(any(a)),
  createMemoryMetadataStore: (_, a) =>
    (root.createMemoryMetadataStore as (o: unknown) => unknown)(a),
  getJson: (w, a, b) => root.getJson(w.keel.artifacts, any(a), any(b)),
  putJson: (w, a, b) => root.putJson(w.keel.artifacts, any(a), any(b)),
  readGateReport: (w, a) => root.readGateReport(w.keel.artifacts, any(a)),
  // core
  canonicalJson: (_, a) => root.canonicalJson(a),
  toJsonValue: (_, a) => root.toJsonValue(a),
  assertDigest: (_, a, b) => root.assertDigest(a, any(b)),
  'createHasher().update': (_, a) => root.createHasher().update(any(a)),
  digestOf: (_, a) => root.digestOf(any(a)),
  digestOfJson: (_, a) => root.digestOfJson(a),
  sha256: (_, a) => root.sha256(any(a)),
  createIdGenerator: (_, a) => root.createIdGenerator(any(a))(),
  createRandom: (_, a) => root.createRandom(any(a)).next(),
  'new SafeEmitter().emit': (_, a, b) =>
    (new root.SafeEmitter().emit as (e: unknown, p: unknown) => boolean)(a, b),
  // drift
  detectDrift: (_, a, b, c) => root.detectDrift(any(a), any(b), any(c)),
  'detectDrift(reference, …)': (w, a, b) => root.detectDrift(w.reference, any(a), any(b)),
  mannWhitneyU: (_, a, b) => root.mannWhitneyU(any(a), any(b)),
  ...Object.fromEntries(
    Object.entries(root.detectors).map(([name, detector]) => [
      `${name}.test`,
      ((_, a, b, c) => detector.test(any(a), any(b), any(c))) as Call,
    ]),
  ),
  'detectors lookup': (_, a) => (root.detectors as Record<string, unknown>)[String(typeof a)],
  profile: (_, a, b) => root.profile(any(a), any(b)),
  mergeProfiles: (w, a, b) => root.mergeProfiles(any(a), b === undefined ? w.reference : any(b)),
  parseProfile: (_, a) => root.parseProfile(a),
  columnSketch: (_, a, b) => root.columnSketch(any(a), any(b)),
  categoricalSample: (_, a, b) => root.categoricalSample(any(a), any(b)),
  numericSample: (_, a, b) => root.numericSample(any(a), any(b)),
  'new QuantileSketch': (_, a) => new root.QuantileSketch(any(a)),
  'QuantileSketch.update': (_, a) => new root.QuantileSketch().update(any(a)),
  'QuantileSketch.updateMany': (_, a) => new root.QuantileSketch().updateMany(any(a)),
  'QuantileSketch.merge': (_, a) => new root.QuantileSketch().merge(any(a)),
  'QuantileSketch.quantile': (_, a) => new root.QuantileSketch().update(1).quantile(any(a)),
  'QuantileSketch.rank': (_, a) => new root.QuantileSketch().update(1).rank(any(a)),
  ...Object.fromEntries(
    Object.entries(streaming).flatMap(([name, Detector]) => [
      [`new ${name}`, ((_, a) => new Detector(any(a))) as Call],
      [`${name}.update`, ((_, a) => new Detector().update(any(a))) as Call],
    ]),
  ),
  inferColumnType: (_, a) => root.inferColumnType(any(a)),
  isMissing: (_, a) => root.isMissing(a),
  tableColumns: (_, a, b) => root.tableColumns(any(a), any(b)),
  validateData: (_, a, b) => root.validateData(any(a), any(b)),
  validateDataAsync: (_, a, b) => root.validateDataAsync(any(a), any(b)),
  benjaminiHochberg: (_, a, b) => root.benjaminiHochberg(any(a), any(b)),
  defaultMethod: (_, a, b, c) => root.defaultMethod(any(a), any(b), any(c)),
  // gates functions
  decodeEvidence: (_, a) => root.decodeEvidence(any(a)),
  encodeEvidence: (_, a) => root.encodeEvidence(any(a)),
  formatGateReport: (_, a) => root.formatGateReport(any(a)),
  gatePolicyDigest: (_, a) => root.gatePolicyDigest(any(a)),
  overallDecision: (_, a) => root.overallDecision(any(a)),
  createGatePolicySchema: (_, a) => root.createGatePolicySchema(any(a)),
  // tracking functions
  captureEnvironment: (_, a) => root.captureEnvironment(any(a)),
  parseFilter: (_, a) => root.parseFilter(any(a)),
  printFilter: (_, a) => root.printFilter(any(a)),
  matchesFilter: (_, a, b) => root.matchesFilter(any(a), any(b)),
  // OpenLineage
  openLineageRunId: (_, a) => root.openLineageRunId(any(a)),
  keelRunIdOf: (_, a) => root.keelRunIdOf(any(a)),
  httpTransport: (_, a) => root.httpTransport(any(a)),
  consoleTransport: (_, a) => root.consoleTransport(any(a)),
  fileTransport: (_, a) => fsEntry.fileTransport(any(a)),
  // keel/fs
  fsBackend: (_, a) => fsEntry.fsBackend(any(a)),
  createFsArtifactStore: (_, a) => fsEntry.createFsArtifactStore(any(a)),
  createFsMetadataStore: (_, a) => fsEntry.createFsMetadataStore(any(a)),
  commandStep: (_, a, b) => fsEntry.commandStep(any(a), any(b)),
  'fs metadata.get': (w, a) => w.fs.metadata.get(any(a)),
  'fs metadata.put': (w, a, b, c) => w.fs.metadata.put(any(a), any(b), any(c)),
  'fs metadata.delete': (w, a, b) => w.fs.metadata.delete(any(a), any(b)),
  'fs metadata.list': (w, a, b) => w.fs.metadata.list(any(a), any(b)),
  'fs metadata.append': (w, a, b) => w.fs.metadata.append(any(a), any(b)),
  'fs metadata.read': (w, a, b) => w.fs.metadata.read(any(a), any(b)),
  'fs metadata.batch': (w, a) => w.fs.metadata.batch?.(any(a)),
  'fs metadata.listLogs': (w, a, b) => w.fs.metadata.listLogs?.(any(a), any(b)),
  'fs artifacts.put': (w, a, b) => w.fs.artifacts.put(any(a), any(b)),
  'fs artifacts.get': (w, a) => w.fs.artifacts.get(any(a)),
  'fs artifacts.stat': (w, a) => w.fs.artifacts.stat(any(a)),
  'fs artifacts.list': (w, a) => w.fs.artifacts.list(any(a)),
  'fs artifacts.delete': (w, a) => w.fs.artifacts.delete(any(a)),
  'fs artifacts.pathOf': (w, a) => w.fs.artifacts.pathOf(any(a)),
  // keel/report
  renderRunComparison: (_, a, b) => reportEntry.renderRunComparison(any(a), any(b)),
  renderDriftReport: (_, a, b) => reportEntry.renderDriftReport(any(a), any(b)),
  renderGateReport: (_, a, b) => reportEntry.renderGateReport(any(a), any(b)),
  'renderGateReport(report, …)': (w, a) => reportEntry.renderGateReport(w.report, any(a)),
  renderPipelineRun: (_, a, b) => reportEntry.renderPipelineRun(any(a), any(b)),
  // keel/ui
  createUiHandler: (_, a) => uiEntry.createUiHandler(any(a)),
  // a node:http server always hands over a request object; its url, method and headers are the caller's
  'ui handler(request)': (w, a, b) => serveOnce(w.ui, { url: a, method: b, headers: {} }),
  'ui handler(url)': (w, a) => serveOnce(w.ui, { url: a, method: 'GET', headers: {} }),
  'ui handler(headers)': (w, a) =>
    serveOnce(w.ui, { url: '/', method: 'GET', headers: a === null ? {} : a }),
};

/** Refusals the registry audits by design: a denial or a policy refusal writes its entry. */
const AUDITED = new Set(['KEEL_UNAUTHORIZED', 'KEEL_POLICY']);

function show(args: readonly Arg[]): string {
  return args.map((a) => a.label.slice(0, 120)).join(', ');
}

describe('the public surface under hostile arguments (issue 16)', () => {
  it('every public function is in the table', () => {
    const covered = new Set(
      Object.keys(calls).map((name) => name.replace(/^new /, '').split(/[.( ]/)[0]!),
    );
    const functions = (entry: object) =>
      Object.entries(entry)
        .filter(([, value]) => typeof value === 'function')
        .map(([name]) => name);
    const exempt = new Set([
      // errors and predicates: constructors of errors, and functions that answer any value
      ...[...Object.keys(root), ...Object.keys(fsEntry)].filter((n) => n.endsWith('Error')),
      'isKeelError',
      'isDigest',
      'isProfile',
      'systemClock',
      'newId',
      // zod schemas (objects with methods), tested through the services that use them
      'actorSchema',
      'digestSchema',
      'keySchema',
      'nameSchema',
      'paramsSchema',
      'tagsSchema',
      'gatePolicySchema',
      'storedGateReportSchema',
    ]);
    const missing = [
      ...functions(root),
      ...functions(fsEntry),
      ...functions(reportEntry),
      ...functions(uiEntry),
    ].filter((name) => !exempt.has(name) && !covered.has(name));
    expect(missing).toEqual([]);
  });

  it('every throw is a KeelError, and a refused call writes nothing', async () => {
    const failures: string[] = [];
    for (const [name, call] of Object.entries(calls)) {
      const w = await world();
      const check = async (args: readonly Arg[]): Promise<void> => {
        const [a, b, c, d] = args.map((arg) => arg.make()) as [unknown, unknown, unknown, unknown];
        const before = w.store.writes();
        const error = await outcome(() => call(w, a, b, c, d));
        if (error === undefined) return;
        if (!root.isKeelError(error)) {
          const kind =
            error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
          throw new Error(`${name}(${show(args)}) threw ${kind.slice(0, 300)}`);
        }
        if (!AUDITED.has(error.code) && w.store.writes() !== before) {
          throw new Error(`${name}(${show(args)}) refused (${error.code}) but wrote to the store`);
        }
      };
      // every fixed trick in the first and in the second position, then random combinations
      sweep: for (const trick of fixedArgs()) {
        for (const args of [[trick], [PLAUSIBLE_NAME, trick]]) {
          try {
            await check(args);
          } catch (error) {
            failures.push(`[sweep] ${(error as Error).message}`);
            break sweep;
          }
        }
      }
      for (const [label, args] of [
        ['hostile', fc.tuple(argument, argument, argument, argument)],
        ['plausible first', fc.tuple(plausibleScalar, argument, argument, hostile)],
      ] as const) {
        const result = await fc.check(
          fc.asyncProperty(args, async (values) => check(values)),
          { seed: SEED, numRuns: RUNS, endOnFailure: true },
        );
        if (result.failed) {
          const cause = result.errorInstance as Error | undefined;
          failures.push(`[${label}] ${cause?.message ?? String(result.counterexample)}`);
        }
      }
      await w.router.close();
      w.monitor.close();
      await w.keel.close();
    }
    if (process.env.FUZZ_REPORT)
      (await import('node:fs')).writeFileSync(process.env.FUZZ_REPORT, failures.join('\n'));
    expect(failures).toEqual([]);
  }, 120_000);
});

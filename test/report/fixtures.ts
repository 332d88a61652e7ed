/**
 * Deterministic inputs for the report tests, the UI tests and the screenshots: a drift report
 * over realistic columns (one of them named like an attack), a gate report, runs with metric
 * histories and a pipeline result. Hostile names are everywhere a user can choose one.
 */
import { type DetectDriftReport, detectDrift } from '../../src/drift/dataset.js';
import type { GateReport } from '../../src/gates/types.js';
import type { PipelineResult } from '../../src/pipeline/types.js';
import type { MetricPoint, Run } from '../../src/tracking/types.js';
import { labels, normals } from '../helpers/data.js';

/** A name that runs script if it reaches the page unescaped. */
export const IMG_NAME = '<img src=x onerror="window.__pwned=1">';
/** Another: a script element. */
export const SCRIPT_NAME = '<script>window.__pwned=1</script>';

/** Reference and current tables with drifted, stable, categorical and discrete columns. */
export function driftTables(n = 800): {
  reference: Record<string, ArrayLike<unknown>>;
  current: Record<string, ArrayLike<unknown>>;
} {
  const plans = ['free', 'pro', 'team', SCRIPT_NAME];
  const clicks = (seed: string): number[] =>
    Array.from(normals(seed, n), (v) => Math.abs(Math.round(v * 2)));
  return {
    reference: {
      age: normals('age-r', n, 40, 10),
      spend: normals('spend-r', n, 120, 30),
      plan: labels('plan-r', n, plans.slice(0, 3)),
      clicks: clicks('clicks-r'),
      [IMG_NAME]: normals('img-r', n),
      constant: new Array(n).fill('x'),
    },
    current: {
      age: normals('age-c', n, 46, 12),
      spend: normals('spend-c', n, 121, 30),
      plan: labels('plan-c', n, plans, [3, 3, 2, 2]),
      clicks: clicks('clicks-c'),
      [IMG_NAME]: normals('img-c', n, 0.4),
      constant: new Array(n).fill(1),
    },
  };
}

/** `detectDrift` over {@link driftTables}: drifted, with one skipped column (type mismatch). */
export function driftReport(): DetectDriftReport {
  const { reference, current } = driftTables();
  return detectDrift(reference, current, { correction: 'bh', minEffect: 0.05 });
}

/** A stored-looking gate report with every decision, hostile names included. */
export function gateReport(): GateReport {
  return {
    policy: `release ${SCRIPT_NAME}`,
    decision: 'fail',
    passed: false,
    subject: { model: `churn ${IMG_NAME}`, version: 3 },
    results: [
      {
        rule: { kind: 'metric', metric: 'auc', min: 0.8 },
        decision: 'pass',
        observed: 0.91,
        expected: { min: 0.8 },
        message: 'auc = 0.91 within [0.8, inf)',
      },
      {
        rule: { kind: 'latency', percentile: 95, maxMs: 50, severity: 'warn' },
        decision: 'warn',
        observed: 61.5,
        expected: { maxMs: 50 },
        message: 'p95 latency 61.5 ms > 50 ms',
      },
      {
        rule: { kind: 'fairness', metric: 'demographic_parity_difference', sensitive: 'region' },
        decision: 'fail',
        observed: { north: 0.31, south: 0.12 },
        expected: { max: 0.1 },
        message: `demographic parity difference 0.19 > 0.1 over region ${IMG_NAME}`,
      },
      {
        rule: { kind: 'metric', metric: SCRIPT_NAME, min: 0 },
        decision: 'fail',
        observed: null,
        expected: { min: 0 },
        message: `metric ${SCRIPT_NAME} is missing from the evidence`,
      },
    ],
    evaluatedAt: '2026-03-01T12:00:00.000Z',
    digest: `sha256:${'ab'.repeat(32)}`,
  };
}

/** Runs with params, last metrics and histories (a loss curve, an accuracy curve). */
export function comparedRuns(): { run: Run; history: Record<string, MetricPoint[]> }[] {
  const curve = (steps: number, f: (s: number) => number, key: string): MetricPoint[] =>
    Array.from({ length: steps }, (_, step) => ({
      key,
      value: f(step),
      step,
      timestamp: 1_770_000_000_000 + step * 1000,
    }));
  const make = (
    id: string,
    name: string,
    lr: number,
    extra: Record<string, string | number | boolean>,
  ): {
    run: Run;
    history: Record<string, MetricPoint[]>;
  } => {
    const loss = curve(50, (s) => 1 / (1 + lr * 40 * s) + 0.05, 'loss');
    const acc = curve(50, (s) => 0.95 - 0.4 / (1 + lr * 20 * s), IMG_NAME);
    acc[10] = { ...acc[10]!, value: Number.NaN };
    return {
      run: {
        id,
        experiment: 'churn',
        name,
        status: 'completed',
        startTime: '2026-03-01T10:00:00.000Z',
        endTime: '2026-03-01T10:04:05.000Z',
        params: { lr, optimizer: 'adam', ...extra },
        tags: { team: 'growth' },
        metrics: { loss: loss.at(-1)!, [IMG_NAME]: acc.at(-1)! },
        inputs: [],
        outputs: [],
      },
      history: { loss, [IMG_NAME]: acc },
    };
  };
  return [
    make('run-a', 'baseline', 0.01, { layers: 2 }),
    make('run-b', SCRIPT_NAME, 0.05, { layers: 3, [SCRIPT_NAME]: IMG_NAME }),
  ];
}

/** A failed pipeline run: cached, executed, failed and skipped steps. */
export function pipelineResult(): PipelineResult {
  const explain = (decision: 'hit' | 'miss' | 'off', inputs: string[]) => ({
    decision,
    message:
      decision === 'hit'
        ? 'reused the output of run r1'
        : decision === 'off'
          ? 'caching is off for this step'
          : 'version changed',
    ...(decision === 'off'
      ? {}
      : {
          parts: {
            pipeline: 'churn-train',
            step: 'x',
            version: '1',
            inputs: Object.fromEntries(inputs.map((i) => [i, `sha256:${'0'.repeat(64)}` as const])),
          },
        }),
  });
  return {
    pipeline: 'churn-train',
    runId: 'pipe-1',
    status: 'failed',
    outputs: {},
    durationMs: 65_300,
    inputDigest: `sha256:${'cd'.repeat(32)}`,
    steps: {
      rows: {
        status: 'completed',
        cached: true,
        attempts: 0,
        durationMs: 12,
        runId: 'step-1',
        explain: explain('hit', ['input']),
      },
      checked: {
        status: 'completed',
        cached: false,
        attempts: 1,
        durationMs: 840,
        runId: 'step-2',
        explain: explain('miss', ['rows']),
      },
      [IMG_NAME]: {
        status: 'completed',
        cached: false,
        attempts: 1,
        durationMs: 4200,
        runId: 'step-3',
        explain: explain('off', []),
      },
      model: {
        status: 'failed',
        cached: false,
        attempts: 3,
        durationMs: 60_100,
        runId: 'step-4',
        explain: explain('miss', ['checked']),
        error: { message: `step timed out ${SCRIPT_NAME}`, code: 'KEEL_TIMEOUT' },
      },
      report: { status: 'skipped', cached: false, attempts: 0, durationMs: 0 },
    },
  };
}

/** The DAG of {@link pipelineResult}, as `pipeline.steps` gives it. */
export const pipelineSteps: { name: string; deps: string[] }[] = [
  { name: 'rows', deps: [] },
  { name: 'checked', deps: ['rows'] },
  { name: IMG_NAME, deps: ['rows'] },
  { name: 'model', deps: ['checked', IMG_NAME] },
  { name: 'report', deps: ['model', 'checked'] },
];

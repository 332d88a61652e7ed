/**
 * A training pipeline end to end, in memory: load rows, validate them, train a logistic
 * regression in plain TypeScript, evaluate it, gate it, and register it as the challenger.
 * Run it twice in one process to see the cache at work. `npx tsx examples/train-pipeline.ts`
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  createKeel,
  memoryBackend,
  type Pipeline,
  type PipelineResult,
  pipeline,
  validateData,
} from '../src/index.js';

/** One customer: two features and the label. */
export interface Row {
  tenure: number;
  spend: number;
  churned: 0 | 1;
}

/** A fitted logistic regression (standardization included). */
export interface LogisticModel {
  weights: number[];
  bias: number;
  means: number[];
  scales: number[];
  loss: number;
}

/** The pipeline's input. */
export interface TrainInput {
  rows: number;
  seed: number;
}

/** The outputs of {@link trainPipeline}, by step. */
export interface TrainOutputs {
  rows: Row[];
  checked: { train: Row[]; test: Row[] };
  model: LogisticModel;
  metrics: { accuracy: number; auc: number };
  gate: { passed: boolean; decision: string; digest: string };
  registered: { version: number | null; reason: string };
}

/**
 * The pipeline: each step's argument is typed from the steps it names (the annotation
 * checks that what the steps return matches {@link TrainOutputs}).
 */
export const trainPipeline: Pipeline<TrainInput, TrainOutputs> = pipeline('churn-train', {
  input: z.object({ rows: z.number().int().min(50).max(100_000), seed: z.number().int() }),
})
  .step('rows', ({ input }) => syntheticRows(input.rows, input.seed))
  .step('checked', ['rows'], ({ rows }, ctx) => {
    const report = validateData(rows as unknown as Record<string, unknown>[], {
      columns: {
        tenure: { type: 'numerical', min: 0, max: 120, maxNullRate: 0 },
        spend: { type: 'numerical', min: 0 },
        churned: { allowed: [0, 1] },
      },
    });
    if (!report.passed) {
      throw new Error(`data check failed: ${report.failures.map((f) => f.message).join('; ')}`);
    }
    ctx.logger.info('rows validated', { rows: report.rows });
    const cut = Math.floor(rows.length * 0.8);
    return { train: rows.slice(0, cut), test: rows.slice(cut) };
  })
  .step(
    'model',
    ['checked'],
    ({ checked }, ctx) => {
      const model = fitLogistic(checked.train, { epochs: 200, learningRate: 0.5 });
      ctx.run.logMetric('train_loss', model.loss);
      return model;
    },
    { cache: true, version: 'logreg-1', retries: 1, timeoutMs: 60_000 },
  )
  .step('metrics', ['model', 'checked'], ({ model, checked }, ctx) => {
    const metrics = evaluate(model, checked.test);
    ctx.run.logMetrics(metrics);
    return metrics;
  })
  .step('gate', ['metrics'], async ({ metrics }, ctx) => {
    const report = await ctx.keel.gates.evaluate(
      {
        name: 'churn-release',
        rules: [
          { kind: 'metric', metric: 'accuracy', min: 0.7 },
          { kind: 'metric', metric: 'auc', min: 0.75 },
        ],
      },
      { candidate: { metrics } },
    );
    return { passed: report.passed, decision: report.decision, digest: report.digest };
  })
  .step('registered', ['model', 'metrics', 'gate'], async ({ model, metrics, gate }, ctx) => {
    if (!gate.passed) {
      return { version: null as number | null, reason: `gate decided ${gate.decision}` };
    }
    const artifact = await ctx.run.logArtifact(JSON.stringify(model), {
      name: 'model.json',
      mediaType: 'application/json',
    });
    const version = await ctx.keel.registry.registerVersion('churn', {
      artifact: { digest: artifact.digest, size: artifact.size, mediaType: artifact.mediaType },
      runId: ctx.run.id,
      metrics,
    });
    await ctx.keel.registry.setAlias('churn', 'challenger', version.version);
    return { version: version.version, reason: 'gate passed' };
  })
  .build();

/** Runs the pipeline twice on one in-memory keel and prints what happened. */
export async function main(): Promise<{
  first: PipelineResult<TrainOutputs>;
  second: PipelineResult<TrainOutputs>;
}> {
  const keel = createKeel({ backend: memoryBackend() });
  const input = { rows: 400, seed: 7 };
  const first = await trainPipeline.run(input, { keel });
  const second = await trainPipeline.run(input, { keel });
  for (const [label, result] of [
    ['first run', first],
    ['second run', second],
  ] as const) {
    console.log(`${label}: ${result.status} (run ${result.runId})`);
    for (const [name, step] of Object.entries(result.steps)) {
      console.log(
        `  ${name.padEnd(10)} ${step.cached ? 'cached' : step.status}  ${step.explain?.message ?? ''}`,
      );
    }
  }
  const { metrics, registered } = second.outputs;
  console.log(`accuracy ${metrics.accuracy.toFixed(3)}  auc ${metrics.auc.toFixed(3)}`);
  console.log(`registered churn v${registered.version} as challenger (${registered.reason})`);
  await keel.close();
  return { first, second };
}

function features(row: Row): number[] {
  return [row.tenure, row.spend];
}

/** Batch gradient descent on standardized features. */
function fitLogistic(
  rows: readonly Row[],
  opts: { epochs: number; learningRate: number },
): LogisticModel {
  const x = rows.map(features);
  const dims = x[0]?.length ?? 0;
  const means = Array.from({ length: dims }, (_, j) => mean(x.map((r) => r[j] ?? 0)));
  const scales = Array.from({ length: dims }, (_, j) => {
    const m = means[j] ?? 0;
    return Math.sqrt(mean(x.map((r) => ((r[j] ?? 0) - m) ** 2))) || 1;
  });
  const z = x.map((r) => r.map((v, j) => (v - (means[j] ?? 0)) / (scales[j] ?? 1)));
  const weights = new Array<number>(dims).fill(0);
  let bias = 0;
  let loss = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const grad = new Array<number>(dims).fill(0);
    let gradBias = 0;
    loss = 0;
    z.forEach((features, i) => {
      const y = rows[i]?.churned ?? 0;
      const p = sigmoid(features.reduce((s, v, j) => s + v * (weights[j] ?? 0), bias));
      loss -= y * Math.log(p + 1e-12) + (1 - y) * Math.log(1 - p + 1e-12);
      features.forEach((v, j) => {
        grad[j] = (grad[j] ?? 0) + (p - y) * v;
      });
      gradBias += p - y;
    });
    weights.forEach((w, j) => {
      weights[j] = w - (opts.learningRate * (grad[j] ?? 0)) / rows.length;
    });
    bias -= (opts.learningRate * gradBias) / rows.length;
    loss /= rows.length;
  }
  return { weights, bias, means, scales, loss };
}

function predict(model: LogisticModel, row: Row): number {
  const score = features(row).reduce(
    (s, v, j) =>
      s + ((v - (model.means[j] ?? 0)) / (model.scales[j] ?? 1)) * (model.weights[j] ?? 0),
    model.bias,
  );
  return sigmoid(score);
}

/** Accuracy at 0.5 and ROC AUC (rank statistic, ties counted half). */
function evaluate(model: LogisticModel, rows: readonly Row[]): { accuracy: number; auc: number } {
  const scored = rows.map((row) => ({ p: predict(model, row), y: row.churned }));
  const accuracy = mean(scored.map(({ p, y }) => ((p >= 0.5 ? 1 : 0) === y ? 1 : 0)));
  const positives = scored.filter((s) => s.y === 1);
  const negatives = scored.filter((s) => s.y === 0);
  let wins = 0;
  for (const pos of positives) {
    for (const neg of negatives) wins += pos.p > neg.p ? 1 : pos.p === neg.p ? 0.5 : 0;
  }
  const auc =
    positives.length && negatives.length ? wins / (positives.length * negatives.length) : 0;
  return { accuracy, auc };
}

/** Deterministic rows: short tenure and high spend raise the churn probability. */
function syntheticRows(count: number, seed: number): Row[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const tenure = Math.round(rand() * 72);
    const spend = Math.round(20 + rand() * 100);
    const p = sigmoid(1.5 - tenure / 12 + (spend - 70) / 25);
    return { tenure, spend, churned: rand() < p ? 1 : 0 };
  });
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

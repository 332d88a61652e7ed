/**
 * A keel filled the way a team's store looks after some work, for the UI tests, the browser
 * tests and the screenshots: two experiments with runs (metric histories, params, tags, an
 * artifact, a stored drift report, parent and child runs), a pipeline run, a model with
 * versions, aliases moved with gate evidence, and the audit log. Hostile names everywhere a
 * user picks one.
 */
import { z } from 'zod';
import type { Backend } from '../../src/backends/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createKeel, type Keel } from '../../src/keel.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { DRIFT_REPORT_MEDIA_TYPE } from '../../src/report.js';
import { driftReport, IMG_NAME, SCRIPT_NAME } from '../report/fixtures.js';

/** What the seeded store holds, by the ids the tests visit. */
export interface Seeded {
  keel: Keel;
  experiment: string;
  hostileExperiment: string;
  runIds: string[];
  /** A run with charts, an artifact, a drift report, a parent and children. */
  richRunId: string;
  pipelineRunId: string;
  model: string;
  driftDigest: string;
  gateDigest: string;
}

/** Builds the store (in memory; pass a backend to seed another). */
export async function seedKeel(backend: Backend = memoryBackend()): Promise<Seeded> {
  let t = Date.parse('2026-03-01T09:00:00.000Z');
  const keel = createKeel({
    backend,
    actor: { id: 'alice', roles: ['trainer'] },
    clock: { now: () => (t += 1000) },
  });
  const experiment = 'churn';
  const hostileExperiment = `${SCRIPT_NAME} exp`;
  const runIds: string[] = [];
  const optimizers = ['adam', 'sgd', 'adamw'];
  for (let i = 0; i < 12; i++) {
    const lr = [0.1, 0.03, 0.01, 0.003][i % 4]!;
    const run = await keel.tracker.startRun({
      experiment,
      name: i === 3 ? SCRIPT_NAME : `trial-${i}`,
      params: {
        lr,
        optimizer: optimizers[i % 3]!,
        layers: 2 + (i % 3),
        ...(i === 5 ? { [IMG_NAME]: IMG_NAME } : {}),
      },
      tags: { team: 'growth', ...(i === 7 ? { note: SCRIPT_NAME } : {}) },
    });
    for (let step = 0; step < 30; step++) {
      const loss = 0.9 * Math.exp(-lr * 8 * step) + 0.08 + 0.01 * Math.sin(step + i);
      run.logMetrics({ loss, accuracy: 1 - loss / 1.2, [IMG_NAME]: step % 7 }, { step });
    }
    await run.end(
      i === 9 ? 'failed' : 'completed',
      i === 9 ? new Error(`diverged ${IMG_NAME}`) : undefined,
    );
    runIds.push(run.id);
  }

  // A rich run: environment, artifact, stored drift report, and two children.
  const rich = await keel.tracker.startRun({
    experiment,
    name: 'champion-candidate',
    params: { lr: 0.01, optimizer: 'adam', layers: 3 },
    tags: { team: 'growth', stage: 'candidate' },
    captureEnvironment: true,
  });
  for (let step = 0; step < 200; step++) {
    rich.logMetrics(
      { loss: 0.9 * Math.exp(-step / 40) + 0.05, auc: 0.6 + 0.3 * (1 - Math.exp(-step / 50)) },
      { step },
    );
  }
  const dataset = await keel.artifacts.put('id,age\n1,40\n', { mediaType: 'text/csv' });
  await rich.logInput({ digest: dataset.digest, name: 'train.csv', kind: 'dataset' });
  await rich.logArtifact(new TextEncoder().encode('weights'), {
    name: `model ${IMG_NAME}.bin`,
    mediaType: 'application/octet-stream',
  });
  const drift = await rich.logArtifact(JSON.stringify(driftReport()), {
    name: 'drift.json',
    mediaType: DRIFT_REPORT_MEDIA_TYPE,
  });
  for (const fold of [0, 1]) {
    const child = await keel.tracker.startRun({
      experiment,
      name: `fold-${fold}`,
      parentRunId: rich.id,
      params: { fold },
    });
    child.logMetric('auc', 0.85 + fold / 100, { step: 0 });
    await child.end();
  }
  await rich.end();

  // The hostile experiment.
  const other = await keel.tracker.startRun({
    experiment: hostileExperiment,
    name: IMG_NAME,
    params: { [SCRIPT_NAME]: 1 },
  });
  other.logMetric(SCRIPT_NAME, 1, { step: 0 });
  await other.end();

  // A pipeline run.
  const p = pipeline('churn-train', { input: z.object({ n: z.number() }), experiment: 'pipelines' })
    .step('rows', ({ input }) => Array.from({ length: input.n }, (_, i) => i))
    .step('features', ['rows'], ({ rows }) => rows.map((r) => r * 2), { cache: true })
    .step('labels', ['rows'], ({ rows }) => rows.map((r) => r % 2))
    .step('model', ['features', 'labels'], ({ features }) => ({ weights: features.length }))
    .build();
  const result = await p.run({ n: 10 }, { keel });

  // A model, versions, aliases moved with gate evidence.
  // model names are restricted to letters, digits, '.', '_' and '-': the hostile text goes in descriptions
  const model = 'churn-model';
  const gate = await keel.gates.evaluate(
    {
      name: 'release',
      rules: [
        { kind: 'metric', metric: 'auc', min: 0.8 },
        { kind: 'metric', metric: SCRIPT_NAME, min: 0, severity: 'warn' },
      ],
    },
    { candidate: { metrics: { auc: 0.87 } } },
    { subject: { model, version: 2 } },
  );
  const weights = await keel.artifacts.put('v1 weights');
  const weights2 = await keel.artifacts.put('v2 weights');
  await keel.registry.registerVersion(model, {
    artifact: weights.digest,
    runId: runIds[0]!,
    metrics: { auc: 0.81, loss: 0.2 },
    description: 'first',
  });
  await keel.registry.registerVersion(model, {
    artifact: weights2.digest,
    runId: rich.id,
    metrics: { auc: 0.87, loss: 0.15, [IMG_NAME]: 1 },
  });
  await keel.registry.setAlias(model, 'champion', 1, { reason: 'first release' });
  await keel.registry.setAlias(model, 'champion', 2, {
    reason: `better auc ${SCRIPT_NAME}`,
    evidence: gate,
  });
  await keel.registry.setAlias(model, 'challenger', 2, { reason: 'shadow test' });
  await keel.registry.createModel('fraud', { description: 'Fraud scores' });

  return {
    keel,
    experiment,
    hostileExperiment,
    runIds,
    richRunId: rich.id,
    pipelineRunId: result.runId,
    model,
    driftDigest: drift.digest,
    gateDigest: gate.digest,
  };
}

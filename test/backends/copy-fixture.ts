/**
 * A store populated through createKeel (two experiments, runs with params, metrics, tags and
 * artifacts, a nested run, a pipeline run with its step runs, lineage, model versions, aliases
 * with history, a gate report cited as evidence, the audit chain), and a view of everything a
 * user can read back, so that a copy can be compared with its source.
 */
import type { Backend } from '../../src/backends/backend.js';
import type { Digest } from '../../src/core/digest.js';
import { createKeel } from '../../src/keel.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { collect } from '../../src/testing/assert.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

/** What {@link populate} wrote that the view reads back. */
export interface Populated {
  runIds: string[];
  model: Digest;
  data: Digest;
  /** The run with a nested child, in experiment `fraud`. */
  parentRunId: string;
  /** The pipeline's run (its steps are child runs). */
  pipelineRunId: string;
  /** The gate report cited when `production` moved. */
  report: Digest;
}

/** A two-step pipeline: its runs, cache entries and outputs are part of what a copy carries. */
const prepare = pipeline('prepare')
  .step('rows', () => [1, 2, 3, 4])
  .step('total', ['rows'], ({ rows }, ctx) => {
    const total = rows.reduce((a, b) => a + b, 0);
    ctx.run.logMetric('total', total);
    return total;
  })
  .build();

/** Writes a small but complete history into `backend`. */
export async function populate(backend: Backend): Promise<Populated> {
  const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
  const keel = createKeel({ backend, clock, actor: { id: 'trainer' } });
  const data = await keel.artifacts.put('x,y\n1,2\n', {
    mediaType: 'text/csv',
    annotations: { source: 'warehouse', naïve: 'ключ' },
  });
  const runIds: string[] = [];
  let model: Digest | undefined;
  for (const [i, lr] of [0.1, 0.01, 0.001].entries()) {
    const run = await keel.tracker.startRun({
      experiment: 'churn',
      name: `trial-${i}`,
      params: { lr, layers: 2 + i },
      tags: { team: 'ml' },
    });
    await run.logInput({ digest: data.digest, name: 'train', kind: 'dataset' });
    for (let step = 0; step < 40; step++) {
      clock.advance(1000);
      run.logMetric('loss', lr * 10 + 1 / (step + 1), { step });
    }
    run.logMetrics({ auc: 0.7 + i / 10 });
    const weights = await run.logArtifact(`weights of trial ${i}`, { name: 'model' });
    model ??= weights.digest;
    await run.end(i === 2 ? 'failed' : 'completed');
    runIds.push(run.id);
  }
  await keel.registry.createModel('churn', { description: 'churn model' });
  for (const runId of runIds.slice(0, 2)) {
    const run = await keel.tracker.getRun(runId);
    const outputs = run.outputs ?? [];
    const artifact = outputs.find((o) => o.name === 'model')!.digest;
    await keel.registry.registerVersion('churn', {
      artifact,
      runId,
      inputs: [{ digest: data.digest, name: 'train', kind: 'dataset' }],
      metrics: { auc: run.metrics.auc!.value },
    });
  }
  await keel.registry.setAlias('churn', 'prod', 1, { reason: 'first release' });
  await keel.registry.setAlias('churn', 'prod', 2, { reason: 'better auc' });
  await keel.registry.rollback('churn', 'prod', { reason: 'latency regression' });
  await keel.registry.setAlias('churn', 'staging', 2);
  const v2 = (await keel.registry.listVersions('churn')).versions[1]!;
  const report = await keel.gates.evaluate(
    { name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0.75 }] },
    { candidate: { metrics: v2.metrics ?? {} } },
    { subject: { model: 'churn', version: 2 } },
  );
  await keel.registry.setAlias('churn', 'production', 2, { evidence: report, reason: 'gated' });
  // another experiment: a parent run with a nested child, and tags with odd characters
  const parent = await keel.tracker.startRun({
    experiment: 'fraud',
    name: 'sweep',
    params: { trials: 2, kind: 'grid' },
    tags: { owner: 'zoë', note: "it's 100% ok" },
  });
  for (const depth of [3, 5]) {
    const child = await keel.tracker.startRun({
      experiment: 'fraud',
      name: `depth-${depth}`,
      parentRunId: parent.id,
      params: { depth, kind: 'grid' },
    });
    clock.advance(1000);
    child.logMetrics({ recall: depth / 10, precision: Number.NaN });
    await child.end();
  }
  await parent.end();
  const piped = await prepare.run(undefined, { keel });
  await keel.close();
  return {
    runIds,
    model: model!,
    data: data.digest,
    parentRunId: parent.id,
    pipelineRunId: piped.runId,
    report: report.digest,
  };
}

/** Everything a user reads back from a populated backend. */
export async function view(backend: Backend, populated: Populated): Promise<unknown> {
  const keel = createKeel({ backend, clock: new ManualClock(Date.parse('2026-04-01T00:00:00Z')) });
  const { tracker, registry } = keel;
  const searches = {
    everything: await tracker.searchRuns({ limit: 1000 }),
    all: await tracker.searchRuns({ experiment: 'churn', orderBy: ['params.lr ASC'] }),
    children: await tracker.searchRuns({
      filter: `parent_run_id = '${populated.parentRunId}'`,
      orderBy: ['metrics.precision DESC', 'metrics.recall DESC'],
    }),
    steps: await tracker.searchRuns({
      filter: `parent_run_id = '${populated.pipelineRunId}' and tags.\`keel.pipeline\` = 'prepare'`,
      orderBy: ['attributes.name'],
    }),
    liked: await tracker.searchRuns({ filter: "tags.note like '%100%' or name like 'depth-_'" }),
    filtered: await tracker.searchRuns({
      experiment: 'churn',
      filter: "metrics.auc > 0.75 and tags.team = 'ml' and attributes.status = 'completed'",
    }),
    paged: await tracker.searchRuns({
      experiment: 'churn',
      limit: 2,
      orderBy: ['metrics.auc DESC'],
    }),
  };
  const result = {
    searches,
    experiments: await tracker.listExperiments(),
    history: await Promise.all(populated.runIds.map((id) => tracker.metricHistory(id, 'loss'))),
    lineage: await tracker.lineage(populated.data),
    modelLineage: await tracker.lineage(populated.model),
    models: await registry.listModels(),
    versions: await registry.listVersions('churn'),
    aliases: await registry.listAliases('churn'),
    prodHistory: await registry.aliasHistory('churn', 'prod'),
    stagingHistory: await registry.aliasHistory('churn', 'staging'),
    resolved: await registry.resolve('churn', 'prod'),
    audit: await collect(registry.audit()),
    verifyAudit: await registry.verifyAudit(),
    verifyLineage: await registry.verifyLineage('churn', 1),
    artifacts: await collect(keel.artifacts.list()).then((metas) =>
      metas.map(({ createdAt: _createdAt, ...rest }) => rest),
    ),
    bytes: new TextDecoder().decode(await keel.artifacts.get(populated.model)),
    report: new TextDecoder().decode(await keel.artifacts.get(populated.report)),
    productionHistory: await registry.aliasHistory('churn', 'production'),
    pipelineRun: await tracker.getRun(populated.pipelineRunId),
  };
  await keel.close();
  return result;
}

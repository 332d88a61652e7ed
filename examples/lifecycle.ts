/**
 * The whole lifecycle on the embedded filesystem store (`.keel/` in the working directory):
 * train a first model through a pipeline, gate and promote it, serve traffic through a canary
 * router, shift the input distribution, let the monitor detect drift and the training loop
 * retrain, canary the challenger and let the live gate promote or roll it back; then print
 * the alias history and verify the audit log and the production model's lineage.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fsBackend } from '../src/fs.js';
import {
  createKeel,
  createMonitor,
  createRouter,
  createTrainingLoop,
  formatGateReport,
  type GatePolicy,
  memoryBackend,
  onDrift,
  pipeline,
  profile,
} from '../src/index.js';
import { trainPipeline } from './train-pipeline.js';

type Row = {
  tenure: number;
  spend: number;
  plan: string;
};
type Labeled = Row & {
  churned: number;
};
interface Weights {
  w: [number, number, number];
  b: number;
  mean: [number, number];
  std: [number, number];
}

const MODEL = 'churn';
const LEARNING_RATE = 0.5;
const EPOCHS = 200;

export async function main(root: string = join(process.cwd(), '.keel')): Promise<void> {
  const keel = createKeel({
    backend: fsBackend({ root }),
    actor: { id: 'ops-demo' },
    // Nothing becomes champion without a passing gate report about that very version, which
    // the registry judges again, and a reviewer's approval. The live canary gate judges metrics
    // the router measured, not registered ones: the policy says it accepts those.
    aliasPolicies: [
      {
        alias: 'champion',
        requireGate: { metrics: 'asserted' },
        requiredApprovals: 1,
        approverRoles: ['reviewer'],
      },
    ],
  });
  const say = (stage: string, text: string): void => console.log(`${stage.padEnd(9)} ${text}`);
  say('lifecycle', `store at ${root}`);
  const startedAt = new Date(keel.clock.now()).toISOString();
  // A store kept from an earlier run: retire its challenger, so this run's canary is this run's.
  if ((await keel.registry.listModels()).models.some((m) => m.name === MODEL)) {
    const aliases = await keel.registry.listAliases(MODEL);
    if (aliases.challenger !== undefined) {
      await keel.registry.deleteAlias(MODEL, 'challenger', { reason: 'new demo run' });
      say('lifecycle', `retired the previous run's challenger v${aliases.challenger}`);
    }
  }

  // 0. The offline pipeline of examples/train-pipeline.ts, twice in memory: the re-run hits the cache.
  const scratch = createKeel({ backend: memoryBackend() });
  const once = await trainPipeline.run({ rows: 400, seed: 7 }, { keel: scratch });
  const again = await trainPipeline.run({ rows: 400, seed: 7 }, { keel: scratch });
  const cached = Object.entries(again.steps).filter(([, step]) => step.cached);
  say(
    'pipeline',
    `train-pipeline.ts in memory: ${Object.keys(once.steps).length} steps, accuracy ${fmt(once.outputs.metrics.accuracy)}; re-run took ${cached.map(([name]) => `"${name}"`).join(', ')} from the cache`,
  );
  await scratch.close();

  // 1. A training pipeline: data -> model -> evaluation, every step a tracked run.
  const train = pipeline<{ seed: number; shift: number }>('churn-train')
    .step('data', async ({ input }, ctx) => {
      const rows = generate(2000, input.seed, input.shift);
      const meta = await ctx.keel.artifacts.put(JSON.stringify(rows), {
        mediaType: 'application/json',
      });
      return { rows, digest: meta.digest };
    })
    .step('model', ['data'], async ({ data }, ctx) => {
      await ctx.run.logParams({ learning_rate: LEARNING_RATE, epochs: EPOCHS, model: 'logistic' });
      const weights = fitLogistic(data.rows.slice(0, 1500), (epoch, loss) =>
        ctx.run.logMetric('loss', loss, { step: epoch }),
      );
      const meta = await ctx.run.logArtifact(JSON.stringify(weights), {
        name: 'weights.json',
        mediaType: 'application/json',
      });
      return { weights, digest: meta.digest };
    })
    .step('report', ['data', 'model'], ({ data, model }, ctx) => {
      const accuracy = evaluate(model.weights, data.rows.slice(1500));
      ctx.run.logMetric('accuracy', accuracy);
      return { accuracy };
    })
    .build();
  const register = {
    model: MODEL,
    artifact: (o: { model: { digest: `sha256:${string}` } }) => o.model.digest,
    metrics: (o: { report: { accuracy: number } }) => ({ accuracy: o.report.accuracy }),
    inputs: (o: { data: { digest: `sha256:${string}` } }) => [
      { digest: o.data.digest, name: 'training rows', kind: 'dataset' },
    ],
  };
  const offline: GatePolicy = {
    name: 'offline-quality',
    rules: [{ kind: 'metric', metric: 'accuracy', min: 0.8 }],
  };

  // 2. Train the first model, gate it, and make it champion.
  const first = await train.run({ seed: 1, shift: 0 }, { keel });
  const v1 = await keel.registry.registerVersion(MODEL, {
    artifact: register.artifact(first.outputs),
    runId: first.runId,
    metrics: register.metrics(first.outputs),
    inputs: register.inputs(first.outputs),
  });
  const firstReport = await keel.gates.evaluate(
    offline,
    { candidate: { metrics: v1.metrics } },
    { subject: { model: MODEL, version: v1.version } },
  );
  const reviewer = { id: 'ana', roles: ['reviewer'] };
  const replaced = (await keel.registry.listAliases(MODEL)).champion;
  const promotion =
    replaced === undefined
      ? 'first model'
      : `baseline retrained from scratch, replaces v${replaced} of an earlier demo run`;
  await keel.registry.approve(MODEL, v1.version, { alias: 'champion', actor: reviewer });
  await keel.registry.setAlias(MODEL, 'champion', v1.version, {
    evidence: firstReport,
    reason: promotion,
  });
  say('train', `run ${first.runId}: accuracy ${fmt(v1.metrics.accuracy ?? Number.NaN)}`);
  const modelRun = await keel.tracker.getRun(first.steps.model?.runId ?? first.runId);
  const params = Object.entries(modelRun.params).filter(([k]) => !k.startsWith('keel.'));
  const losses = await keel.tracker.metricHistory(modelRun.id, 'loss');
  say(
    'train',
    `step "model" run ${modelRun.id}: params ${params.map(([k, v]) => `${k}=${v}`).join(' ')}, loss ${fmt(losses[0]?.value ?? Number.NaN)} -> ${fmt(losses.at(-1)?.value ?? Number.NaN)} over ${losses.length} epochs, artifact ${modelRun.outputs.find((o) => o.name === 'weights.json')?.digest.slice(0, 19)}...`,
  );
  console.log(formatGateReport(firstReport).replace(/^/gm, '          '));
  say(
    'promote',
    `churn v${v1.version} -> champion: ${promotion} (gate ${firstReport.decision}, approved by ${reviewer.id})`,
  );

  // 3. Serve: a canary router with a monitor on its inputs, a loop that retrains on drift.
  const reference = profile(generate(2000, 1, 0).map(features));
  const monitor = createMonitor({
    keel,
    name: MODEL,
    reference,
    window: { size: 500 },
    checkEvery: 250,
  });
  const router = createRouter<Row, number>({
    keel,
    model: MODEL,
    strategy: { kind: 'canary', weight: 0.25 },
    load: async (version) => {
      const weights = JSON.parse(
        new TextDecoder().decode(await keel.artifacts.get(version.artifact.digest)),
      ) as Weights;
      return (row) => predict(weights, row);
    },
    monitor,
    autoRelease: {
      policy: {
        name: 'live-canary',
        rules: [
          { kind: 'metric', metric: 'error_rate', max: 0.01 },
          { kind: 'latency', percentile: 95, maxMs: 50 },
        ],
      },
      minSamples: 200,
      onPass: 'promote',
      onFail: 'rollback',
    },
  });
  await router.ready();
  let shift = 0;
  const loop = createTrainingLoop({
    keel,
    pipeline: train,
    input: () => ({ seed: 2, shift }),
    triggers: [onDrift(monitor)],
    cooldownMs: 60_000,
    register,
    gate: offline,
    promoteTo: 'challenger',
  });
  monitor.on('check', ({ report, rows }) => {
    if (!report.drifted) say('monitor', `checked ${rows} rows: no drift`);
  });
  monitor.once('drift:detected', ({ columns, report }) =>
    say('monitor', `drift in ${columns.join(', ')} (share ${fmt(report.share)})`),
  );
  loop.once('trigger', ({ trigger }) => say('loop', `trigger ${trigger.reason}`));
  let skipped = 0;
  loop.on('skipped', () => skipped++);
  loop.on('run:failed', ({ stage, error }) =>
    say('loop', `run failed at ${stage}: ${String(error)}`),
  );
  router.on('swapped', ({ arm, version }) => {
    say('router', `${arm} now serves ${version === null ? 'nothing' : `v${version}`}`);
    // The canary lines count from the moment the challenger starts taking traffic.
    if (arm === 'challenger' && version !== null) tally = new Map();
  });
  router.on('error', ({ operation, error }) =>
    say('router', `error in ${operation}: ${String(error)}`),
  );
  loop.start();
  const retrained = new Promise<number | undefined>((resolve) =>
    loop.once('run:completed', (run) => {
      say(
        'retrain',
        `run ${run.runId}: churn v${run.version?.version} accuracy ${fmt(run.version?.metrics.accuracy ?? Number.NaN)}, gate ${run.report?.decision} -> ${run.promoted ?? 'not promoted'}`,
      );
      resolve(run.version?.version);
    }),
  );
  const released = new Promise<string>((resolve) => {
    router.once('promoted', ({ version, previousVersion, report }) => {
      const observed = (report?.results ?? [])
        .map(
          (r) =>
            `${r.rule.kind === 'latency' ? `p${r.rule.percentile} latency ms` : 'error rate'} ${fmt(Number(r.observed))}`,
        )
        .join(', ');
      resolve(
        `churn v${version} -> champion, replacing v${previousVersion ?? '-'} (live gate "${report?.policy}" ${report?.decision}: ${observed})`,
      );
    });
    router.once('rolledback', ({ version, reason }) =>
      resolve(`churn v${version} rolled back: ${reason}`),
    );
  });

  // Requests and correct answers per version served, counted by the demo from the router's answers.
  let tally = new Map<number, { requests: number; correct: number }>();
  const serve = async (n: number, seed: number): Promise<number> => {
    let correct = 0;
    const rows = generate(n, seed, shift);
    for (const [i, row] of rows.entries()) {
      const { output, version } = await router.predict(features(row), {
        key: `customer-${seed}-${i}`,
      });
      const t = tally.get(version) ?? { requests: 0, correct: 0 };
      tally.set(version, t);
      t.requests++;
      if (output === row.churned) {
        correct++;
        t.correct++;
      }
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 0)); // let checks run
    }
    return correct / n;
  };
  const perVersion = (): string =>
    [...tally.entries()]
      .sort(([a], [b]) => a - b)
      .map(([v, t]) => `v${v} ${t.requests} req (accuracy ${fmt(t.correct / t.requests)})`)
      .join(', ');

  say('serve', `stable traffic: accuracy ${fmt(await serve(500, 10))} (${perVersion()})`);
  shift = 1;
  say('shift', 'customers now stay longer but spend less (tenure +1 sd, spend -1 sd)');
  say('serve', `shifted traffic: accuracy ${fmt(await serve(500, 11))}: the model has gone stale`);
  const challenger = await within(retrained, 30_000, 'the retraining');
  if (challenger !== undefined) {
    // A reviewer approves the retrained version; the live canary gate still decides.
    await keel.registry.approve(MODEL, challenger, { alias: 'champion', actor: reviewer });
    say('approve', `${reviewer.id} approves churn v${challenger} for champion; the canary decides`);

    let round = 12;
    let outcome: string | undefined;
    released.then((text) => {
      outcome = text;
    });
    // One line per 1000 requests until the live gate decides.
    while (outcome === undefined && round < 40) {
      await serve(200, round++);
      if (round % 5 === 2 && outcome === undefined) say('canary', perVersion());
    }
    say('release', await within(released, 10_000, 'the release decision'));
    tally = new Map();
    say(
      'serve',
      `shifted traffic after the release: accuracy ${fmt(await serve(1000, 50))} (${perVersion()})`,
    );
  }
  await loop.stop();
  say(
    'loop',
    skipped === 0
      ? 'one drift episode, one retrain: the monitor pages once per episode, not per check'
      : `${skipped} later drift triggers skipped (cooldown), none lost`,
  );
  await router.close();
  monitor.close();

  // 4. What happened, as the registry recorded it.
  for (const alias of ['champion', 'challenger']) {
    const thisRun = (await keel.registry.aliasHistory(MODEL, alias)).filter(
      (c) => c.at >= startedAt,
    );
    for (const c of thisRun) {
      say(
        'history',
        `${alias.padEnd(10)} v${c.previousVersion ?? '-'} -> ${c.version === null ? 'deleted' : `v${c.version}`} by ${c.actor.id}: ${c.reason ?? ''}`,
      );
    }
  }
  const production = await keel.registry.resolve(MODEL, 'champion');
  const audit = await keel.registry.verifyAudit();
  const lineage = await keel.registry.verifyLineage(MODEL, production.version);
  say('audit', `${audit.ok ? 'verified' : 'BROKEN'} (${audit.entries} entries)`);
  say(
    'lineage',
    `churn v${production.version}: ${lineage.ok ? 'intact' : 'BROKEN'} (${lineage.items.map((i) => `${i.kind} ${i.status}`).join(', ')})`,
  );
  await keel.close();
}

/** Synthetic customers; `shift` moves tenure up and spend down by that many standard deviations. */
function generate(n: number, seed: number, shift: number): Labeled[] {
  let state = seed * 2654435761;
  const uniform = (): number => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const rows: Labeled[] = [];
  for (let i = 0; i < n; i++) {
    const tenure = 24 + 12 * (normal() + shift);
    const spend = 50 + 20 * (normal() - shift);
    const plan = uniform() < 0.3 ? 'pro' : 'basic';
    // The concept moves with the population: long-tenure customers churn on price.
    const score =
      -0.08 * (tenure - 24 - 12 * shift) +
      0.05 * (spend - 50 + 20 * shift) +
      (plan === 'pro' ? -0.5 : 0.3);
    rows.push({ tenure, spend, plan, churned: score + 0.3 * normal() > 0 ? 1 : 0 });
  }
  return rows;
}

function features({ tenure, spend, plan }: Row): Row {
  return { tenure, spend, plan };
}

/** Logistic regression by batch gradient descent on standardized features. */
function fitLogistic(
  rows: Labeled[],
  onEpoch: (epoch: number, loss: number) => void = () => {},
): Weights {
  const mean: [number, number] = [avg(rows.map((r) => r.tenure)), avg(rows.map((r) => r.spend))];
  const std: [number, number] = [
    sd(
      rows.map((r) => r.tenure),
      mean[0],
    ),
    sd(
      rows.map((r) => r.spend),
      mean[1],
    ),
  ];
  const w: [number, number, number] = [0, 0, 0];
  let b = 0;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const g = [0, 0, 0];
    let gb = 0;
    let loss = 0;
    for (const r of rows) {
      const x = vector({ w, b, mean, std }, r);
      const p = 1 / (1 + Math.exp(-(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)));
      const e = p - r.churned;
      loss -= Math.log(r.churned === 1 ? p : 1 - p) / rows.length;
      for (let j = 0; j < 3; j++) g[j]! += e * x[j]!;
      gb += e;
    }
    for (let j = 0; j < 3; j++) w[j]! -= (LEARNING_RATE * g[j]!) / rows.length;
    b -= (LEARNING_RATE * gb) / rows.length;
    onEpoch(epoch, loss);
  }
  return { w, b, mean, std };
}

function predict(weights: Weights, row: Row): number {
  const x = vector(weights, row);
  return weights.w[0] * x[0] + weights.w[1] * x[1] + weights.w[2] * x[2] + weights.b > 0 ? 1 : 0;
}

function evaluate(weights: Weights, rows: Labeled[]): number {
  return rows.filter((r) => predict(weights, r) === r.churned).length / rows.length;
}

function vector(weights: Weights, r: Row): [number, number, number] {
  return [
    (r.tenure - weights.mean[0]) / weights.std[0],
    (r.spend - weights.mean[1]) / weights.std[1],
    r.plan === 'pro' ? 1 : 0,
  ];
}

function avg(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs: number[], m: number): number {
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length) || 1;
}

function fmt(x: number): string {
  return x.toFixed(3);
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

/**
 * The quickstart demo: tracks a small training run on the embedded filesystem store
 * (`.keel/` in the working directory), registers the model, gates it, promotes it through
 * a governed alias, and prints what went where.
 */
import { join } from 'node:path';
import { fsBackend } from '../src/fs.js';
import { createKeel, formatGateReport, type GatePolicy, roleAuthorizer } from '../src/index.js';

export async function main(root: string = join(process.cwd(), '.keel')): Promise<void> {
  const keel = createKeel({
    backend: fsBackend({ root }),
    actor: { id: 'trainer', roles: ['trainer'] },
    authorizer: roleAuthorizer({
      trainer: ['model:create', 'version:register', 'alias:set'],
      reviewer: ['version:approve'],
    }),
    aliasPolicies: [
      { alias: 'champion', requireGate: true, requiredApprovals: 1, approverRoles: ['reviewer'] },
    ],
  });
  console.log(`keel quickstart: store at ${root}`);

  // 1. Track a training run: params, a loss curve, an artifact.
  const run = await keel.tracker.startRun({
    experiment: 'churn',
    name: 'logreg',
    params: { lr: 0.1, epochs: 20 },
  });
  let loss = 0.69;
  for (let epoch = 0; epoch < 20; epoch++) {
    loss *= 0.9;
    run.logMetric('loss', loss, { step: epoch });
  }
  run.logMetrics({ accuracy: 0.91, auc: 0.95 }, { step: 20 });
  const weights = await run.logArtifact(JSON.stringify({ w: [0.4, -1.2, 2.1], b: 0.3 }), {
    name: 'model.json',
    mediaType: 'application/json',
  });
  const finished = await run.end();
  console.log(
    `  run      ${finished.id}  ${finished.status}  loss=${finished.metrics.loss?.value.toFixed(4)}`,
  );
  console.log(`  artifact ${weights.digest}  ${weights.size} bytes`);

  // 2. Register the model version and gate it.
  const version = await keel.registry.registerVersion('churn', {
    artifact: weights,
    runId: finished.id,
    metrics: { accuracy: 0.91, auc: 0.95 },
  });
  const policy: GatePolicy = {
    name: 'churn-release',
    rules: [
      { kind: 'metric', metric: 'accuracy', min: 0.85 },
      { kind: 'metric', metric: 'auc', min: 0.9 },
    ],
  };
  const report = await keel.gates.evaluate(
    policy,
    { candidate: { metrics: version.metrics } },
    { subject: { model: 'churn', version: version.version } },
  );
  console.log(
    `  version  churn v${version.version}, gate ${report.decision} (report ${report.digest})`,
  );
  console.log(formatGateReport(report).replace(/^/gm, '    '));

  // 3. Promote through the governed alias: gate evidence plus one reviewer's approval.
  await keel.registry.approve('churn', version.version, {
    alias: 'champion',
    actor: { id: 'ana', roles: ['reviewer'] },
  });
  await keel.registry.setAlias('churn', 'champion', version.version, {
    evidence: report,
    reason: 'first release',
  });
  const champion = await keel.registry.resolve('churn', 'champion');
  console.log(`  champion churn v${champion.version} <- ${champion.artifact.digest}`);
  for (const change of await keel.registry.aliasHistory('churn', 'champion')) {
    console.log(
      `  history  ${change.at} ${change.actor.id}: v${change.previousVersion ?? '-'} -> v${change.version} (${change.reason ?? ''})`,
    );
  }
  const audit = await keel.registry.verifyAudit();
  const lineage = await keel.registry.verifyLineage('churn', champion.version);
  console.log(
    `  audit    ${audit.ok ? 'verified' : 'BROKEN'} (${audit.entries} entries); lineage ${lineage.ok ? 'intact' : 'BROKEN'}`,
  );
  await keel.close();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

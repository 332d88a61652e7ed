/**
 * @module
 * `/runs/<id>`: one run: its status and times, params, tags, metric charts over steps,
 * artifacts with download links (and a view of stored reports), parent and child runs (for a
 * pipeline run, its DAG), lineage of inputs and outputs, and the captured environment.
 */
import type { ArtifactMeta } from '../../artifacts/types.js';
import { GATE_REPORT_MEDIA_TYPE } from '../../gates/report.js';
import type { PipelineResult, StepResult } from '../../pipeline/types.js';
import { lineChart } from '../../report/charts.js';
import {
  elapsedMs,
  formatBytes,
  formatNumber,
  formatRunDuration,
  formatTime,
  shortDigest,
} from '../../report/format.js';
import { html, type SafeHtml } from '../../report/html.js';
import { DRIFT_REPORT_MEDIA_TYPE, PIPELINE_RUN_MEDIA_TYPE } from '../../report/media-types.js';
import { pipelineRunBody } from '../../report/pipeline.js';
import { keyValueTable, statusBadge, table, tiles } from '../../report/widgets.js';
import type { LineageRef, Run } from '../../tracking/types.js';
import type { Page, PageContext } from '../context.js';
import { runLink } from './shared.js';

/** Most metric charts, lineage look-ups and artifact stats per page. */
const MAX_ITEMS = 50;
/** Most child runs listed. */
const MAX_CHILDREN = 500;

const REPORT_TYPES: ReadonlySet<string> = new Set([
  GATE_REPORT_MEDIA_TYPE,
  DRIFT_REPORT_MEDIA_TYPE,
  PIPELINE_RUN_MEDIA_TYPE,
]);

/** One run. */
export const runPage: Page = async (ctx) => {
  const [id] = ctx.params as [string];
  const { tracker } = ctx.keel;
  const run = await tracker.getRun(id);
  const metricKeys = Object.keys(run.metrics).sort().slice(0, MAX_ITEMS);
  const artifacts = run.outputs.filter((o) => o.kind === 'artifact').slice(0, MAX_ITEMS);
  const [histories, children, metas, inputLineage, outputLineage] = await Promise.all([
    Promise.all(metricKeys.map((key) => tracker.metricHistory(run.id, key))),
    tracker.searchRuns({
      experiment: run.experiment,
      filter: `attributes.parent_run_id = '${run.id.replaceAll("'", "''")}'`,
      orderBy: ['attributes.start_time asc'],
      limit: MAX_CHILDREN,
    }),
    Promise.all(artifacts.map((a) => ctx.keel.artifacts.stat(a.digest))),
    Promise.all(run.inputs.slice(0, MAX_ITEMS).map((r) => tracker.lineage(r.digest))),
    Promise.all(run.outputs.slice(0, MAX_ITEMS).map((r) => tracker.lineage(r.digest))),
  ]);
  const charts = histories
    .map((points, i) => ({ key: metricKeys[i]!, points }))
    .filter((h) => h.points.length > 1)
    .map((h) =>
      lineChart(h.key, 'step', [
        { label: h.key, points: h.points.map((p) => ({ x: p.step, y: p.value })) },
      ]),
    );
  const isPipeline = run.tags['keel.pipeline'] !== undefined && run.tags['keel.step'] === undefined;
  const title = run.name ?? run.id;
  return {
    kind: 'html',
    title: `Run ${title}`,
    crumbs: [[run.experiment, ctx.href(['experiments', run.experiment])], [title]],
    charts: charts.length > 0,
    body: html`<h1>Run ${title} ${statusBadge(run.status)}</h1>
${tiles([
  [
    'Experiment',
    html`<a href="${ctx.href(['experiments', run.experiment])}">${run.experiment}</a>`,
  ],
  ['Run id', html`<code>${run.id}</code>`],
  ['Started', formatTime(run.startTime)],
  ['Duration', formatRunDuration(run)],
  [
    'Parent',
    run.parentRunId
      ? html`<a href="${ctx.href(['runs', run.parentRunId])}"><code>${run.parentRunId}</code></a>`
      : '—',
  ],
])}
${run.error ? html`<div class="filter-error" role="alert"><strong>Error${run.error.code ? html` <code>${run.error.code}</code>` : ''}:</strong> ${run.error.message}</div>` : ''}
<h2 id="metrics">Metrics</h2>
${table({
  caption: 'The latest point of each metric.',
  head: ['Metric', { text: 'Value', num: true }, { text: 'Step', num: true }, 'Time'],
  rows: Object.entries(run.metrics).map(([k, p]) => [
    { header: k },
    { num: formatNumber(p.value) },
    { num: String(p.step) },
    formatTime(p.timestamp),
  ]),
  empty: 'No metric logged.',
})}
${charts.length ? html`<div class="charts">${charts}</div>` : ''}
<h2 id="params">Params</h2>
${keyValueTable(
  'Params (immutable once logged).',
  Object.entries(run.params).map(([k, v]) => [k, String(v)]),
  'No param logged.',
)}
<h2 id="artifacts">Artifacts</h2>
${artifactTable(ctx, artifacts, metas)}
${isPipeline ? pipelineSection(ctx, run, children.runs) : ''}
<h2 id="children">Child runs</h2>
${childTable(ctx, children.runs, children.nextCursor !== undefined)}
<h2 id="lineage">Lineage</h2>
${lineageTable(
  ctx,
  'Inputs: what this run consumed, and the runs that produced it.',
  run.inputs,
  inputLineage.map((l) => l.producedBy),
  'Produced by',
  'No input recorded.',
)}
${lineageTable(
  ctx,
  'Outputs: what this run produced, and the runs that consumed it.',
  run.outputs,
  outputLineage.map((l) => l.consumedBy),
  'Consumed by',
  'No output recorded.',
)}
<h2 id="tags">Tags</h2>
${keyValueTable('Tags.', Object.entries(run.tags), 'No tag set.')}
<h2 id="environment">Environment</h2>
${environmentSection(run)}`,
  };
};

function artifactTable(
  ctx: PageContext,
  artifacts: readonly LineageRef[],
  metas: readonly (ArtifactMeta | undefined)[],
): SafeHtml {
  return table({
    caption: 'Artifacts this run logged; download them, or view a stored report.',
    head: ['Name', 'Media type', { text: 'Size', num: true }, 'Digest', 'Open'],
    rows: artifacts.map((a, i) => {
      const meta = metas[i];
      const name = a.name ?? shortDigest(a.digest);
      const download = html`<a href="${ctx.href(['artifacts', a.digest], { name })}" download>Download</a>`;
      return [
        { header: name },
        meta?.mediaType ?? 'missing from the store',
        { num: meta ? formatBytes(meta.size) : '—' },
        html`<code title="${a.digest}">${shortDigest(a.digest)}</code>`,
        meta
          ? REPORT_TYPES.has(meta.mediaType)
            ? html`<a href="${ctx.href(['reports', a.digest])}">View report</a> · ${download}`
            : download
          : '—',
      ];
    }),
    empty: 'No artifact logged.',
  });
}

function childTable(ctx: PageContext, children: readonly Run[], more: boolean): SafeHtml {
  return table({
    caption: more ? `The first ${children.length} child runs.` : `${children.length} child runs.`,
    head: ['Run', 'Status', 'Started', { text: 'Duration', num: true }],
    rows: children.map((c) => [
      { header: runLink(ctx.href, c) },
      statusBadge(c.status),
      formatTime(c.startTime),
      { num: formatRunDuration(c) },
    ]),
    empty: 'No child run.',
  });
}

function lineageTable(
  ctx: PageContext,
  caption: string,
  refs: readonly LineageRef[],
  related: readonly (readonly Run[])[],
  relatedLabel: string,
  empty: string,
): SafeHtml {
  return table({
    caption,
    head: ['Name', 'Kind', 'Digest', relatedLabel],
    rows: refs.map((r, i) => [
      { header: r.name ?? '—' },
      r.kind ?? '—',
      html`<code title="${r.digest}">${shortDigest(r.digest)}</code>`,
      i < related.length
        ? related[i]!.length
          ? related[i]!.slice(0, 10).map(
              (run, k) => html`${k ? ', ' : ''}${runLink(ctx.href, run)}`,
            )
          : '—'
        : 'not looked up',
    ]),
    empty,
  });
}

/** A pipeline run's DAG, from its step runs (each tagged `keel.step`, inputs naming the steps they read). */
function pipelineSection(ctx: PageContext, run: Run, children: readonly Run[]): SafeHtml {
  const steps: Record<string, StepResult> = {};
  const shapes: { name: string; deps: string[] }[] = [];
  for (const child of children) {
    const name = child.tags['keel.step'];
    if (name === undefined) continue;
    const outcome = child.tags['keel.step.outcome'];
    const failed =
      child.status === 'failed' ||
      child.status === 'killed' ||
      outcome === 'failed' ||
      outcome === 'cancelled';
    steps[name] = {
      status: failed ? 'failed' : outcome === 'copied' ? 'copied' : 'completed',
      cached: child.tags['keel.step.cached'] === 'true',
      attempts: Number(child.tags['keel.step.attempts'] ?? 0) || 0,
      durationMs: elapsedMs(child.startTime, child.endTime) ?? 0,
      runId: child.id,
      ...(child.error ? { error: child.error } : {}),
    };
    shapes.push({
      name,
      deps: child.inputs.filter((i) => i.kind === 'step-output' && i.name).map((i) => i.name!),
    });
  }
  const status = run.tags['keel.pipeline.status'];
  const result: PipelineResult = {
    pipeline: run.tags['keel.pipeline']!,
    runId: run.id,
    status:
      status === 'completed' || status === 'failed' || status === 'aborted'
        ? status
        : run.status === 'completed'
          ? 'completed'
          : 'failed',
    outputs: {},
    steps,
    durationMs: elapsedMs(run.startTime, run.endTime) ?? 0,
  };
  return html`<section aria-label="Pipeline">${pipelineRunBody(result, {
    title: `Pipeline ${result.pipeline}`,
    steps: shapes,
    runHref: (id) => ctx.href(['runs', id]),
    embedded: true,
  })}</section>`;
}

function environmentSection(run: Run): SafeHtml {
  const env = run.environment;
  if (!env)
    return html`<p class="empty">Not captured (start the run with captureEnvironment: true).</p>`;
  const facts: [string, string][] = [
    ['captured', formatTime(env.capturedAt)],
    ['runtime', [env.runtime.name, env.runtime.version].filter(Boolean).join(' ')],
    ['platform', [env.runtime.platform, env.runtime.arch].filter(Boolean).join(' ')],
  ];
  if (env.runtime.cpus !== undefined) facts.push(['cpus', String(env.runtime.cpus)]);
  if (env.git) {
    facts.push(
      ['git commit', env.git.commit],
      ['git branch', env.git.branch ?? '—'],
      ['working tree', env.git.dirty ? 'dirty' : 'clean'],
    );
  }
  if (env.project?.name)
    facts.push(['project', [env.project.name, env.project.version].filter(Boolean).join(' ')]);
  if (env.project?.lockfile)
    facts.push(['lock file', `${env.project.lockfile.name} ${env.project.lockfile.digest}`]);
  for (const [k, v] of Object.entries(env.env ?? {})) facts.push([`env ${k}`, v]);
  const deps = Object.entries(env.project?.dependencies ?? {});
  return html`${keyValueTable('Where the run happened.', facts, 'Nothing captured.')}
${deps.length ? html`<details><summary>${deps.length} declared dependencies</summary>${table({ head: ['Package', 'Declared', 'Installed'], rows: deps.map(([name, d]) => [{ header: name }, d.declared, d.installed ?? '—']) })}</details>` : ''}`;
}

/**
 * @module
 * The pipeline run report: the DAG of steps (drawn as an SVG diagram, a column per depth),
 * each step's status, duration and cache decision, and a table of the same for readers and
 * keyboards.
 */
import { z } from 'zod';
import { parseWith } from '../core/validate.js';
import type { PipelineResult } from '../pipeline/types.js';
import { formatDuration, shortDigest } from './format.js';
import { html, type SafeHtml } from './html.js';
import { renderPage } from './page.js';
import { statusBadge, table, tiles } from './widgets.js';

/** A step's place in the DAG: its name and the steps it depends on (`pipeline.steps` fits). */
export interface PipelineStepShape {
  /** The step's name, unique in its pipeline. */
  name: string;
  /** Names of the steps whose outputs it takes; empty for a step that reads only the input. */
  deps: readonly string[];
}

/** Options of {@link renderPipelineRun}. */
export interface PipelineRunOptions {
  /** The page title (default `Pipeline "<name>"`). */
  title?: string;
  /**
   * The pipeline's steps with their dependencies (pass `pipeline.steps`). Without them the
   * dependencies are read from each step's cache key parts, which steps without caching lack.
   */
  steps?: readonly PipelineStepShape[];
}

/**
 * Renders a pipeline run (the result of `pipeline.run`, or `error.result` of a failed run) as
 * one self-contained HTML document: the DAG with each step's status, duration and cache hit.
 *
 * @throws {ValidationError} when `result` is not shaped as a pipeline result.
 *
 * @example
 * ```ts
 * const result = await train.run(input, { keel });
 * await writeFile('run.html', renderPipelineRun(result, { steps: train.steps }));
 * ```
 */
export function renderPipelineRun(result: PipelineResult, opts: PipelineRunOptions = {}): string {
  parseWith(
    z.object({ title: z.string().optional(), steps: z.array(z.unknown()).optional() }).strict(),
    opts,
    'pipeline run report options',
  );
  const checked = parseWith(pipelineResultSchema, result, 'pipeline result');
  const title = opts.title ?? `Pipeline "${checked.pipeline}"`;
  return renderPage({ title, body: pipelineRunBody(result, { ...opts, title }) });
}

/** The pipeline run's content; `runHref` links step runs (the UI's run pages). */
export function pipelineRunBody(
  input: PipelineResult,
  opts: PipelineRunOptions & {
    title: string;
    runHref?: (id: string) => string;
    /** A section of another page (the UI's run page): headings one level down. */
    embedded?: boolean;
  },
): SafeHtml {
  const result = parseWith(pipelineResultSchema, input, 'pipeline result');
  const names = Object.keys(result.steps);
  const declared = new Map((opts.steps ?? []).map((s) => [s.name, s.deps]));
  for (const s of opts.steps ?? []) if (!names.includes(s.name)) names.push(s.name);
  const deps = new Map<string, string[]>(
    names.map((name) => {
      const fromKey = Object.keys(result.steps[name]?.explain?.parts?.inputs ?? {});
      const list = [...(declared.get(name) ?? fromKey.filter((k) => k !== 'input'))];
      return [name, list.filter((d) => names.includes(d))];
    }),
  );
  const steps = names.map((name) => ({ name, step: result.steps[name] }));
  const cachedCount = steps.filter((s) => s.step?.cached).length;
  const runLink = (id: string | undefined): SafeHtml | string =>
    id === undefined
      ? '—'
      : opts.runHref
        ? html`<a href="${opts.runHref(id)}"><code>${id}</code></a>`
        : html`<code>${id}</code>`;
  const heading = opts.embedded
    ? html`<h2 id="pipeline">${opts.title}</h2>`
    : html`<p class="crumbs">keel · pipeline run</p>
<h1>${opts.title}</h1>`;
  return html`${heading}
<div class="verdict">${statusBadge(result.status)} <span>run ${runLink(result.runId)}${
    result.resumedFrom ? html`, resumed from ${runLink(result.resumedFrom)}` : ''
  }.</span></div>
${tiles([
  ['Status', result.status],
  ['Steps', String(steps.length)],
  ['From cache', String(cachedCount)],
  ['Duration', formatDuration(result.durationMs)],
  [
    'Input',
    result.inputDigest
      ? html`<code title="${result.inputDigest}">${shortDigest(result.inputDigest)}</code>`
      : '—',
  ],
])}
${opts.embedded ? html`<h3 id="dag">Steps</h3>` : html`<h2 id="dag">Steps</h2>`}
${dagDiagram(steps, deps)}
${table({
  caption: 'Each step: its dependencies, status, cache decision, attempts and duration.',
  head: [
    'Step',
    'Depends on',
    'Status',
    'Cache',
    { text: 'Attempts', num: true },
    { text: 'Duration', num: true },
    'Run',
    'Error',
  ],
  rows: steps.map(({ name, step }) => [
    { header: name },
    deps.get(name)!.join(', ') || '—',
    statusBadge(step?.status ?? 'not run'),
    step && step.status !== 'skipped'
      ? html`${step.cached ? 'hit' : (step.explain?.decision ?? 'miss')}${
          step.explain ? html`<br><span class="muted">${step.explain.message}</span>` : ''
        }`
      : '—',
    { num: step ? String(step.attempts) : '—' },
    { num: step ? formatDuration(step.durationMs) : '—' },
    runLink(step?.runId),
    step?.error ? step.error.message : '',
  ]),
  empty: 'The pipeline has no step.',
})}`;
}

type ParsedStep = z.output<typeof stepSchema>;

const BOX_W = 190;
const BOX_H = 52;
const GAP_X = 56;
const GAP_Y = 18;

const STATUS_COLORS: Record<string, { fill: string; stroke: string }> = {
  completed: { fill: '#e3f4e8', stroke: '#1f7a3e' },
  cached: { fill: '#e6eefb', stroke: '#2456a6' },
  copied: { fill: '#e6eefb', stroke: '#2456a6' },
  failed: { fill: '#fbe5e3', stroke: '#b3261e' },
  skipped: { fill: '#f5f7fa', stroke: '#8a93a6' },
};

/** The DAG as an SVG: a column per depth (longest path from a root), edges left to right. */
function dagDiagram(
  steps: readonly { name: string; step: ParsedStep | undefined }[],
  deps: ReadonlyMap<string, readonly string[]>,
): SafeHtml {
  if (steps.length === 0) return html``;
  const depth = new Map<string, number>();
  const depthOf = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0; // a cycle cannot come from a pipeline; draw it flat anyway
    seen.add(name);
    const d = Math.max(-1, ...(deps.get(name) ?? []).map((dep) => depthOf(dep, seen))) + 1;
    depth.set(name, d);
    return d;
  };
  const columns: string[][] = [];
  for (const { name } of steps) {
    const d = depthOf(name, new Set());
    columns[d] = [...(columns[d] ?? []), name];
  }
  const at = new Map<string, { x: number; y: number }>();
  for (const [c, column] of columns.entries()) {
    for (const [r, name] of column.entries()) {
      at.set(name, { x: 8 + c * (BOX_W + GAP_X), y: 8 + r * (BOX_H + GAP_Y) });
    }
  }
  const width = 16 + columns.length * BOX_W + (columns.length - 1) * GAP_X;
  const height = 16 + Math.max(...columns.map((c) => c.length)) * (BOX_H + GAP_Y) - GAP_Y;
  const edges = steps.flatMap(({ name }) =>
    (deps.get(name) ?? []).map((dep) => {
      const a = at.get(dep)!;
      const b = at.get(name)!;
      const x1 = a.x + BOX_W;
      const y1 = a.y + BOX_H / 2;
      const x2 = b.x;
      const y2 = b.y + BOX_H / 2;
      const mid = (x1 + x2) / 2;
      return html`<path d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2 - 6} ${y2}" fill="none" stroke="#8a93a6" stroke-width="1.5" marker-end="url(#arrow)"/>`;
    }),
  );
  const nodes = steps.map(({ name, step }) => {
    const { x, y } = at.get(name)!;
    const state = step ? (step.cached ? 'cached' : step.status) : 'not run';
    const color = STATUS_COLORS[state] ?? { fill: '#fff', stroke: '#8a93a6' };
    const detail = step
      ? `${state} · ${formatDuration(step.durationMs)}${step.attempts > 1 ? ` · ${step.attempts} tries` : ''}`
      : 'not run';
    const shown = name.length > 24 ? `${name.slice(0, 23)}…` : name;
    return html`<g><title>${name}: ${detail}</title><rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="8" fill="${color.fill}" stroke="${color.stroke}" stroke-width="1.5"/><text x="${x + 12}" y="${y + 21}" font-weight="600" fill="#1d2330">${shown}</text><text x="${x + 12}" y="${y + 39}" fill="#5b6478">${detail}</text></g>`;
  });
  return html`<div class="dag"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="The pipeline's steps and their dependencies; the table below lists the same"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#8a93a6"/></marker></defs>${edges}${nodes}</svg></div>`;
}

const stepSchema = z.looseObject({
  status: z.string(),
  cached: z.boolean(),
  attempts: z.number(),
  durationMs: z.number(),
  runId: z.string().optional(),
  explain: z
    .looseObject({
      decision: z.string(),
      message: z.string(),
      parts: z.looseObject({ inputs: z.record(z.string(), z.unknown()) }).optional(),
    })
    .optional(),
  error: z.looseObject({ message: z.string() }).optional(),
});

const pipelineResultSchema = z.looseObject({
  pipeline: z.string(),
  runId: z.string(),
  status: z.string(),
  steps: z.record(z.string(), stepSchema),
  durationMs: z.number(),
  inputDigest: z.string().optional(),
  resumedFrom: z.string().optional(),
});

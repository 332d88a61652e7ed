/**
 * @module
 * The run comparison: the runs side by side (status, start, duration), their params and last
 * metrics in one table each with differing rows marked, and each metric's curves overlaid.
 */
import { z } from 'zod';
import { anyNumberSchema as anyNumber } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import type { MetricPoint, Run } from '../tracking/types.js';
import { lineChart } from './charts.js';
import { formatNumber, formatRunDuration, formatTime } from './format.js';
import { html, type Interpolation, type SafeHtml } from './html.js';
import { renderPage } from './page.js';
import { statusBadge, table } from './widgets.js';

/** A run with the histories of its metrics (from `tracker.metricHistory`), by metric key. */
export interface ComparedRun {
  /** The run (from `tracker.getRun` or `searchRuns`): its name, status, params and last metrics. */
  run: Run;
  /** Every point of each metric; metrics without a history are compared on their last value. */
  history?: Record<string, readonly MetricPoint[]>;
}

/** Options of {@link renderRunComparison}. */
export interface RunComparisonOptions {
  /** The page title (default `Run comparison`). */
  title?: string;
}

/**
 * Renders runs side by side as one self-contained HTML document: their params and last
 * metrics (rows whose values differ are marked) and, for metrics with a history, the curves
 * of every run overlaid on one chart per metric.
 *
 * @throws {ValidationError} when an entry is not a run (or `{ run, history }`).
 *
 * @example
 * ```ts
 * const runs = await Promise.all(ids.map(async (id) => {
 *   const run = await keel.tracker.getRun(id);
 *   return { run, history: { loss: await keel.tracker.metricHistory(id, 'loss') } };
 * }));
 * await writeFile('compare.html', renderRunComparison(runs));
 * ```
 */
export function renderRunComparison(
  runs: readonly (Run | ComparedRun)[],
  opts: RunComparisonOptions = {},
): string {
  parseWith(z.object({ title: z.string().optional() }).strict(), opts, 'run comparison options');
  const title = opts.title ?? 'Run comparison';
  return renderPage({ title, body: runComparisonBody(runs, { title }), charts: true });
}

/** The comparison's content; `runHref` links run names (the UI's run pages). */
export function runComparisonBody(
  input: readonly (Run | ComparedRun)[],
  opts: { title: string; runHref?: (id: string) => string },
): SafeHtml {
  parseWith(comparedRunsSchema, input, 'runs to compare');
  const runs: ComparedRun[] = input.map((r) => ('run' in r ? r : { run: r }));
  const label = (run: Run): string => run.name ?? run.id;
  const runHead = runs.map(({ run }) => ({
    text: opts.runHref
      ? html`<a href="${opts.runHref(run.id)}">${label(run)}</a>`
      : html`${label(run)}`,
  }));

  const paramKeys = unionKeys(runs.map((r) => r.run.params));
  const metricKeys = unionKeys(runs.map((r) => r.run.metrics));
  const paramRows = paramKeys.map((key) =>
    runs.map(({ run }) => (Object.hasOwn(run.params, key) ? String(run.params[key]) : undefined)),
  );
  const metricRows = metricKeys.map((key) =>
    runs.map(({ run }) => (Object.hasOwn(run.metrics, key) ? run.metrics[key]!.value : undefined)),
  );
  const differs = (values: readonly (string | number | undefined)[]): boolean =>
    new Set(values.map((v) => (typeof v === 'number' ? String(v) : v))).size > 1;

  const historyKeys = unionKeys(runs.map((r) => r.history ?? {}));
  const charts = historyKeys.map((key) =>
    lineChart(
      key,
      'step',
      runs
        .filter((r) => r.history && Object.hasOwn(r.history, key))
        .map((r) => ({
          label: label(r.run),
          points: r.history![key]!.map((p) => ({ x: p.step, y: p.value })),
        })),
    ),
  );

  return html`<p class="crumbs">keel · run comparison</p>
<h1>${opts.title}</h1>
${table({
  caption: `${runs.length} runs.`,
  head: ['Run', 'Id', 'Experiment', 'Status', 'Started', { text: 'Duration', num: true }],
  rows: runs.map(({ run }, i) => [
    { header: runHead[i]!.text },
    html`<code>${run.id}</code>`,
    run.experiment,
    statusBadge(run.status),
    formatTime(run.startTime),
    { num: formatRunDuration(run) },
  ]),
  empty: 'No run to compare.',
})}
<h2 id="metrics">Metrics (last values)</h2>
${sideBySide(
  'Each run’s latest value of each metric; rows where the runs differ are marked.',
  runHead,
  metricKeys,
  metricRows.map((row) => row.map((v) => (v === undefined ? undefined : formatNumber(v)))),
  metricRows.map(differs),
  'These runs have no metric.',
  true,
)}
<h2 id="params">Params</h2>
${sideBySide(
  'Each run’s params; rows where the runs differ are marked.',
  runHead,
  paramKeys,
  paramRows,
  paramRows.map(differs),
  'These runs have no param.',
  false,
)}
<h2 id="curves">Metric curves</h2>
${charts.length ? html`<div class="charts">${charts}</div>` : html`<p class="empty">No metric history to draw.</p>`}`;
}

function sideBySide(
  caption: string,
  runHead: readonly { text: Interpolation }[],
  keys: readonly string[],
  rows: readonly (readonly (string | undefined)[])[],
  differ: readonly boolean[],
  empty: string,
  numeric: boolean,
): SafeHtml {
  return table({
    caption,
    head: [numeric ? 'Metric' : 'Param', ...runHead.map((h) => ({ text: h.text, num: numeric }))],
    rows: keys.map((key, i) => [
      { header: html`${key}${differ[i] ? html` <span class="badge warn">differs</span>` : ''}` },
      ...rows[i]!.map((v) => (numeric ? { num: v ?? '—' } : (v ?? '—'))),
    ]),
    rowClass: (i) => (differ[i] ? 'diff' : undefined),
    empty,
  });
}

function unionKeys(records: readonly object[]): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const k of Object.keys(r)) keys.add(k);
  return [...keys].sort();
}

const runShape = z.looseObject({
  id: z.string(),
  experiment: z.string(),
  status: z.string(),
  startTime: z.string(),
  params: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.looseObject({ value: anyNumber })),
});

const comparedRunsSchema = z.array(
  z.union([
    z.looseObject({
      run: runShape,
      history: z
        .record(z.string(), z.array(z.looseObject({ step: anyNumber, value: anyNumber })))
        .optional(),
    }),
    runShape,
  ]),
);

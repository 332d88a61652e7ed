/**
 * @module
 * The drift report: a summary (the dataset verdict, tested / drifted / skipped columns, the
 * methods and the correction), a table of every tested column sorted by drift score, the
 * skipped columns with their reasons, and per column the overlaid reference and current
 * distributions from the histograms `detectDrift` keeps in the report.
 */
import { z } from 'zod';
import { anyNumberSchema as anyNumber } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import type { DetectDriftReport } from '../drift/dataset.js';
import type { DriftHistogram } from '../drift/report-histogram.js';
import type { DatasetDriftReport } from '../drift/types.js';
import { histogramChart } from './charts.js';
import { formatNumber, formatPercent, formatPValue } from './format.js';
import { html, type SafeHtml } from './html.js';
import { renderPage } from './page.js';
import { badge, table, tiles } from './widgets.js';

/** Options of {@link renderDriftReport}. */
export interface DriftReportOptions {
  /** The page title (default `Data drift report`). */
  title?: string;
  /** A line under the title, e.g. which data was compared with which. */
  description?: string;
}

/**
 * Renders a drift report (what `detectDrift` returns, or the same JSON read back from
 * storage) as one self-contained HTML document: no request leaves the page.
 *
 * Columns are sorted by drift score: how far past its threshold each test is (threshold /
 * p-value for p-value tests, distance / threshold for distances), drifted columns first.
 * Columns of reports made before histograms were kept show their numbers without a chart.
 *
 * @throws {ValidationError} when `report` is not shaped as a drift report.
 *
 * @example
 * ```ts
 * const report = detectDrift(referenceRows, todayRows, { correction: 'bh' });
 * await writeFile('drift.html', renderDriftReport(report, { title: 'Churn features, today' }));
 * ```
 */
export function renderDriftReport(
  report: DetectDriftReport | DatasetDriftReport,
  opts: DriftReportOptions = {},
): string {
  parseWith(
    z.object({ title: z.string().optional(), description: z.string().optional() }).strict(),
    opts,
    'drift report options',
  );
  const title = opts.title ?? 'Data drift report';
  return renderPage({
    title,
    body: driftReportBody(report, { ...opts, title }),
    charts: true,
  });
}

/** The drift report's content (the UI puts it in its own page). */
export function driftReportBody(
  input: DetectDriftReport | DatasetDriftReport,
  opts: DriftReportOptions & { title: string },
): SafeHtml {
  const report = parseWith(driftReportSchema, input, 'drift report') as ParsedDriftReport;
  const columns = columnsByDrift(report.columns);
  const skipped = Object.entries(report.skipped ?? {});
  return html`<p class="crumbs">keel · drift report</p>
<h1>${opts.title}</h1>
${opts.description ? html`<p class="muted">${opts.description}</p>` : ''}
${summary(report, columns.length, skipped.length)}
<h2 id="columns">Columns</h2>
${columnsTable(columns)}
${skipped.length ? skippedTable(skipped) : ''}
<h2 id="distributions">Distributions</h2>
${
  columns.length
    ? html`<div class="cards">${columns.map((c, i) => columnCard(c.name, c.column, i))}</div>`
    : html`<p class="empty">No column was tested.</p>`
}`;
}

type ParsedColumn = z.output<typeof columnSchema>;
type ParsedDriftReport = z.output<typeof driftReportSchema>;

function summary(report: ParsedDriftReport, tested: number, skipped: number): SafeHtml {
  const methods = [...new Set(Object.values(report.columns).map((c) => c.method))].sort();
  const rule =
    report.correction === 'none'
      ? `the dataset drifts when at least ${formatPercent(report.driftShare)} of the tested columns drift`
      : `p-values corrected with ${report.correction === 'bh' ? 'Benjamini-Hochberg' : 'Bonferroni'}; the dataset drifts when any column drifts`;
  return html`<div class="verdict">${
    report.drifted ? badge('bad', 'Dataset drift detected') : badge('ok', 'No dataset drift')
  } <span>${report.driftedColumns} of ${tested} tested columns drifted (${formatPercent(report.share)}); ${rule}.</span></div>
${tiles([
  ['Tested columns', String(tested)],
  ['Drifted columns', String(report.driftedColumns)],
  ['Skipped columns', String(skipped)],
  ['Share drifted', formatPercent(report.share)],
  ['Correction', report.correction],
  ['Methods', methods.join(', ') || '—'],
])}`;
}

function columnsTable(rows: { name: string; column: ParsedColumn }[]): SafeHtml {
  return table({
    caption: 'Tested columns, sorted by drift score (how far past its threshold each test is).',
    className: 'compact',
    head: [
      'Column',
      'Type',
      'Test',
      { text: 'Statistic', num: true },
      { text: 'p-value', num: true },
      { text: 'Threshold', num: true },
      { text: 'Effect size', num: true },
      { text: 'Missing (ref / cur)', num: true },
      'Verdict',
    ],
    rows: rows.map(({ name, column }, i) => [
      { header: html`<a href="#column-${i}">${name}</a>` },
      column.type ?? '—',
      html`<code>${column.method}</code>`,
      { num: formatNumber(column.statistic) },
      { num: column.pValue === undefined ? '—' : formatPValue(column.pValue) },
      { num: `${column.kind === 'p_value' ? 'p < ' : '≥ '}${formatNumber(column.threshold)}` },
      { num: effectText(column) },
      { num: column.missing ? `${column.missing.reference} / ${column.missing.current}` : '—' },
      column.drifted ? badge('bad', 'drifted') : badge('ok', 'stable'),
    ]),
    empty: 'No column was tested.',
  });
}

function skippedTable(rows: [string, { reason: string; message: string }][]): SafeHtml {
  return html`<h2 id="skipped">Skipped columns</h2>${table({
    caption: 'Columns that could not be tested, and why.',
    head: ['Column', 'Reason', 'Message'],
    rows: rows.map(([name, s]) => [{ header: name }, html`<code>${s.reason}</code>`, s.message]),
  })}`;
}

function columnCard(name: string, column: ParsedColumn, index: number): SafeHtml {
  const facts: [string, string][] = [
    ['type', column.type ?? '—'],
    ['test', column.method],
    ['statistic', formatNumber(column.statistic)],
  ];
  if (column.pValue !== undefined) facts.push(['p-value', formatPValue(column.pValue)]);
  facts.push(['threshold', formatNumber(column.threshold)]);
  if (column.effect) facts.push(['effect size', effectText(column)]);
  return html`<section class="card" id="column-${index}" aria-labelledby="column-${index}-h">
<h3 id="column-${index}-h">${name} ${column.drifted ? badge('bad', 'drifted') : badge('ok', 'stable')}</h3>
<dl>${facts.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>
${
  column.histogram
    ? histogramChart(name, column.histogram as DriftHistogram)
    : html`<p class="empty">No histogram in this report (made before keel kept them).</p>`
}
</section>`;
}

function effectText(column: ParsedColumn): string {
  return column.effect ? `${column.effect.method} ${formatNumber(column.effect.statistic)}` : '—';
}

/** A drift test result as far as ordering columns needs it. */
type ScoredColumn = Parameters<typeof driftScore>[0] & { drifted: boolean };

/**
 * A report's columns, drifted first, then by {@link driftScore} (highest first), then by name:
 * the order of the HTML report and of `keel drift`'s table.
 */
export function columnsByDrift<C extends ScoredColumn>(
  columns: Record<string, C>,
): { name: string; column: C }[] {
  return Object.entries(columns)
    .map(([name, column]) => ({ name, column, score: driftScore(column) }))
    .sort(
      (a, b) =>
        Number(b.column.drifted) - Number(a.column.drifted) ||
        b.score - a.score ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
}

/**
 * How far past its threshold a column's test is (> 1 beyond it): threshold / p-value for
 * p-value tests, distance / threshold for distances. Reports and `keel drift` sort by it.
 */
export function driftScore(c: {
  kind: 'p_value' | 'distance';
  pValue?: number | undefined;
  threshold: number;
  statistic: number;
}): number {
  if (c.kind === 'p_value') {
    if (c.pValue === undefined) return 0;
    return c.pValue > 0 ? c.threshold / c.pValue : Number.POSITIVE_INFINITY;
  }
  if (c.threshold > 0) return c.statistic / c.threshold;
  return c.statistic > 0 ? Number.POSITIVE_INFINITY : 0;
}

const count = z.number().int().min(0);

const histogramSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('numerical'),
      edges: z.array(anyNumber).min(2),
      reference: z.array(count),
      current: z.array(count),
    })
    .refine(
      (h) => h.reference.length === h.edges.length - 1 && h.current.length === h.edges.length - 1,
      'a numerical histogram needs one count per bin in reference and current',
    ),
  z
    .object({
      type: z.literal('categorical'),
      labels: z.array(z.string()),
      reference: z.array(count),
      current: z.array(count),
      other: z.object({ reference: count, current: count }).optional(),
    })
    .refine(
      (h) => h.reference.length === h.labels.length && h.current.length === h.labels.length,
      'a categorical histogram needs one count per label in reference and current',
    ),
]);

const columnSchema = z.looseObject({
  method: z.string(),
  statistic: anyNumber,
  pValue: anyNumber.optional(),
  threshold: anyNumber,
  drifted: z.boolean(),
  kind: z.enum(['p_value', 'distance']),
  missing: z.object({ reference: count, current: count }).optional(),
  type: z.enum(['numerical', 'categorical']).optional(),
  effect: z.object({ method: z.string(), statistic: anyNumber }).optional(),
  histogram: histogramSchema.optional(),
});

const driftReportSchema = z.looseObject({
  drifted: z.boolean(),
  share: anyNumber,
  driftedColumns: count,
  columns: z.record(z.string(), columnSchema),
  correction: z.enum(['none', 'bonferroni', 'bh']),
  driftShare: anyNumber,
  skipped: z
    .record(z.string(), z.looseObject({ reason: z.string(), message: z.string() }))
    .optional(),
});

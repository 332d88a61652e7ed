/**
 * @module
 * The gate report: the policy's decision, its subject, and every rule with what the evidence
 * showed, what the rule required, its decision and message; then the digests that make the
 * report citable (its own address, and the policy's and evidence's where it carries them).
 */
import { z } from 'zod';
import { isDigest } from '../core/digest.js';
import { anyNumberSchema as anyNumber } from '../core/schemas.js';
import { parseWith } from '../core/validate.js';
import { ruleLabel } from '../gates/format.js';
import type { GateReport } from '../gates/types.js';
import { formatNumber, formatTime } from './format.js';
import { html, type SafeHtml } from './html.js';
import { renderPage } from './page.js';
import { badge, keyValueTable, statusBadge, table, tiles } from './widgets.js';

/** Options of {@link renderGateReport}. */
export interface GateReportOptions {
  /** The page title (default `Gate "<policy>"`). */
  title?: string;
  /** More digests to list, by what they address (e.g. `{ 'training data': 'sha256:…' }`). */
  digests?: Record<string, string>;
}

/**
 * Renders a gate report (what `keel.gates.evaluate` returns, or its stored JSON) as one
 * self-contained HTML document.
 *
 * @throws {ValidationError} when `report` is not shaped as a gate report.
 *
 * @example
 * ```ts
 * const report = await keel.gates.evaluate(policy, evidence, { subject: { model: 'churn', version: 3 } });
 * await writeFile('gate.html', renderGateReport(report));
 * ```
 */
export function renderGateReport(report: GateReport, opts: GateReportOptions = {}): string {
  parseWith(
    z
      .object({
        title: z.string().optional(),
        digests: z.record(z.string(), z.string()).optional(),
      })
      .strict(),
    opts,
    'gate report options',
  );
  const parsed = parseWith(gateReportSchema, report, 'gate report');
  const title = opts.title ?? `Gate "${parsed.policy}"`;
  return renderPage({ title, body: gateReportBody(report, { ...opts, title }) });
}

/** The gate report's content (the UI puts it in its own page). */
export function gateReportBody(
  input: GateReport,
  opts: GateReportOptions & { title?: string },
): SafeHtml {
  const report = parseWith(gateReportSchema, input, 'gate report');
  const counts = (d: string): number => report.results.filter((r) => r.decision === d).length;
  const decision = report.decision;
  return html`<p class="crumbs">keel · gate report</p>
<h1>${opts.title ?? `Gate "${report.policy}"`}</h1>
<div class="verdict">${badge(
    decision === 'pass' ? 'ok' : decision === 'warn' ? 'warn' : 'bad',
    decision === 'pass' ? 'Passed' : decision === 'warn' ? 'Passed with warnings' : 'Failed',
  )} <span>policy <strong>${report.policy}</strong>${
    report.subject
      ? html` on model <strong>${report.subject.model}</strong> version ${report.subject.version}`
      : ''
  }, evaluated ${formatTime(report.evaluatedAt)}.</span></div>
${tiles([
  ['Decision', decision],
  ['Rules', String(report.results.length)],
  ['Passed', String(counts('pass'))],
  ['Warnings', String(counts('warn'))],
  ['Failed', String(counts('fail'))],
])}
<h2 id="rules">Rules</h2>
${table({
  caption: 'Each rule, what the evidence showed, what the rule required, and its decision.',
  head: ['#', 'Rule', 'Severity', 'Observed', 'Threshold', 'Decision', 'Message'],
  rows: report.results.map((r, i) => [
    { num: String(i + 1) },
    { header: html`<code>${ruleLabel(r.rule)}</code>` },
    r.rule.severity === 'warn' ? 'warn' : 'block',
    html`<span class="mono">${valueText(r.observed)}</span>`,
    html`<span class="mono">${valueText(r.expected)}</span>`,
    statusBadge(r.decision),
    r.message,
  ]),
  empty: 'The policy has no rule.',
})}
<h2 id="digests">Subject and digests</h2>
${keyValueTable(
  'What this report judged, and the content addresses that make it citable.',
  digestRows(report, opts.digests ?? {}),
  'No digest recorded.',
)}`;
}

function digestRows(
  report: z.output<typeof gateReportSchema>,
  extra: Record<string, string>,
): [string, SafeHtml | string][] {
  const rows: [string, SafeHtml | string][] = [];
  if (report.subject) {
    rows.push(['subject', `${report.subject.model} version ${report.subject.version}`]);
  }
  const code = (d: string): SafeHtml => html`<code>${d}</code>`;
  if (report.digest) rows.push(['report (evidence for promotions)', code(report.digest)]);
  // Digests the report carries beyond the known fields (e.g. its policy's and evidence's).
  const known = new Set([
    'policy',
    'decision',
    'passed',
    'subject',
    'results',
    'evaluatedAt',
    'digest',
  ]);
  for (const [key, value] of Object.entries(report)) {
    if (known.has(key)) continue;
    if (isDigest(value)) rows.push([key, code(value)]);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) {
        if (isDigest(v)) rows.push([`${key}.${inner}`, code(v)]);
      }
    }
  }
  for (const [key, value] of Object.entries(extra)) rows.push([key, code(value)]);
  return rows;
}

/** Observed and expected values: numbers, records of numbers, words, or compact JSON. */
function valueText(value: unknown): string {
  if (value === null || value === undefined) return 'missing';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.every(([, v]) => typeof v === 'number' || v === null)) {
      return entries
        .map(([k, v]) => `${k}: ${v === null ? 'missing' : formatNumber(v as number)}`)
        .join(', ');
    }
  }
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 300 ? `${json.slice(0, 299)}…` : json;
}

const decision = z.enum(['pass', 'warn', 'fail']);

const gateReportSchema = z.looseObject({
  policy: z.string(),
  decision,
  passed: z.boolean(),
  subject: z.object({ model: z.string(), version: anyNumber }).optional(),
  results: z.array(
    z.looseObject({
      rule: z.looseObject({ kind: z.string() }),
      decision,
      observed: z.unknown(),
      expected: z.unknown(),
      message: z.string(),
    }),
  ),
  evaluatedAt: z.string(),
  digest: z.string().optional(),
});

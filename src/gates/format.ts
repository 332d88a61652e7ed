/**
 * @module
 * `formatGateReport`: a gate report as a compact plain-text table for terminals (the JSON
 * form is the report itself).
 */

import { checkGateReport } from './report.js';
import type { GateReport } from './types.js';

/**
 * Renders `report` as a header line and one table row per rule: index, rule, severity,
 * decision and the rule's message. Plain ASCII, no colours.
 *
 * @example
 * ```ts
 * console.log(formatGateReport(report));
 * // gate "release" FAIL  churn v3  sha256:1f2e3d4c5b6a
 * //  #  rule               sev    result  message
 * //  1  metric auc         block  pass    auc = 0.91 within [0.8, inf)
 * ```
 *
 * @throws {ValidationError} when `input` is not shaped as a gate report.
 */
export function formatGateReport(input: GateReport): string {
  const report = checkGateReport(input, 'gate report');
  const subject = report.subject ? `  ${report.subject.model} v${report.subject.version}` : '';
  const header = `gate "${report.policy}" ${report.decision.toUpperCase()}${subject}  ${report.digest.slice(0, 19)}  ${report.evaluatedAt}`;
  const rows = report.results.map((result, i) => [
    String(i + 1),
    ruleLabel(result.rule),
    result.rule.severity === 'warn' ? 'warn' : 'block',
    result.decision,
    oneLine(result.message),
  ]);
  const table = [['#', 'rule', 'sev', 'result', 'message'], ...rows];
  const widths = [0, 1, 2, 3].map((col) => Math.max(...table.map((row) => row[col]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, col) =>
        col === 0 ? cell.padStart(widths[0]!) : col < 4 ? cell.padEnd(widths[col]!) : cell,
      )
      .join('  ')
      .trimEnd(),
  );
  const counts = (['pass', 'warn', 'fail'] as const)
    .map((d) => `${report.results.filter((r) => r.decision === d).length} ${d}`)
    .join(', ');
  return [header, ...lines, counts].join('\n');
}

/** A rule's short label: its `name`, or its kind and subject (`metric auc`, `latency p95`). */
export function ruleLabel(rule: GateReport['results'][number]['rule']): string {
  if (typeof rule.name === 'string') return truncate(rule.name, 40);
  const parts = [rule.kind];
  const add = (value: unknown): void => {
    if (typeof value === 'string' || typeof value === 'number') parts.push(String(value));
  };
  switch (rule.kind) {
    case 'latency':
      add(`p${rule.percentile}`);
      break;
    case 'fairness':
      add(FAIRNESS_SHORT[String(rule.metric)] ?? rule.metric);
      add(rule.sensitive);
      break;
    case 'drift':
      add(rule.column ?? (rule.maxShare === undefined ? 'dataset' : 'share'));
      break;
    case 'significance':
      add(rule.metric);
      add(rule.test);
      break;
    case 'leakage':
      add(`${String(rule.train)}/${String(rule.test)}`);
      break;
    default:
      add(rule.metric);
  }
  return truncate(parts.join(' '), 40);
}

const FAIRNESS_SHORT: Record<string, string> = {
  demographic_parity_difference: 'dp-diff',
  equalized_odds_difference: 'eo-diff',
  disparate_impact_ratio: 'di-ratio',
};

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

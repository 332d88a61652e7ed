/**
 * @module
 * The `drift` rule: the share of drifted columns in a `DatasetDriftReport` at most
 * `maxShare`, and/or one named column not drifted.
 */
import type { Evidence } from '../evidence.js';
import { fmt, jsonNumber, missing, outcome, type RuleOutcome } from '../rule.js';
import type { DriftRule } from '../schema.js';

/**
 * Judges a {@link DriftRule} on `evidence.drift`: `share <= maxShare` (inclusive) when
 * given, `columns[column].drifted === false` when given, and with neither the report's own
 * verdict `drifted === false`.
 */
export function evaluateDriftRule(rule: DriftRule, evidence: Evidence): RuleOutcome {
  const expected: Record<string, unknown> = {};
  if (rule.maxShare !== undefined) expected.maxShare = rule.maxShare;
  if (rule.column !== undefined) expected.column = rule.column;
  if (rule.maxShare === undefined && rule.column === undefined) expected.drifted = false;
  const report = evidence.drift;
  if (report === undefined) return missing(expected, 'no drift report (evidence.drift)');
  const tested = Object.keys(report.columns).length;
  if (tested === 0) return missing(expected, 'the drift report tested no columns');
  const observed: Record<string, unknown> = {
    share: jsonNumber(report.share),
    driftedColumns: jsonNumber(report.driftedColumns),
    testedColumns: tested,
    drifted: report.drifted,
  };
  if (Number.isNaN(report.share)) return missing(expected, 'the drift share is NaN', observed);

  const failures: string[] = [];
  const notes: string[] = [];
  if (rule.maxShare !== undefined) {
    const ok = report.share <= rule.maxShare;
    (ok ? notes : failures).push(
      `${report.driftedColumns}/${tested} columns drifted (share ${fmt(report.share)} ${ok ? '<=' : '>'} ${fmt(rule.maxShare)})`,
    );
  }
  if (rule.column !== undefined) {
    const column = Object.hasOwn(report.columns, rule.column)
      ? report.columns[rule.column]
      : undefined;
    if (column === undefined) {
      return missing(expected, `column "${rule.column}" is not in the drift report`, observed);
    }
    observed.column = {
      name: rule.column,
      drifted: column.drifted,
      method: column.method,
      statistic: jsonNumber(column.statistic),
      ...(column.pValue === undefined ? {} : { pValue: jsonNumber(column.pValue) }),
      threshold: jsonNumber(column.threshold),
    };
    const stat =
      column.pValue === undefined
        ? `${column.method} ${fmt(column.statistic)}`
        : `${column.method} p = ${fmt(column.pValue)}`;
    (column.drifted ? failures : notes).push(
      `column "${rule.column}" ${column.drifted ? 'drifted' : 'did not drift'} (${stat})`,
    );
  }
  if (rule.maxShare === undefined && rule.column === undefined) {
    (report.drifted ? failures : notes).push(
      `dataset ${report.drifted ? 'drifted' : 'did not drift'}: ${report.driftedColumns}/${tested} columns (share ${fmt(report.share)}, drift share ${fmt(report.driftShare)})`,
    );
  }
  return outcome(failures.length === 0, observed, expected, [...failures, ...notes].join('; '));
}

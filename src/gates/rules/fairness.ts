/**
 * @module
 * The `fairness` rule: fairlearn's demographic parity difference, equalized odds
 * difference and disparate impact ratio over the groups of one sensitive attribute,
 * with every group's rates reported.
 */
import type { Evidence } from '../evidence.js';
import {
  assertAligned,
  assertBinary,
  evidenceError,
  firstNaN,
  fmt,
  missing,
  outcome,
  type RuleOutcome,
} from '../rule.js';
import type { FairnessRule } from '../schema.js';
import { bounds, describeBounds } from './metric.js';

/** Per-group counts and rates, as reported in `observed.groups`. */
export interface GroupRates {
  /** Examples in the group. */
  count: number;
  /** Share of the group predicted 1. */
  selectionRate: number;
  /** Examples labelled 1 and 0 (equalized odds only). */
  positives?: number;
  negatives?: number;
  /** TPR and FPR; `null` when the group has no positive (negative) labels. */
  truePositiveRate?: number | null;
  falsePositiveRate?: number | null;
}

/** Default thresholds when a rule gives none: 0.1 for differences, 0.8 (four-fifths) for the ratio. */
export const FAIRNESS_DEFAULTS: {
  readonly difference: { readonly max: number };
  readonly ratio: { readonly min: number };
} = { difference: { max: 0.1 }, ratio: { min: 0.8 } };

/**
 * Judges a {@link FairnessRule}. Selection rate of a group = mean prediction; TPR = TP / P
 * and FPR = FP / N within the group. Demographic parity difference = max - min selection
 * rate; equalized odds difference = max(TPR max - min, FPR max - min); disparate impact
 * ratio = min / max selection rate. A rate whose denominator is zero is reported as
 * `null` and fails the rule (it cannot be judged), never divided by zero.
 */
export function evaluateFairnessRule(rule: FairnessRule, evidence: Evidence): RuleOutcome {
  const isRatio = rule.metric === 'disparate_impact_ratio';
  const min =
    rule.min ?? (isRatio && rule.max === undefined ? FAIRNESS_DEFAULTS.ratio.min : undefined);
  const max =
    rule.max ?? (!isRatio && rule.min === undefined ? FAIRNESS_DEFAULTS.difference.max : undefined);
  const expected = { metric: rule.metric, ...bounds(min, max) };
  const needsLabels = rule.metric === 'equalized_odds_difference';
  const c = evidence.candidate;

  if (c.predictions === undefined) return missing(expected, 'candidate.predictions is missing');
  const groups = c.groups?.[rule.sensitive];
  if (groups === undefined) {
    return missing(
      expected,
      `sensitive attribute "${rule.sensitive}" is missing from candidate.groups`,
    );
  }
  if (needsLabels && c.labels === undefined) {
    return missing(expected, 'candidate.labels is missing (equalized odds needs ground truth)');
  }
  const arrays = [
    { path: ['candidate', 'predictions'], values: c.predictions },
    { path: ['candidate', 'groups', rule.sensitive], values: groups },
  ];
  if (needsLabels) arrays.push({ path: ['candidate', 'labels'], values: c.labels! });
  assertAligned(arrays);
  assertBinary(['candidate', 'predictions'], c.predictions);
  if (needsLabels) assertBinary(['candidate', 'labels'], c.labels!);
  if (c.predictions.length === 0) return missing(expected, 'candidate.predictions is empty');
  const nanPrediction = firstNaN(c.predictions);
  if (nanPrediction >= 0)
    return missing(expected, `candidate.predictions[${nanPrediction}] is NaN`);
  const nanLabel = needsLabels ? firstNaN(c.labels!) : -1;
  if (nanLabel >= 0) return missing(expected, `candidate.labels[${nanLabel}] is NaN`);

  const rates = groupRates(c.predictions, groups, needsLabels ? c.labels! : undefined);
  const names = [...rates.keys()].sort();
  const reported: Record<string, GroupRates> = Object.create(null);
  for (const name of names) {
    if (name === '__proto__') {
      throw evidenceError(
        ['candidate', 'groups', rule.sensitive],
        'holds the group name "__proto__"',
        'rename that group',
      );
    }
    reported[name] = rates.get(name)!;
  }
  const selection = names.map((name) => rates.get(name)!.selectionRate);

  let value: number | null;
  let undefinedBecause: string | undefined;
  if (rule.metric === 'demographic_parity_difference') {
    value = maxOf(selection) - minOf(selection);
  } else if (rule.metric === 'disparate_impact_ratio') {
    const top = maxOf(selection);
    value = top === 0 ? null : minOf(selection) / top;
    if (value === null)
      undefinedBecause = 'no group has a positive prediction, so the ratio is 0/0';
  } else {
    const noPositives = names.filter((name) => rates.get(name)!.truePositiveRate === null);
    const noNegatives = names.filter((name) => rates.get(name)!.falsePositiveRate === null);
    if (noPositives.length || noNegatives.length) {
      value = null;
      undefinedBecause = [
        noPositives.length ? `no positive labels in ${quote(noPositives)} (TPR undefined)` : '',
        noNegatives.length ? `no negative labels in ${quote(noNegatives)} (FPR undefined)` : '',
      ]
        .filter(Boolean)
        .join(', ');
    } else {
      const tpr = names.map((name) => rates.get(name)!.truePositiveRate as number);
      const fpr = names.map((name) => rates.get(name)!.falsePositiveRate as number);
      value = Math.max(maxOf(tpr) - minOf(tpr), maxOf(fpr) - minOf(fpr));
    }
  }

  const observed = { value, groups: reported };
  const where = `over ${names.length} group${names.length === 1 ? '' : 's'} of "${rule.sensitive}"`;
  if (value === null) {
    return missing(
      expected,
      `${rule.metric} cannot be judged ${where}: ${undefinedBecause}`,
      observed,
    );
  }
  const ok = (min === undefined || value >= min) && (max === undefined || value <= max);
  return outcome(
    ok,
    observed,
    expected,
    `${rule.metric} = ${fmt(value)} ${where} ${ok ? 'within' : 'outside'} ${describeBounds(min, max)}`,
  );
}

function groupRates(
  predictions: ArrayLike<number>,
  groups: ArrayLike<string>,
  labels: ArrayLike<number> | undefined,
): Map<string, GroupRates> {
  const counts = new Map<
    string,
    { n: number; selected: number; p: number; tp: number; fp: number }
  >();
  for (let i = 0; i < predictions.length; i++) {
    const key = groups[i]!;
    let entry = counts.get(key);
    if (!entry) {
      entry = { n: 0, selected: 0, p: 0, tp: 0, fp: 0 };
      counts.set(key, entry);
    }
    const predicted = predictions[i] === 1;
    entry.n++;
    if (predicted) entry.selected++;
    if (labels) {
      if (labels[i] === 1) {
        entry.p++;
        if (predicted) entry.tp++;
      } else if (predicted) {
        entry.fp++;
      }
    }
  }
  const out = new Map<string, GroupRates>();
  for (const [key, e] of counts) {
    const rates: GroupRates = { count: e.n, selectionRate: e.selected / e.n };
    if (labels) {
      const negatives = e.n - e.p;
      rates.positives = e.p;
      rates.negatives = negatives;
      rates.truePositiveRate = e.p === 0 ? null : e.tp / e.p;
      rates.falsePositiveRate = negatives === 0 ? null : e.fp / negatives;
    }
    out.set(key, rates);
  }
  return out;
}

function quote(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

// Loops, not Math.max(...values): one group per row must not overflow the call stack.
function maxOf(values: readonly number[]): number {
  let out = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > out) out = v;
  return out;
}

function minOf(values: readonly number[]): number {
  let out = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < out) out = v;
  return out;
}

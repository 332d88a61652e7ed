/**
 * @module
 * The built-in rule evaluators, by kind.
 */
import type { Evidence } from './evidence.js';
import type { RuleOutcome } from './rule.js';
import { evaluateCompareRule } from './rules/compare.js';
import { evaluateConvergenceRule } from './rules/convergence.js';
import { evaluateCostRule } from './rules/cost.js';
import { evaluateDriftRule } from './rules/drift.js';
import { evaluateFairnessRule } from './rules/fairness.js';
import { evaluateLatencyRule } from './rules/latency.js';
import { evaluateLeakageRule } from './rules/leakage.js';
import { evaluateMetricRule } from './rules/metric.js';
import { evaluateSignificanceRule } from './rules/significance.js';
import type { BuiltinRule } from './schema.js';

/** Judges one built-in rule (validated by the policy schema). */
export function evaluateBuiltinRule(rule: BuiltinRule, evidence: Evidence): RuleOutcome {
  switch (rule.kind) {
    case 'metric':
      return evaluateMetricRule(rule, evidence);
    case 'compare':
      return evaluateCompareRule(rule, evidence);
    case 'fairness':
      return evaluateFairnessRule(rule, evidence);
    case 'latency':
      return evaluateLatencyRule(rule, evidence);
    case 'cost':
      return evaluateCostRule(rule, evidence);
    case 'drift':
      return evaluateDriftRule(rule, evidence);
    case 'significance':
      return evaluateSignificanceRule(rule, evidence);
    case 'convergence':
      return evaluateConvergenceRule(rule, evidence);
    case 'leakage':
      return evaluateLeakageRule(rule, evidence);
  }
}

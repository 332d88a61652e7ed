/**
 * @module
 * Gate policies as plain JSON: the rule types of every built-in kind and the zod schema
 * (`gatePolicySchema`) that validates them. Parsing never adds defaults, so a policy
 * round-trips through JSON and through the schema unchanged.
 */
import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { ValidationError } from '../core/errors.js';
import { keySchema, nameSchema } from '../core/schemas.js';

/** How a failing rule counts: `block` fails the gate, `warn` only warns. Default `block`. */
export type RuleSeverity = 'block' | 'warn';

/** Fields every rule may carry. */
export interface RuleBase {
  /** A display name for reports; defaults to the kind and its subject. */
  name?: string;
  /** `block` (default) or `warn`. */
  severity?: RuleSeverity;
}

/** A floor and/or ceiling on one candidate metric, both inclusive. */
export interface MetricRule extends RuleBase {
  /** Selects this rule. */
  kind: 'metric';
  /** The candidate metric, by name (`evidence.candidate.metrics`). */
  metric: string;
  /** Lowest accepted value (inclusive). */
  min?: number;
  /** Highest accepted value (inclusive). */
  max?: number;
}

/**
 * The candidate against the champion on one metric (MLflow `MetricThreshold` semantics,
 * relative changes divided by |champion|). Without any threshold: not worse than the champion.
 */
export interface CompareRule extends RuleBase {
  /** Selects this rule. */
  kind: 'compare';
  /** The metric compared, by name, in both `candidate.metrics` and `champion.metrics`. */
  metric: string;
  /** Only `champion` (`evidence.champion`) for now. */
  baseline?: 'champion';
  /** Default `true`. */
  higherIsBetter?: boolean;
  /** Required improvement, in metric units (>= 0). */
  minAbsoluteChange?: number;
  /** Required improvement as a fraction of |champion| (>= 0). */
  minRelativeChange?: number;
  /** Largest allowed regression, in metric units (>= 0). */
  maxAbsoluteRegression?: number;
  /** Largest allowed regression as a fraction of |champion| (>= 0). */
  maxRelativeRegression?: number;
}

/** The fairness metrics, as fairlearn defines them. */
export type FairnessMetric =
  | 'demographic_parity_difference'
  | 'equalized_odds_difference'
  | 'disparate_impact_ratio';

/**
 * A fairness metric over the groups of one sensitive attribute. Defaults: `max: 0.1` for the
 * differences, `min: 0.8` (the four-fifths rule) for the ratio.
 */
export interface FairnessRule extends RuleBase {
  /** Selects this rule. */
  kind: 'fairness';
  /** Which fairness metric (fairlearn's definitions). */
  metric: FairnessMetric;
  /** The name of the attribute in `evidence.candidate.groups`. */
  sensitive: string;
  /** Highest accepted value (inclusive). */
  max?: number;
  /** Lowest accepted value (inclusive). */
  min?: number;
}

/** A latency percentile ceiling (NumPy's linear interpolation), from `latenciesMs`. */
export interface LatencyRule extends RuleBase {
  /** Selects this rule. */
  kind: 'latency';
  /** In (0, 100]. */
  percentile: number;
  /** Highest accepted latency at that percentile, in milliseconds (inclusive). */
  maxMs: number;
}

/** A ceiling on one named cost (`evidence.candidate.costs`). */
export interface CostRule extends RuleBase {
  /** Selects this rule. */
  kind: 'cost';
  /** The cost, by name (`evidence.candidate.costs`). */
  metric: string;
  /** Highest accepted cost (inclusive). */
  max: number;
}

/**
 * Data drift from `evidence.drift`: the share of drifted columns at most `maxShare`, and/or
 * `column` not drifted. Without either: the report's own dataset verdict must be no drift.
 */
export interface DriftRule extends RuleBase {
  /** Selects this rule. */
  kind: 'drift';
  /** Highest accepted share of drifted columns, in [0, 1]. */
  maxShare?: number;
  /** A column that must not have drifted. */
  column?: string;
}

/** The statistical tests of a significance rule. */
export type SignificanceTest = 'bootstrap' | 'mcnemar' | 'mann_whitney';

/**
 * A statistical comparison of candidate and champion on per-example values
 * (`samples[metric]`, or `latenciesMs` when `metric` is `latenciesMs`).
 */
export interface SignificanceRule extends RuleBase {
  /** Selects this rule. */
  kind: 'significance';
  /** The per-example values compared: `samples[metric]`, or `latenciesMs`. */
  metric: string;
  /** The test: paired bootstrap, McNemar (0/1 outcomes) or Mann-Whitney U. */
  test: SignificanceTest;
  /** Significance level in (0, 1). Default 0.05. */
  alpha?: number;
  /** Default `true`, except `false` when `metric` is `latenciesMs`. */
  higherIsBetter?: boolean;
  /**
   * `better`: the candidate must be significantly better; `not_worse`: it must not be
   * significantly worse. Default `better`, except `not_worse` for `mann_whitney`.
   */
  require?: 'better' | 'not_worse';
  /** Bootstrap only: number of resamples, 100 to 1,000,000. Default 2000. */
  resamples?: number;
  /** Bootstrap only: the seed of the resampling. Default `'keel'`. */
  seed?: string | number;
}

/**
 * Training sanity: `history[metric]` (e.g. the loss per epoch) has no NaN or infinity and
 * decreased by at least `minDecrease`, a fraction of its starting value.
 */
export interface ConvergenceRule extends RuleBase {
  /** Selects this rule. */
  kind: 'convergence';
  /** The series checked, by name (`evidence.candidate.history`). */
  metric: string;
  /** Required relative decrease from start to end, >= 0 (0.5 = halved). */
  minDecrease: number;
  /** Start and end are the means of the first and last `window` values. Default 1. */
  window?: number;
}

/** Training sanity: no row digest of the `test` split appears in the `train` split. */
export interface LeakageRule extends RuleBase {
  /** Selects this rule. */
  kind: 'leakage';
  /** The name of the training rows in `evidence.candidate.rowDigests`. */
  train: string;
  /** The name of the held-out rows in `evidence.candidate.rowDigests`. */
  test: string;
  /** Test rows allowed to appear in train. Default 0. */
  maxOverlap?: number;
}

/** Every built-in rule. */
export type BuiltinRule =
  | MetricRule
  | CompareRule
  | FairnessRule
  | LatencyRule
  | CostRule
  | DriftRule
  | SignificanceRule
  | ConvergenceRule
  | LeakageRule;

/** A rule of a kind registered in code (`createGateEvaluator({ rules })`); its fields are JSON. */
export interface CustomRule extends RuleBase {
  /** The kind a code-defined rule was registered under (`createGateEvaluator({ rules })`). */
  kind: string;
  [field: string]: unknown;
}

/** One rule of a policy. */
export type Rule = BuiltinRule | CustomRule;

/** A named list of rules: plain JSON. */
export interface GatePolicy {
  /** The policy's name, as reports and audit entries cite it. */
  name: string;
  /** The rules; the gate fails when a `block` rule fails. */
  rules: Rule[];
}

/** The kinds every evaluator knows. */
export const builtinRuleKinds: readonly BuiltinRule['kind'][] = [
  'metric',
  'compare',
  'fairness',
  'latency',
  'cost',
  'drift',
  'significance',
  'convergence',
  'leakage',
];

/**
 * Builds the policy schema for the built-in kinds plus `customKinds` (rules registered in
 * code; their extra fields must be JSON).
 *
 * @throws {ValidationError} when `customKinds` is not an array of strings.
 */
export function createGatePolicySchema(customKinds: readonly string[] = []): z.ZodType<GatePolicy> {
  if (!Array.isArray(customKinds) || !customKinds.every((kind) => typeof kind === 'string')) {
    throw new ValidationError(
      '[keel] invalid custom rule kinds for createGatePolicySchema: pass an array of kind names (strings)',
    );
  }
  const options: z.core.$ZodTypeDiscriminable[] = [...builtinSchemas];
  for (const kind of customKinds) {
    options.push(
      z.looseObject({ kind: z.literal(kind), ...common }).refine(isJson, 'must be plain JSON'),
    );
  }
  return z.strictObject({
    name: nameSchema,
    rules: z
      .array(z.discriminatedUnion('kind', options as [z.core.$ZodTypeDiscriminable]))
      .min(1, 'a policy needs at least one rule'),
  }) as unknown as z.ZodType<GatePolicy>;
}

const common = {
  /** The policy's name, as reports and audit entries cite it. */
  name: z.string().min(1).max(256).optional(),
  severity: z.enum(['block', 'warn']).optional(),
};
const threshold = z.number();
const nonNegative = z.number().min(0, 'must be >= 0');
const unit = z.number().min(0, 'must be >= 0').max(1, 'must be <= 1');

const metricSchema = z
  .strictObject({
    kind: z.literal('metric'),
    ...common,
    metric: keySchema,
    min: threshold.optional(),
    max: threshold.optional(),
  })
  .refine((r) => r.min !== undefined || r.max !== undefined, {
    message: 'give min, max or both',
    path: ['min'],
  })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
    message: 'must be <= max',
    path: ['min'],
  });

const compareSchema = z.strictObject({
  kind: z.literal('compare'),
  ...common,
  metric: keySchema,
  baseline: z.literal('champion').optional(),
  higherIsBetter: z.boolean().optional(),
  minAbsoluteChange: nonNegative.optional(),
  minRelativeChange: nonNegative.optional(),
  maxAbsoluteRegression: nonNegative.optional(),
  maxRelativeRegression: nonNegative.optional(),
});

const fairnessSchema = z
  .strictObject({
    kind: z.literal('fairness'),
    ...common,
    metric: z.enum([
      'demographic_parity_difference',
      'equalized_odds_difference',
      'disparate_impact_ratio',
    ]),
    sensitive: keySchema,
    max: unit.optional(),
    min: unit.optional(),
  })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
    message: 'must be <= max',
    path: ['min'],
  });

const latencySchema = z.strictObject({
  kind: z.literal('latency'),
  ...common,
  percentile: z.number().gt(0, 'must be in (0, 100]').lte(100, 'must be in (0, 100]'),
  maxMs: nonNegative,
});

const costSchema = z.strictObject({
  kind: z.literal('cost'),
  ...common,
  metric: keySchema,
  max: nonNegative,
});

const driftSchema = z.strictObject({
  kind: z.literal('drift'),
  ...common,
  maxShare: unit.optional(),
  column: z.string().min(1).max(250).optional(),
});

const significanceSchema = z
  .strictObject({
    kind: z.literal('significance'),
    ...common,
    metric: keySchema,
    test: z.enum(['bootstrap', 'mcnemar', 'mann_whitney']),
    alpha: z.number().gt(0, 'must be in (0, 1)').lt(1, 'must be in (0, 1)').optional(),
    higherIsBetter: z.boolean().optional(),
    require: z.enum(['better', 'not_worse']).optional(),
    resamples: z.int().min(100, 'must be >= 100').max(1_000_000, 'must be <= 1000000').optional(),
    seed: z.union([z.string().max(256), z.number()]).optional(),
  })
  .refine((r) => r.test === 'bootstrap' || r.resamples === undefined, {
    message: 'resamples only applies to the bootstrap test',
    path: ['resamples'],
  })
  .refine((r) => r.test === 'bootstrap' || r.seed === undefined, {
    message: 'seed only applies to the bootstrap test',
    path: ['seed'],
  });

const convergenceSchema = z.strictObject({
  kind: z.literal('convergence'),
  ...common,
  metric: keySchema,
  minDecrease: nonNegative,
  window: z.int().min(1, 'must be >= 1').max(1_000_000).optional(),
});

const leakageSchema = z
  .strictObject({
    kind: z.literal('leakage'),
    ...common,
    train: keySchema,
    test: keySchema,
    maxOverlap: z.int().min(0, 'must be >= 0').optional(),
  })
  .refine((r) => r.train !== r.test, { message: 'must differ from train', path: ['test'] });

const builtinSchemas: z.core.$ZodTypeDiscriminable[] = [
  metricSchema,
  compareSchema,
  fairnessSchema,
  latencySchema,
  costSchema,
  driftSchema,
  significanceSchema,
  convergenceSchema,
  leakageSchema,
];

/**
 * Validates a {@link GatePolicy} of built-in rules: unknown kinds, unknown fields (a typo
 * must not silently disable a threshold), percentiles outside (0, 100] and negative
 * thresholds where they mean nothing are refused, with the rule index and field in the
 * issue path (e.g. `rules.2.percentile`).
 *
 * @example
 * ```ts
 * const policy = gatePolicySchema.parse({
 *   name: 'release',
 *   rules: [{ kind: 'metric', metric: 'auc', min: 0.8 }],
 * });
 * ```
 */
export const gatePolicySchema: z.ZodType<GatePolicy> = createGatePolicySchema();

function isJson(value: unknown): boolean {
  try {
    canonicalJson(value);
    return true;
  } catch {
    return false;
  }
}

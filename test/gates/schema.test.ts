import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { parseWith } from '../../src/core/validate.js';
import { type BuiltinRule, type GatePolicy, gatePolicySchema } from '../../src/gates/schema.js';

const num = (min: number, max: number) =>
  fc
    .double({ min, max, noNaN: true, noDefaultInfinity: true })
    .map((x) => (Object.is(x, -0) ? 0 : x));
const key = fc.constantFrom('auc', 'rmse', 'loss', 'usd', 'latency.p99');
const common = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 20 }),
    severity: fc.constantFrom('block', 'warn'),
  } as const,
  { requiredKeys: [] },
);

const ruleArb: fc.Arbitrary<BuiltinRule> = fc.oneof(
  fc
    .tuple(key, num(-10, 0), num(0, 10), fc.constantFrom('min', 'max', 'both'))
    .map(([metric, min, max, which]) => ({
      kind: 'metric' as const,
      metric,
      ...(which !== 'max' ? { min } : {}),
      ...(which !== 'min' ? { max } : {}),
    })),
  fc.record(
    {
      kind: fc.constant('compare' as const),
      metric: key,
      baseline: fc.constant('champion' as const),
      higherIsBetter: fc.boolean(),
      minAbsoluteChange: num(0, 1),
      minRelativeChange: num(0, 2),
      maxAbsoluteRegression: num(0, 1),
      maxRelativeRegression: num(0, 1),
    },
    { requiredKeys: ['kind', 'metric'] },
  ),
  fc.record(
    {
      kind: fc.constant('fairness' as const),
      metric: fc.constantFrom(
        'demographic_parity_difference' as const,
        'equalized_odds_difference' as const,
        'disparate_impact_ratio' as const,
      ),
      sensitive: fc.constantFrom('sex', 'age_band'),
      max: num(0.5, 1),
      min: num(0, 0.5),
    },
    { requiredKeys: ['kind', 'metric', 'sensitive'] },
  ),
  fc.record({
    kind: fc.constant('latency' as const),
    percentile: num(0.001, 100),
    maxMs: num(0, 1e5),
  }),
  fc.record({ kind: fc.constant('cost' as const), metric: key, max: num(0, 100) }),
  fc.record(
    {
      kind: fc.constant('drift' as const),
      maxShare: num(0, 1),
      column: fc.constantFrom('age', 'income'),
    },
    { requiredKeys: ['kind'] },
  ),
  fc
    .record(
      {
        metric: key,
        test: fc.constantFrom('bootstrap' as const, 'mcnemar' as const, 'mann_whitney' as const),
        alpha: num(0.001, 0.5),
        higherIsBetter: fc.boolean(),
        require: fc.constantFrom('better' as const, 'not_worse' as const),
        resamples: fc.integer({ min: 100, max: 10_000 }),
        seed: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
      },
      { requiredKeys: ['metric', 'test'] },
    )
    .map(({ resamples, seed, ...rest }) => ({
      kind: 'significance' as const,
      ...rest,
      ...(rest.test === 'bootstrap' && resamples !== undefined ? { resamples } : {}),
      ...(rest.test === 'bootstrap' && seed !== undefined ? { seed } : {}),
    })),
  fc.record(
    {
      kind: fc.constant('convergence' as const),
      metric: key,
      minDecrease: num(0, 1),
      window: fc.integer({ min: 1, max: 10 }),
    },
    { requiredKeys: ['kind', 'metric', 'minDecrease'] },
  ),
  fc.record(
    {
      kind: fc.constant('leakage' as const),
      train: fc.constant('train'),
      test: fc.constant('test'),
      maxOverlap: fc.integer({ min: 0, max: 10 }),
    },
    { requiredKeys: ['kind', 'train', 'test'] },
  ),
);

const policyArb: fc.Arbitrary<GatePolicy> = fc.record({
  name: fc.constantFrom('release', 'nightly', 'churn gate'),
  rules: fc.array(
    fc.tuple(ruleArb, common).map(([rule, extra]) => ({ ...rule, ...extra }) as BuiltinRule),
    {
      minLength: 1,
      maxLength: 6,
    },
  ),
});

function issuePath(value: unknown): readonly PropertyKey[] {
  try {
    parseWith(gatePolicySchema, value, 'gate policy');
  } catch (error) {
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    return (error as { issues: { path: PropertyKey[] }[] }).issues[0]!.path;
  }
  return expect.unreachable('expected a ValidationError');
}

describe('gatePolicySchema', () => {
  it('round-trips every valid policy through JSON and the schema unchanged (no defaults added)', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const json = JSON.parse(JSON.stringify(policy)) as unknown;
        expect(json).toEqual(policy);
        expect(gatePolicySchema.parse(json)).toEqual(policy);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts the examples of API.md', () => {
    const policy = {
      name: 'release',
      rules: [
        { kind: 'metric', metric: 'auc', min: 0.8, severity: 'block' },
        {
          kind: 'compare',
          metric: 'auc',
          baseline: 'champion',
          higherIsBetter: true,
          minAbsoluteChange: 0.01,
        },
        { kind: 'fairness', metric: 'disparate_impact_ratio', sensitive: 'sex', min: 0.8 },
        { kind: 'latency', percentile: 99, maxMs: 250 },
        { kind: 'cost', metric: 'usdPer1k', max: 0.4 },
        { kind: 'drift', maxShare: 0.3 },
        { kind: 'significance', metric: 'correct', test: 'mcnemar', alpha: 0.05 },
        { kind: 'convergence', metric: 'loss', minDecrease: 0.5 },
        { kind: 'leakage', train: 'train', test: 'test' },
      ],
    };
    expect(gatePolicySchema.parse(policy)).toEqual(policy);
  });

  it('refuses bad policies, naming the rule index and field', () => {
    const at = (rule: unknown): readonly PropertyKey[] =>
      issuePath({ name: 'p', rules: [{ kind: 'cost', metric: 'usd', max: 1 }, rule] });
    expect(at({ kind: 'nope' })).toEqual(['rules', 1, 'kind']);
    expect(at({ kind: 'latency', percentile: 0, maxMs: 1 })).toEqual(['rules', 1, 'percentile']);
    expect(at({ kind: 'latency', percentile: 101, maxMs: 1 })).toEqual(['rules', 1, 'percentile']);
    expect(at({ kind: 'latency', percentile: 50, maxMs: -5 })).toEqual(['rules', 1, 'maxMs']);
    expect(at({ kind: 'metric', metric: 'auc' })).toEqual(['rules', 1, 'min']);
    expect(at({ kind: 'metric', metric: 'auc', min: 2, max: 1 })).toEqual(['rules', 1, 'min']);
    expect(at({ kind: 'metric', metric: 'auc', min: Number.NaN })).toEqual(['rules', 1, 'min']);
    expect(at({ kind: 'compare', metric: 'auc', maxRelativeRegression: -0.1 })).toEqual([
      'rules',
      1,
      'maxRelativeRegression',
    ]);
    expect(at({ kind: 'compare', metric: 'auc', baseline: 'production' })).toEqual([
      'rules',
      1,
      'baseline',
    ]);
    expect(
      at({ kind: 'fairness', metric: 'disparate_impact_ratio', sensitive: 's', min: -0.2 }),
    ).toEqual(['rules', 1, 'min']);
    expect(at({ kind: 'fairness', metric: 'accuracy_difference', sensitive: 's' })).toEqual([
      'rules',
      1,
      'metric',
    ]);
    expect(at({ kind: 'drift', maxShare: -0.1 })).toEqual(['rules', 1, 'maxShare']);
    expect(at({ kind: 'significance', metric: 'c', test: 'ttest' })).toEqual(['rules', 1, 'test']);
    expect(at({ kind: 'significance', metric: 'c', test: 'mcnemar', alpha: 1 })).toEqual([
      'rules',
      1,
      'alpha',
    ]);
    expect(at({ kind: 'significance', metric: 'c', test: 'mcnemar', resamples: 500 })).toEqual([
      'rules',
      1,
      'resamples',
    ]);
    expect(at({ kind: 'significance', metric: 'c', test: 'bootstrap', resamples: 10 })).toEqual([
      'rules',
      1,
      'resamples',
    ]);
    expect(at({ kind: 'convergence', metric: 'loss', minDecrease: -0.5 })).toEqual([
      'rules',
      1,
      'minDecrease',
    ]);
    expect(at({ kind: 'leakage', train: 'x', test: 'x' })).toEqual(['rules', 1, 'test']);
    expect(at({ kind: 'leakage', train: 'x', test: 'y', maxOverlap: -1 })).toEqual([
      'rules',
      1,
      'maxOverlap',
    ]);
    expect(at({ kind: 'cost', metric: 'usd', max: 1, severity: 'fatal' })).toEqual([
      'rules',
      1,
      'severity',
    ]);
  });

  it('refuses unknown fields, so a typo cannot silently drop a threshold', () => {
    expect(
      issuePath({ name: 'p', rules: [{ kind: 'compare', metric: 'auc', minRelativeChnage: 0.1 }] }),
    ).toEqual(['rules', 0]);
  });

  it('refuses an empty rule list and a bad name', () => {
    expect(issuePath({ name: 'p', rules: [] })).toEqual(['rules']);
    expect(issuePath({ name: '', rules: [{ kind: 'drift' }] })).toEqual(['name']);
  });
});

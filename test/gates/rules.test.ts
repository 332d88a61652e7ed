import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import type { DatasetDriftReport } from '../../src/drift/types.js';
import type { Evidence } from '../../src/gates/evidence.js';
import { evaluateCompareRule } from '../../src/gates/rules/compare.js';
import { evaluateConvergenceRule } from '../../src/gates/rules/convergence.js';
import { evaluateCostRule } from '../../src/gates/rules/cost.js';
import { evaluateDriftRule } from '../../src/gates/rules/drift.js';
import { evaluateFairnessRule } from '../../src/gates/rules/fairness.js';
import { evaluateLatencyRule } from '../../src/gates/rules/latency.js';
import { evaluateLeakageRule } from '../../src/gates/rules/leakage.js';
import { evaluateMetricRule } from '../../src/gates/rules/metric.js';

const withMetrics = (
  candidate: Record<string, number>,
  champion?: Record<string, number>,
): Evidence =>
  champion === undefined
    ? { candidate: { metrics: candidate } }
    : { candidate: { metrics: candidate }, champion: { metrics: champion } };

function expectValidation(fn: () => unknown, path: readonly PropertyKey[]): void {
  try {
    fn();
  } catch (error) {
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect((error as { issues: { path: PropertyKey[] }[] }).issues[0]!.path).toEqual(path);
    return;
  }
  expect.unreachable('expected a ValidationError');
}

describe('metric rule', () => {
  it('checks min and max inclusively', () => {
    const rule = { kind: 'metric', metric: 'auc', min: 0.8, max: 0.95 } as const;
    expect(evaluateMetricRule(rule, withMetrics({ auc: 0.8 })).decision).toBe('pass');
    expect(evaluateMetricRule(rule, withMetrics({ auc: 0.95 })).decision).toBe('pass');
    const low = evaluateMetricRule(rule, withMetrics({ auc: 0.79 }));
    expect(low).toMatchObject({
      decision: 'fail',
      observed: 0.79,
      expected: { min: 0.8, max: 0.95 },
    });
    expect(low.message).toContain('< min 0.8');
    expect(evaluateMetricRule(rule, withMetrics({ auc: 0.96 })).message).toContain('> max 0.95');
  });

  it('fails on a missing metric, naming it, and on NaN', () => {
    const rule = { kind: 'metric', metric: 'auc', min: 0.8 } as const;
    const absent = evaluateMetricRule(rule, withMetrics({ f1: 0.9 }));
    expect(absent).toMatchObject({ decision: 'fail', observed: null });
    expect(absent.message).toContain('"auc" is missing from candidate.metrics');
    expect(evaluateMetricRule(rule, { candidate: {} }).decision).toBe('fail');
    const nan = evaluateMetricRule(rule, withMetrics({ auc: Number.NaN }));
    expect(nan).toMatchObject({ decision: 'fail', observed: 'NaN' });
    expect(
      evaluateMetricRule(
        { kind: 'metric', metric: 'loss', max: 1 },
        withMetrics({ loss: Number.NEGATIVE_INFINITY }),
      ).decision,
    ).toBe('fail');
  });
});

describe('compare rule', () => {
  it('divides the relative change by |baseline| (a negative champion, where MLflow fails a better candidate)', () => {
    const rule = { kind: 'compare', metric: 'score', minRelativeChange: 0.2 } as const;
    // change = -1.5 - (-2) = 0.5; relative = 0.5 / |-2| = 0.25 (MLflow: 0.5 / -2 = -0.25).
    const r = evaluateCompareRule(rule, withMetrics({ score: -1.5 }, { score: -2 }));
    expect(r.decision).toBe('pass');
    expect(r.observed).toEqual({
      candidate: -1.5,
      champion: -2,
      change: 0.5,
      relativeChange: 0.25,
    });
    // A worse candidate stays worse: -2.5 vs -2 is a relative change of -0.25.
    const worse = evaluateCompareRule(rule, withMetrics({ score: -2.5 }, { score: -2 }));
    expect(worse).toMatchObject({ decision: 'fail', observed: { relativeChange: -0.25 } });
  });

  it('orients changes for lower-is-better metrics', () => {
    const rule = {
      kind: 'compare',
      metric: 'rmse',
      higherIsBetter: false,
      minRelativeChange: 0.1,
    } as const;
    // (10 - 9) / 10 = 0.1, exactly the threshold.
    expect(evaluateCompareRule(rule, withMetrics({ rmse: 9 }, { rmse: 10 })).decision).toBe('pass');
    const r = evaluateCompareRule(rule, withMetrics({ rmse: 9.5 }, { rmse: 10 }));
    expect(r).toMatchObject({ decision: 'fail', observed: { change: 0.5, relativeChange: 0.05 } });
    const abs = {
      kind: 'compare',
      metric: 'rmse',
      higherIsBetter: false,
      minAbsoluteChange: 1,
    } as const;
    expect(evaluateCompareRule(abs, withMetrics({ rmse: 9 }, { rmse: 10 })).decision).toBe('pass');
    expect(evaluateCompareRule(abs, withMetrics({ rmse: 11 }, { rmse: 10 })).decision).toBe('fail');
  });

  it('with a zero baseline, requires an improvement of at least 1e-10 for relative checks', () => {
    const rule = { kind: 'compare', metric: 'm', minRelativeChange: 0.5 } as const;
    const tiny = evaluateCompareRule(rule, withMetrics({ m: 1e-11 }, { m: 0 }));
    expect(tiny).toMatchObject({ decision: 'fail', observed: { relativeChange: null } });
    expect(tiny.message).toContain('champion is 0');
    expect(evaluateCompareRule(rule, withMetrics({ m: 2e-10 }, { m: 0 })).decision).toBe('pass');
    const lower = {
      kind: 'compare',
      metric: 'm',
      higherIsBetter: false,
      minRelativeChange: 0,
    } as const;
    expect(evaluateCompareRule(lower, withMetrics({ m: -1e-9 }, { m: 0 })).decision).toBe('pass');
    expect(evaluateCompareRule(lower, withMetrics({ m: 0 }, { m: 0 })).decision).toBe('fail');
    // A relative regression allowance with a zero champion allows no regression at all.
    const regression = { kind: 'compare', metric: 'm', maxRelativeRegression: 0.1 } as const;
    expect(evaluateCompareRule(regression, withMetrics({ m: 0 }, { m: 0 })).decision).toBe('pass');
    expect(evaluateCompareRule(regression, withMetrics({ m: -0.001 }, { m: 0 })).decision).toBe(
      'fail',
    );
  });

  it('bounds absolute and relative regressions', () => {
    const abs = { kind: 'compare', metric: 'acc', maxAbsoluteRegression: 0.01 } as const;
    expect(evaluateCompareRule(abs, withMetrics({ acc: 0.895 }, { acc: 0.9 })).decision).toBe(
      'pass',
    );
    expect(evaluateCompareRule(abs, withMetrics({ acc: 0.89 }, { acc: 0.9 })).decision).toBe(
      'pass',
    );
    expect(evaluateCompareRule(abs, withMetrics({ acc: 0.88 }, { acc: 0.9 })).decision).toBe(
      'fail',
    );
    const rel = { kind: 'compare', metric: 'score', maxRelativeRegression: 0.05 } as const;
    // Regression 0.05 of |-2| = 2.5%: allowed; 0.2 of 2 = 10%: not.
    expect(evaluateCompareRule(rel, withMetrics({ score: -2.05 }, { score: -2 })).decision).toBe(
      'pass',
    );
    expect(evaluateCompareRule(rel, withMetrics({ score: -2.2 }, { score: -2 })).decision).toBe(
      'fail',
    );
  });

  it('passes a change equal to the threshold despite float rounding (0.85 - 0.8 vs 0.05)', () => {
    const rule = { kind: 'compare', metric: 'acc', minAbsoluteChange: 0.05 } as const;
    expect(0.85 - 0.8 < 0.05).toBe(true);
    expect(evaluateCompareRule(rule, withMetrics({ acc: 0.85 }, { acc: 0.8 })).decision).toBe(
      'pass',
    );
    expect(evaluateCompareRule(rule, withMetrics({ acc: 0.8499 }, { acc: 0.8 })).decision).toBe(
      'fail',
    );
  });

  it('without thresholds requires the candidate not to be worse', () => {
    const rule = { kind: 'compare', metric: 'acc' } as const;
    const same = evaluateCompareRule(rule, withMetrics({ acc: 0.9 }, { acc: 0.9 }));
    expect(same).toMatchObject({
      decision: 'pass',
      expected: { higherIsBetter: true, maxAbsoluteRegression: 0 },
    });
    expect(evaluateCompareRule(rule, withMetrics({ acc: 0.89 }, { acc: 0.9 })).decision).toBe(
      'fail',
    );
  });

  it('fails on a missing champion, missing metric or NaN, naming what is missing', () => {
    const rule = { kind: 'compare', metric: 'acc', minAbsoluteChange: 0 } as const;
    expect(evaluateCompareRule(rule, withMetrics({ acc: 0.9 })).message).toContain(
      'no champion evidence',
    );
    expect(evaluateCompareRule(rule, withMetrics({}, { acc: 0.9 })).message).toContain(
      'missing from candidate.metrics',
    );
    expect(evaluateCompareRule(rule, withMetrics({ acc: 0.9 }, {})).message).toContain(
      'missing from champion.metrics',
    );
    const nan = evaluateCompareRule(rule, withMetrics({ acc: Number.NaN }, { acc: 0.9 }));
    expect(nan).toMatchObject({ decision: 'fail', observed: { candidate: 'NaN', champion: 0.9 } });
  });
});

describe('fairness rule', () => {
  // Group a: predictions 1,1,0,0 labels 1,0,1,0 -> selection 0.5, TPR 1/2, FPR 1/2.
  // Group b: predictions 1,0,0,0 labels 1,1,0,0 -> selection 0.25, TPR 1/2, FPR 0.
  const evidence: Evidence = {
    candidate: {
      predictions: [1, 1, 0, 0, 1, 0, 0, 0],
      labels: [1, 0, 1, 0, 1, 1, 0, 0],
      groups: { sex: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'] },
    },
  };

  it('demographic parity difference = max - min selection rate, per group in observed', () => {
    const r = evaluateFairnessRule(
      { kind: 'fairness', metric: 'demographic_parity_difference', sensitive: 'sex', max: 0.25 },
      evidence,
    );
    expect(r.decision).toBe('pass');
    expect(r.observed).toEqual({
      value: 0.25,
      groups: { a: { count: 4, selectionRate: 0.5 }, b: { count: 4, selectionRate: 0.25 } },
    });
    const strict = evaluateFairnessRule(
      { kind: 'fairness', metric: 'demographic_parity_difference', sensitive: 'sex' },
      evidence,
    );
    expect(strict).toMatchObject({ decision: 'fail', expected: { max: 0.1 } });
  });

  it('equalized odds difference = max(TPR spread, FPR spread)', () => {
    const r = evaluateFairnessRule(
      { kind: 'fairness', metric: 'equalized_odds_difference', sensitive: 'sex', max: 0.5 },
      evidence,
    );
    expect(r.decision).toBe('pass');
    expect((r.observed as { value: number }).value).toBe(0.5);
    expect((r.observed as { groups: Record<string, unknown> }).groups.b).toEqual({
      count: 4,
      selectionRate: 0.25,
      positives: 2,
      negatives: 2,
      truePositiveRate: 0.5,
      falsePositiveRate: 0,
    });
  });

  it('disparate impact ratio = min / max selection rate, default min 0.8', () => {
    const r = evaluateFairnessRule(
      { kind: 'fairness', metric: 'disparate_impact_ratio', sensitive: 'sex' },
      evidence,
    );
    expect(r).toMatchObject({ decision: 'fail', expected: { min: 0.8 }, observed: { value: 0.5 } });
    const allZero: Evidence = { candidate: { predictions: [0, 0], groups: { g: ['x', 'y'] } } };
    const undefinedRatio = evaluateFairnessRule(
      { kind: 'fairness', metric: 'disparate_impact_ratio', sensitive: 'g' },
      allZero,
    );
    expect(undefinedRatio).toMatchObject({ decision: 'fail', observed: { value: null } });
    expect(undefinedRatio.message).toContain('0/0');
  });

  it('reports a group without positive labels instead of dividing by zero', () => {
    const e: Evidence = {
      candidate: {
        predictions: [1, 0, 1, 0],
        labels: [1, 0, 0, 0],
        groups: { g: ['a', 'a', 'b', 'b'] },
      },
    };
    const r = evaluateFairnessRule(
      { kind: 'fairness', metric: 'equalized_odds_difference', sensitive: 'g', max: 1 },
      e,
    );
    expect(r.decision).toBe('fail');
    expect(r.message).toContain('no positive labels in "b"');
    const groups = (r.observed as { groups: Record<string, Record<string, unknown>> }).groups;
    expect(groups.b).toMatchObject({
      positives: 0,
      truePositiveRate: null,
      falsePositiveRate: 0.5,
    });
  });

  it('fails on missing predictions, sensitive attribute or labels; NaN fails', () => {
    const rule = {
      kind: 'fairness',
      metric: 'equalized_odds_difference',
      sensitive: 'race',
    } as const;
    expect(evaluateFairnessRule(rule, { candidate: {} }).message).toContain(
      'candidate.predictions is missing',
    );
    expect(evaluateFairnessRule(rule, evidence).message).toContain(
      '"race" is missing from candidate.groups',
    );
    const noLabels: Evidence = { candidate: { predictions: [1], groups: { race: ['x'] } } };
    expect(evaluateFairnessRule(rule, noLabels).message).toContain('candidate.labels is missing');
    const nan: Evidence = {
      candidate: { predictions: [1, Number.NaN], labels: [1, 0], groups: { race: ['x', 'y'] } },
    };
    expect(evaluateFairnessRule(rule, nan).message).toContain('predictions[1] is NaN');
  });

  it('refuses misaligned arrays and non-binary predictions with ValidationError', () => {
    const rule = {
      kind: 'fairness',
      metric: 'equalized_odds_difference',
      sensitive: 'sex',
    } as const;
    const shortLabels: Evidence = { candidate: { ...evidence.candidate, labels: [1, 0] } };
    expectValidation(() => evaluateFairnessRule(rule, shortLabels), ['candidate', 'labels']);
    const shortGroups: Evidence = { candidate: { ...evidence.candidate, groups: { sex: ['a'] } } };
    expectValidation(() => evaluateFairnessRule(rule, shortGroups), ['candidate', 'groups', 'sex']);
    const scores: Evidence = {
      candidate: { ...evidence.candidate, predictions: [0.7, 1, 0, 0, 1, 0, 0, 0] },
    };
    expectValidation(() => evaluateFairnessRule(rule, scores), ['candidate', 'predictions', 0]);
  });
});

describe('latency rule', () => {
  it('uses NumPy linear interpolation: p90 of 100..500 is 460', () => {
    const e: Evidence = { candidate: { latenciesMs: [500, 100, 300, 200, 400] } };
    const ok = evaluateLatencyRule({ kind: 'latency', percentile: 90, maxMs: 460 }, e);
    expect(ok).toMatchObject({ decision: 'pass', observed: 460 });
    expect(evaluateLatencyRule({ kind: 'latency', percentile: 90, maxMs: 459.9 }, e).decision).toBe(
      'fail',
    );
    expect(evaluateLatencyRule({ kind: 'latency', percentile: 100, maxMs: 500 }, e).observed).toBe(
      500,
    );
    const typed: Evidence = { candidate: { latenciesMs: Float64Array.of(1, 2, 3, 4) } };
    expect(
      evaluateLatencyRule({ kind: 'latency', percentile: 95, maxMs: 10 }, typed).observed,
    ).toBeCloseTo(3.85, 12);
  });

  it('fails on missing, empty or NaN latencies; refuses negative ones', () => {
    const rule = { kind: 'latency', percentile: 99, maxMs: 100 } as const;
    expect(evaluateLatencyRule(rule, { candidate: {} }).message).toContain(
      'latenciesMs is missing',
    );
    expect(evaluateLatencyRule(rule, { candidate: { latenciesMs: [] } }).message).toContain(
      'empty',
    );
    expect(
      evaluateLatencyRule(rule, { candidate: { latenciesMs: [1, Number.NaN] } }).decision,
    ).toBe('fail');
    expectValidation(
      () => evaluateLatencyRule(rule, { candidate: { latenciesMs: [1, -2] } }),
      ['candidate', 'latenciesMs', 1],
    );
  });
});

describe('cost rule', () => {
  it('checks a named cost ceiling inclusively and fails when it is missing or NaN', () => {
    const rule = { kind: 'cost', metric: 'usdPer1k', max: 0.5 } as const;
    expect(evaluateCostRule(rule, { candidate: { costs: { usdPer1k: 0.5 } } }).decision).toBe(
      'pass',
    );
    expect(evaluateCostRule(rule, { candidate: { costs: { usdPer1k: 0.51 } } }).decision).toBe(
      'fail',
    );
    expect(evaluateCostRule(rule, { candidate: { costs: {} } }).message).toContain(
      '"usdPer1k" is missing',
    );
    expect(
      evaluateCostRule(rule, { candidate: { costs: { usdPer1k: Number.NaN } } }),
    ).toMatchObject({
      decision: 'fail',
      observed: 'NaN',
    });
  });
});

describe('drift rule', () => {
  const column = (drifted: boolean, pValue: number) => ({
    method: 'ks',
    statistic: 0.3,
    pValue,
    threshold: 0.05,
    drifted,
    kind: 'p_value' as const,
    missing: { reference: 0, current: 0 },
  });
  const report: DatasetDriftReport = {
    drifted: false,
    share: 0.25,
    driftedColumns: 1,
    columns: {
      x: column(true, 0.001),
      y: column(false, 0.4),
      z: column(false, 0.3),
      w: column(false, 0.9),
    },
    correction: 'none',
    driftShare: 0.5,
  };

  it('checks the share of drifted columns inclusively', () => {
    const ok = evaluateDriftRule(
      { kind: 'drift', maxShare: 0.25 },
      { candidate: {}, drift: report },
    );
    expect(ok).toMatchObject({
      decision: 'pass',
      observed: { share: 0.25, driftedColumns: 1, testedColumns: 4 },
    });
    expect(
      evaluateDriftRule({ kind: 'drift', maxShare: 0.2 }, { candidate: {}, drift: report })
        .decision,
    ).toBe('fail');
  });

  it('checks a named column, and fails when it is absent', () => {
    const x = evaluateDriftRule({ kind: 'drift', column: 'x' }, { candidate: {}, drift: report });
    expect(x).toMatchObject({
      decision: 'fail',
      observed: { column: { name: 'x', drifted: true, pValue: 0.001 } },
    });
    expect(
      evaluateDriftRule({ kind: 'drift', column: 'y' }, { candidate: {}, drift: report }).decision,
    ).toBe('pass');
    expect(
      evaluateDriftRule({ kind: 'drift', column: 'q' }, { candidate: {}, drift: report }).message,
    ).toContain('"q" is not in the drift report');
  });

  it("uses the report's own verdict without options, and fails without a report", () => {
    expect(evaluateDriftRule({ kind: 'drift' }, { candidate: {}, drift: report }).decision).toBe(
      'pass',
    );
    const drifted = { ...report, drifted: true };
    expect(evaluateDriftRule({ kind: 'drift' }, { candidate: {}, drift: drifted }).decision).toBe(
      'fail',
    );
    expect(evaluateDriftRule({ kind: 'drift', maxShare: 1 }, { candidate: {} }).message).toContain(
      'no drift report',
    );
  });
});

describe('convergence rule', () => {
  it('requires the relative decrease from start to end', () => {
    const rule = { kind: 'convergence', metric: 'loss', minDecrease: 0.5 } as const;
    const r = evaluateConvergenceRule(rule, { candidate: { history: { loss: [1, 0.8, 0.5] } } });
    expect(r).toMatchObject({
      decision: 'pass',
      observed: { start: 1, end: 0.5, decrease: 0.5, length: 3 },
    });
    expect(
      evaluateConvergenceRule(rule, { candidate: { history: { loss: [1, 0.8, 0.6] } } }).decision,
    ).toBe('fail');
    // A negative start (e.g. a log-likelihood loss): -1 -> -2 is a decrease of 1 / |-1| = 1.
    expect(
      evaluateConvergenceRule(rule, { candidate: { history: { loss: [-1, -2] } } }).decision,
    ).toBe('pass');
  });

  it('averages the first and last `window` values', () => {
    const rule = { kind: 'convergence', metric: 'loss', minDecrease: 0.47, window: 2 } as const;
    const r = evaluateConvergenceRule(rule, {
      candidate: { history: { loss: [1, 0.9, 0.6, 0.4] } },
    });
    // start 0.95, end 0.5, decrease 0.45 / 0.95 = 0.4736...
    expect(r.decision).toBe('pass');
    expect((r.observed as { decrease: number }).decrease).toBeCloseTo(0.45 / 0.95, 14);
    expect(
      evaluateConvergenceRule(rule, { candidate: { history: { loss: [1, 0.9, 0.6] } } }).message,
    ).toContain('at least 4');
  });

  it('fails on NaN or infinity (divergence), a missing history and a zero start', () => {
    const rule = { kind: 'convergence', metric: 'loss', minDecrease: 0 } as const;
    const nan = evaluateConvergenceRule(rule, {
      candidate: { history: { loss: [1, Number.NaN, 0.1] } },
    });
    expect(nan).toMatchObject({ decision: 'fail', observed: { firstNonFinite: 1 } });
    expect(
      evaluateConvergenceRule(rule, {
        candidate: { history: { loss: [1, Number.POSITIVE_INFINITY] } },
      }).decision,
    ).toBe('fail');
    expect(evaluateConvergenceRule(rule, { candidate: {} }).message).toContain(
      'candidate.history.loss is missing',
    );
    expect(
      evaluateConvergenceRule(rule, { candidate: { history: { loss: [0, 0] } } }).message,
    ).toContain('starts at 0');
  });
});

describe('leakage rule', () => {
  it('counts held-out rows whose digest is among the training digests', () => {
    const e: Evidence = {
      candidate: { rowDigests: { train: ['a', 'b', 'c'], test: ['c', 'd', 'c'] } },
    };
    const r = evaluateLeakageRule({ kind: 'leakage', train: 'train', test: 'test' }, e);
    expect(r).toMatchObject({
      decision: 'fail',
      observed: { overlap: 2, distinct: 1, train: 3, test: 3, examples: ['c'] },
      expected: { maxOverlap: 0 },
    });
    expect(
      evaluateLeakageRule({ kind: 'leakage', train: 'train', test: 'test', maxOverlap: 2 }, e)
        .decision,
    ).toBe('pass');
    const clean: Evidence = { candidate: { rowDigests: { train: ['a'], test: ['b'] } } };
    expect(
      evaluateLeakageRule({ kind: 'leakage', train: 'train', test: 'test' }, clean).decision,
    ).toBe('pass');
  });

  it('fails when a split is missing or empty', () => {
    const rule = { kind: 'leakage', train: 'train', test: 'test' } as const;
    expect(evaluateLeakageRule(rule, { candidate: {} }).message).toContain(
      'rowDigests.train is missing',
    );
    expect(
      evaluateLeakageRule(rule, { candidate: { rowDigests: { train: ['a'] } } }).message,
    ).toContain('rowDigests.test is missing');
    expect(
      evaluateLeakageRule(rule, { candidate: { rowDigests: { train: ['a'], test: [] } } }).message,
    ).toContain('empty');
  });
});

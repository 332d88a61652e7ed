import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import type { Evidence } from '../../src/gates/evidence.js';
import { mcnemar } from '../../src/gates/mcnemar.js';
import { evaluateSignificanceRule } from '../../src/gates/rules/significance.js';
import type { SignificanceRule } from '../../src/gates/schema.js';
import { pairedBootstrap, percentileSorted } from '../../src/gates/stats.js';

const samples = (
  candidate: ArrayLike<number>,
  champion: ArrayLike<number>,
  metric = 'correct',
): Evidence => ({
  candidate: { samples: { [metric]: candidate } },
  champion: { samples: { [metric]: champion } },
});

describe('percentileSorted (numpy.percentile, method linear)', () => {
  it('matches hand-computed NumPy values', () => {
    expect(percentileSorted([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentileSorted([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 14);
    expect(percentileSorted([10, 20, 30, 40, 50], 90)).toBe(46);
    expect(percentileSorted([10, 20, 30, 40, 50], 100)).toBe(50);
    expect(percentileSorted([7], 30)).toBe(7);
    expect(percentileSorted([], 50)).toBeNaN();
  });

  it('stays within the neighbouring values and is monotone in p', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (values, p, q) => {
          const sorted = [...values].sort((a, b) => a - b);
          const x = percentileSorted(sorted, p);
          expect(x).toBeGreaterThanOrEqual(sorted[0]!);
          expect(x).toBeLessThanOrEqual(sorted[sorted.length - 1]!);
          const [lo, hi] = p <= q ? [p, q] : [q, p];
          expect(percentileSorted(sorted, lo)).toBeLessThanOrEqual(percentileSorted(sorted, hi));
        },
      ),
    );
  });
});

describe('mcnemar (statsmodels semantics)', () => {
  it('uses the exact binomial test below 25 discordant pairs', () => {
    // 2 * P[Binom(12, 1/2) <= 2] = 2 * 79 / 4096 (scipy.stats.binomtest(2, 12).pvalue).
    expect(mcnemar(10, 2)).toEqual({ statistic: 2, pValue: 0.03857421875, method: 'exact' });
    expect(mcnemar(0, 0)).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
    expect(mcnemar(24, 0).pValue).toBe(2 * 0.5 ** 24);
  });

  it('uses chi-square with continuity correction from 25 discordant pairs', () => {
    const r = mcnemar(30, 10);
    expect(r.method).toBe('chi2');
    expect(r.statistic).toBe(361 / 40); // (|30 - 10| - 1)^2 / 40
    expect(r.pValue).toBeCloseTo(0.002663119259138558, 14); // scipy.stats.chi2.sf(9.025, 1)
  });
});

describe('pairedBootstrap', () => {
  // Reference: the same procedure in Python (sfc32 seeded from SHA-256 of the seed JSON,
  // rejection-sampled indices, numpy.mean and numpy.percentile).
  const candidate = [0.91, 0.42, 0.77, 0.35, 0.64, 0.88, 0.12, 0.56, 0.73, 0.29, 0.81];
  const champion = [0.85, 0.47, 0.7, 0.31, 0.66, 0.79, 0.15, 0.5, 0.69, 0.3, 0.74];

  it('reproduces an independent implementation', () => {
    const r = pairedBootstrap(candidate, champion, { resamples: 137, alpha: 0.1, seed: 'keel' });
    expect(r.meanDifference).toBeCloseTo(0.029090909090909108, 15);
    expect(r.lower).toBeCloseTo(0.005454545454545465, 15);
    expect(r.upper).toBeCloseTo(0.05109090909090908, 15);
    const other = pairedBootstrap(candidate, champion, { resamples: 137, alpha: 0.1, seed: 7 });
    expect(other.lower).toBeCloseTo(0.004545454545454553, 15);
    expect(other.upper).toBeCloseTo(0.053636363636363656, 15);
  });

  it('is deterministic for a seed and gives a point interval for constant differences', () => {
    const a = pairedBootstrap(candidate, champion, { resamples: 500, alpha: 0.05, seed: 's' });
    expect(
      pairedBootstrap(candidate, champion, { resamples: 500, alpha: 0.05, seed: 's' }),
    ).toEqual(a);
    expect(pairedBootstrap([3, 4, 5], [1, 2, 3], { resamples: 100, alpha: 0.05, seed: 1 })).toEqual(
      {
        meanDifference: 2,
        lower: 2,
        upper: 2,
      },
    );
  });
});

describe('significance rule', () => {
  const rule = (fields: Partial<SignificanceRule>): SignificanceRule => ({
    kind: 'significance',
    metric: 'correct',
    test: 'bootstrap',
    ...fields,
  });

  it('bootstrap: passes when the CI of the mean difference is above 0 (higher is better)', () => {
    const better = evaluateSignificanceRule(rule({}), samples([1, 1, 1, 1], [0, 0, 0, 0]));
    expect(better).toMatchObject({
      decision: 'pass',
      observed: { meanDifference: 1, lower: 1, upper: 1, n: 4 },
      expected: {
        test: 'bootstrap',
        alpha: 0.05,
        resamples: 2000,
        seed: 'keel',
        require: 'better',
      },
    });
    const same = evaluateSignificanceRule(rule({}), samples([1, 0, 1], [1, 0, 1]));
    expect(same.decision).toBe('fail');
    expect(same.message).toContain('no significant difference');
    expect(
      evaluateSignificanceRule(rule({ require: 'not_worse' }), samples([1, 0, 1], [1, 0, 1]))
        .decision,
    ).toBe('pass');
    expect(
      evaluateSignificanceRule(rule({ require: 'not_worse' }), samples([0, 0], [1, 1])).decision,
    ).toBe('fail');
  });

  it('bootstrap: lower is better flips the side', () => {
    const loss = rule({ higherIsBetter: false });
    expect(evaluateSignificanceRule(loss, samples([0.1, 0.2, 0.1], [0.5, 0.6, 0.7])).decision).toBe(
      'pass',
    );
    expect(evaluateSignificanceRule(loss, samples([0.5, 0.6, 0.7], [0.1, 0.2, 0.1])).decision).toBe(
      'fail',
    );
  });

  it('bootstrap is deterministic: the same report twice, and the seed changes it', () => {
    const c = Array.from({ length: 50 }, (_, i) => Math.sin(i) + 0.1);
    const h = Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.3));
    const a = evaluateSignificanceRule(rule({ resamples: 300 }), samples(c, h));
    expect(evaluateSignificanceRule(rule({ resamples: 300 }), samples(c, h))).toEqual(a);
    expect(
      evaluateSignificanceRule(rule({ resamples: 300, seed: 2 }), samples(c, h)).observed,
    ).not.toEqual(a.observed);
  });

  it('mcnemar: significantly better on paired correctness', () => {
    // Candidate alone right on 10 examples, champion alone on 2, 5 ties: p = 0.0386.
    const cand = [...Array(10).fill(1), ...Array(2).fill(0), 1, 1, 1, 0, 0];
    const champ = [...Array(10).fill(0), ...Array(2).fill(1), 1, 1, 1, 0, 0];
    const r = evaluateSignificanceRule(rule({ test: 'mcnemar' }), samples(cand, champ));
    expect(r).toMatchObject({
      decision: 'pass',
      observed: {
        candidateBetter: 10,
        championBetter: 2,
        pValue: 0.03857421875,
        method: 'exact',
        n: 17,
      },
    });
    expect(
      evaluateSignificanceRule(rule({ test: 'mcnemar', alpha: 0.01 }), samples(cand, champ))
        .decision,
    ).toBe('fail');
    // Swapped: the champion is significantly better; not_worse fails too.
    expect(
      evaluateSignificanceRule(
        rule({ test: 'mcnemar', require: 'not_worse' }),
        samples(champ, cand),
      ).decision,
    ).toBe('fail');
    // With higherIsBetter false, 1 means an error: the roles flip.
    const errors = evaluateSignificanceRule(
      rule({ test: 'mcnemar', higherIsBetter: false }),
      samples(champ, cand),
    );
    expect(errors).toMatchObject({
      decision: 'pass',
      observed: { candidateBetter: 10, championBetter: 2 },
    });
  });

  it('mann_whitney on latencies: by default passes unless the candidate is significantly slower', () => {
    const fast = Array.from({ length: 10 }, (_, i) => i);
    const slow = Array.from({ length: 10 }, (_, i) => 20 + i);
    const lat = (candidate: number[], champion: number[]): Evidence => ({
      candidate: { latenciesMs: candidate },
      champion: { latenciesMs: champion },
    });
    const r = rule({ metric: 'latenciesMs', test: 'mann_whitney' });
    const slower = evaluateSignificanceRule(r, lat(slow, fast));
    expect(slower).toMatchObject({
      decision: 'fail',
      observed: { statistic: 100, candidateMedian: 24.5, championMedian: 4.5 },
      expected: { higherIsBetter: false, require: 'not_worse' },
    });
    expect((slower.observed as { pValue: number }).pValue).toBeLessThan(0.001);
    expect(evaluateSignificanceRule(r, lat(fast, slow)).decision).toBe('pass');
    expect(evaluateSignificanceRule(r, lat(fast, fast)).decision).toBe('pass');
    expect(evaluateSignificanceRule({ ...r, require: 'better' }, lat(fast, slow)).decision).toBe(
      'pass',
    );
    expect(evaluateSignificanceRule({ ...r, require: 'better' }, lat(fast, fast)).decision).toBe(
      'fail',
    );
    // Small samples: U = 9, exact p = 0.1 (scipy.stats.mannwhitneyu([10, 20, 30], [1, 2, 3])).
    const small = evaluateSignificanceRule(r, lat([10, 20, 30], [1, 2, 3]));
    expect(small).toMatchObject({ decision: 'pass', observed: { statistic: 9 } });
    expect((small.observed as { pValue: number }).pValue).toBeCloseTo(0.1, 12);
  });

  it('fails on a missing champion, missing samples or NaN, naming what is missing', () => {
    expect(
      evaluateSignificanceRule(rule({}), { candidate: { samples: { correct: [1] } } }).message,
    ).toContain('no champion evidence');
    expect(
      evaluateSignificanceRule(rule({}), { candidate: {}, champion: { samples: { correct: [1] } } })
        .message,
    ).toContain('candidate.samples.correct is missing');
    expect(
      evaluateSignificanceRule(rule({}), { candidate: { samples: { correct: [1] } }, champion: {} })
        .message,
    ).toContain('champion.samples.correct is missing');
    const nan = evaluateSignificanceRule(rule({}), samples([1, Number.NaN], [0, 0]));
    expect(nan.decision).toBe('fail');
    expect(nan.message).toContain('candidate.samples.correct[1] is NaN');
    expect(evaluateSignificanceRule(rule({}), samples([], [])).message).toContain('empty');
  });

  it('refuses unpaired samples for paired tests and non-binary values for McNemar', () => {
    const check = (fn: () => unknown, path: PropertyKey[]): void => {
      try {
        fn();
        expect.unreachable();
      } catch (error) {
        expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
        expect((error as { issues: { path: PropertyKey[] }[] }).issues[0]!.path).toEqual(path);
      }
    };
    check(
      () => evaluateSignificanceRule(rule({}), samples([1, 0], [1])),
      ['champion', 'samples', 'correct'],
    );
    check(
      () => evaluateSignificanceRule(rule({ test: 'mcnemar' }), samples([1, 2], [1, 0])),
      ['candidate', 'samples', 'correct', 1],
    );
  });
});

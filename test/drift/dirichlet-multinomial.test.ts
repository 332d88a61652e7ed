import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  betaBinomialCdf,
  betaBinomialLogPmf,
  betaBinomialSf,
  betaBinomialTwoSided,
  linearMoments,
  pearson3Cdf,
  pearson3Sf,
  pearson3TwoSided,
  scoreSums,
} from '../../src/drift/distributions/dirichlet-multinomial.js';
import { regularizedGammaQ } from '../../src/drift/distributions/gamma.js';
import { normalCdf, normalSf } from '../../src/drift/distributions/normal.js';
import { normalQuantile } from '../../src/drift/distributions/normal-quantile.js';

/** Raw moments of sum g(X_t) over m Polya-urn draws with initial weights a, by enumeration. */
function enumerate(a: number[], g: number[], m: number): number[] {
  const moments = [0, 0, 0, 0];
  const walk = (depth: number, weights: number[], prob: number, s: number): void => {
    if (depth === m) {
      for (let k = 0; k < 4; k++) moments[k]! += prob * s ** (k + 1);
      return;
    }
    const total = weights.reduce((x, y) => x + y, 0);
    weights.forEach((w, b) => {
      const next = [...weights];
      next[b]! += 1;
      walk(depth + 1, next, (prob * w) / total, s + g[b]!);
    });
  };
  walk(0, a, 1, 0);
  return moments;
}

describe('normalQuantile', () => {
  it('inverts the normal CDF to 1e-12, in both tails', () => {
    fc.assert(
      fc.property(fc.double({ min: -37, max: 37, noNaN: true }), (x) => {
        // A probability near 1 has no relative precision left: invert the smaller tail.
        const back = x <= 0 ? normalQuantile(normalCdf(x)) : -normalQuantile(normalSf(x));
        expect(Math.abs(back - x)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(x)));
      }),
    );
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});

describe('Dirichlet-multinomial linear statistic', () => {
  it('has the mean, variance, skewness and kurtosis of exact enumeration', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.2, max: 5, noNaN: true }), { minLength: 2, maxLength: 4 }),
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 5 }),
        (a, scores, m) => {
          const g = scores.slice(0, a.length);
          const [e1, e2, e3, e4] = enumerate(a, g, m) as [number, number, number, number];
          const variance = e2 - e1 * e1;
          if (variance < 1e-6) return;
          const mu3 = e3 - 3 * e1 * e2 + 2 * e1 ** 3;
          const mu4 = e4 - 4 * e1 * e3 + 6 * e1 * e1 * e2 - 3 * e1 ** 4;
          const mo = linearMoments(scoreSums(a, g), m);
          expect(mo.mean).toBeCloseTo(e1, 9);
          expect(mo.variance).toBeCloseTo(variance, 8);
          expect(mo.skewness).toBeCloseTo(mu3 / variance ** 1.5, 6);
          expect(mo.excessKurtosis).toBeCloseTo(mu4 / variance ** 2 - 3, 5);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('tends to the multinomial (iid) moments as the reference grows', () => {
    const mo = linearMoments(scoreSums([1e12, 1e12], [0, 1]), 100);
    expect(mo.mean).toBeCloseTo(50, 6);
    expect(mo.variance).toBeCloseTo(25, 6); // binomial(100, 1/2)
  });
});

describe('beta-binomial tails', () => {
  it('sum the probabilities exactly, and the two tails add up to one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0.3, max: 40, noNaN: true }),
        fc.double({ min: 0.3, max: 40, noNaN: true }),
        fc.integer({ min: 0, max: 60 }),
        (m, alpha, beta, kk) => {
          const k = kk % (m + 1);
          let upper = 0;
          let lower = 0;
          for (let j = 0; j <= m; j++) {
            const p = Math.exp(betaBinomialLogPmf(j, m, alpha, beta));
            if (j >= k) upper += p;
            if (j <= k) lower += p;
          }
          expect(betaBinomialSf(k, m, alpha, beta)).toBeCloseTo(upper, 10);
          expect(betaBinomialCdf(k, m, alpha, beta)).toBeCloseTo(lower, 10);
          expect(
            betaBinomialSf(k + 1, m, alpha, beta) + betaBinomialCdf(k, m, alpha, beta),
          ).toBeCloseTo(1, 10);
          expect(betaBinomialTwoSided(k, m, alpha, beta)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stays accurate relative to tiny tail probabilities', () => {
    // Uniform prior (1, 1): P(W = j) = 1 / (m + 1) for every j.
    expect(betaBinomialSf(990, 999, 1, 1)).toBeCloseTo(10 / 1000, 12);
    const tiny = betaBinomialSf(900, 1000, 50, 500);
    expect(tiny).toBeGreaterThan(0);
    expect(tiny).toBeLessThan(1e-100);
  });
});

describe('Pearson type III tails', () => {
  it('are the normal tails without skew and the gamma tails with it', () => {
    expect(pearson3Sf(1.6448536269514722, 0)).toBeCloseTo(0.05, 14);
    expect(pearson3Cdf(-2, 0)).toBe(normalCdf(-2));
    expect(pearson3TwoSided(1.959963984540054, 0)).toBeCloseTo(0.05, 14);
    // The short side (against the skew) takes the normal's tail, never the gamma's bounded one.
    expect(pearson3TwoSided(-3.5, 0.6)).toBeCloseTo(2 * normalSf(3.5), 14);
    expect(pearson3TwoSided(3.5, -0.6)).toBeCloseTo(2 * normalSf(3.5), 14);
    expect(pearson3TwoSided(3.5, 0.6)).toBeGreaterThan(2 * normalSf(3.5));
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 2, noNaN: true }),
        fc.double({ min: -3, max: 8, noNaN: true }),
        (skew, z) => {
          const shape = 4 / (skew * skew);
          const expected = regularizedGammaQ(shape, Math.max(0, shape + (2 * z) / skew));
          expect(pearson3Sf(z, skew)).toBeCloseTo(expected, 12);
          // Negative skew mirrors the law.
          expect(pearson3Cdf(-z, -skew)).toBeCloseTo(expected, 12);
          expect(pearson3Sf(z, skew) + pearson3Cdf(z, skew)).toBeCloseTo(1, 12);
        },
      ),
    );
    // Shapes above 1e5 use Wilson-Hilferty: within 0.1% of the gamma's own tail.
    const skew = 0.006;
    const shape = 4 / (skew * skew);
    const exact = regularizedGammaQ(shape, shape + (2 * 5) / skew);
    expect(Math.abs(pearson3Sf(5, skew) / exact - 1)).toBeLessThan(1e-3);
    expect(pearson3Sf(5, skew)).toBeGreaterThan(normalSf(5));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chi2Cdf, chi2Sf, logGamma } from '../../src/drift/distributions/gamma.js';
import { erf, erfc, normalCdf, normalSf } from '../../src/drift/distributions/normal.js';
import {
  ldexp,
  maxAbsSorted,
  normalizingExponent,
  rescaleExponent,
  scaleValues,
} from '../../src/drift/distributions/scaling.js';
import { pairwiseSum } from '../../src/drift/distributions/summation.js';

/** Relative closeness, exact for zero. */
function expectClose(actual: number, expected: number, rel: number): void {
  if (expected === 0) {
    expect(Math.abs(actual)).toBeLessThanOrEqual(1e-15);
    return;
  }
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(rel);
}

describe('normal distribution (SciPy 1.10 values)', () => {
  it('matches scipy.stats.norm in the body and the far tails', () => {
    expectClose(normalCdf(-1.959963984540054), 0.025, 1e-14);
    expectClose(normalSf(30), 4.906713927147908e-198, 1e-12);
    expectClose(normalSf(-3), 0.9986501019683699, 1e-15);
    expectClose(normalCdf(0.5), 0.6914624612740131, 1e-15);
    expect(normalCdf(-40)).toBe(0);
    expect(normalSf(-40)).toBe(1);
  });
  it('erf and erfc are complementary and odd', () => {
    fc.assert(
      fc.property(fc.double({ min: -6, max: 6, noNaN: true }), (x) => {
        expect(Math.abs(erf(x) + erfc(x) - 1)).toBeLessThan(1e-15);
        expect(erf(-x)).toBe(-erf(x));
      }),
    );
  });
  it('the CDF is monotone, within [0, 1], and cdf + sf = 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -50, max: 50, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        (x, d) => {
          const a = normalCdf(x);
          const b = normalCdf(x + d);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(b).toBeLessThanOrEqual(1);
          expect(b).toBeGreaterThanOrEqual(a);
          expect(Math.abs(a + normalSf(x) - 1)).toBeLessThan(1e-15);
        },
      ),
    );
  });
});

describe('log-gamma and chi-square (SciPy 1.10 values)', () => {
  it('logGamma matches scipy.special.gammaln', () => {
    expectClose(logGamma(0.5), 0.5723649429247, 1e-15);
    expectClose(logGamma(100.5), 361.43554046777757, 1e-15);
    expectClose(logGamma(7.25), 7.0521854507385395, 1e-15);
    expectClose(logGamma(10), Math.log(362880), 1e-15);
  });
  it('chi2Sf / chi2Cdf match scipy.stats.chi2', () => {
    expectClose(chi2Sf(3.841458820694124, 1), 0.04999999999999989, 1e-12);
    expectClose(chi2Sf(100, 3), 1.5541594313896026e-21, 1e-12);
    expectClose(chi2Sf(0.5, 10), 0.999993388289439, 1e-14);
    expectClose(chi2Cdf(20, 7), 0.9944303169270544, 1e-14);
    expectClose(chi2Sf(1500, 500), 1.7082138295394291e-100, 1e-11);
    expect(chi2Sf(0, 3)).toBe(1);
    expect(chi2Sf(-1, 3)).toBe(1);
  });
  it('chi2Sf is a decreasing function within [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 50, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        (x, d, dof) => {
          const a = chi2Sf(x, dof);
          const b = chi2Sf(x + d, dof);
          expect(a).toBeLessThanOrEqual(1);
          expect(b).toBeGreaterThanOrEqual(0);
          expect(b).toBeLessThanOrEqual(a * (1 + 1e-12));
          expect(Math.abs(a + chi2Cdf(x, dof) - 1)).toBeLessThan(1e-12);
        },
      ),
    );
  });
});

describe('pairwiseSum', () => {
  it('equals numpy.sum for a known case and is exact on integers', () => {
    expect(pairwiseSum([0.1, 0.2, 0.3])).toBe(0.6000000000000001);
    const ints = Array.from({ length: 1000 }, (_, i) => i);
    expect(pairwiseSum(ints)).toBe(499500);
  });
});

describe('power-of-two rescaling', () => {
  it('ldexp multiplies by 2^k exactly across the whole exponent range', () => {
    expect(ldexp(3, -2)).toBe(0.75);
    expect(ldexp(5e-324, 1074)).toBe(1);
    expect(ldexp(1, -1074)).toBe(5e-324);
    expect(ldexp(Number.MAX_VALUE, -2046)).toBe(ldexp(Number.MAX_VALUE / 2 ** 1023, -1023));
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 2, noNaN: true }),
        fc.integer({ min: -1022, max: 1023 }),
        (x, k) => {
          expect(ldexp(ldexp(x, k), -k)).toBe(x);
        },
      ),
    );
  });

  it('rescales only outside the safe range, always into [1, 4) with an even exponent', () => {
    expect(rescaleExponent(100)).toBe(0);
    expect(rescaleExponent(0)).toBe(0);
    for (const m of [Number.MAX_VALUE, 1e200, 1e-200, 5e-324, 1e-310]) {
      const k = rescaleExponent(m);
      expect(Math.abs(k % 2), String(m)).toBe(0);
      expect(ldexp(m, k)).toBeGreaterThanOrEqual(1);
      expect(ldexp(m, k)).toBeLessThan(4);
    }
    expect(ldexp(100, normalizingExponent(100))).toBe(1.5625);
    expect(normalizingExponent(0)).toBe(0);
  });

  it('scaleValues copies (or returns the array itself for k = 0); maxAbsSorted reads the ends', () => {
    const v = Float64Array.of(-8, 1, 2);
    expect(scaleValues(v, 0)).toBe(v);
    expect([...scaleValues(v, -3)]).toEqual([-1, 0.125, 0.25]);
    expect([...scaleValues(v, 2000)].every(Number.isFinite)).toBe(false);
    expect(maxAbsSorted(v)).toBe(8);
    expect(maxAbsSorted([])).toBe(0);
  });
});

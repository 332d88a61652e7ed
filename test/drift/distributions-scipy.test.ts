import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { doaneEdges, histogramCounts, sturgesEdges } from '../../src/drift/binning.js';
import { andersonKSample } from '../../src/drift/detectors/anderson.js';
import { chiSquareHomogeneity } from '../../src/drift/detectors/categorical.js';
import {
  cramerVonMises2,
  cramerVonMisesLimitCdf,
} from '../../src/drift/detectors/cramervonmises.js';
import { ksTwoSample } from '../../src/drift/detectors/ks.js';
import { welchTTest } from '../../src/drift/detectors/ttest.js';
import { besselK } from '../../src/drift/distributions/bessel.js';
import { fisherFSf, studentTSf } from '../../src/drift/distributions/beta.js';
import { fisherExact, hypergeometricPmf } from '../../src/drift/distributions/hypergeometric.js';
import {
  kolmogorovSmirnovCdf,
  kolmogorovSmirnovSf,
  smirnovSf,
} from '../../src/drift/distributions/kolmogorov.js';

function rel(actual: number, expected: number): number {
  return actual === expected ? 0 : Math.abs(actual - expected) / Math.abs(expected);
}

// Values printed by SciPy 1.10.1 (/usr/bin/python3 on Debian 12).
const KSTWO: [number, number, number, number][] = [
  [10, 0.05, 1.0, 0.0],
  [10, 0.3, 0.27053557479999946, 0.7294644252000005],
  [10, 0.6, 0.0005681672000000003, 0.9994318328],
  [50, 0.1, 0.6623112704658186, 0.3376887295341814],
  [50, 0.2, 0.03143877776953241, 0.9685612222304676],
  [100, 0.15, 0.019839242125643017, 0.980160757874357],
  [100, 0.4, 5.947617451361663e-15, 0.999999999999994],
  [1000, 0.02, 0.8108971656895577, 0.1891028343104423],
  [1000, 0.05, 0.013012074781090332, 0.9869879197970768],
  [1000, 0.1, 3.703687096817711e-9, 0.9999999962983145],
  [5000, 0.01, 0.6954557253913853, 0.3045442746086146],
  [5739, 0.0264, 0.0006587984959591219, 0.9993412015290251],
  [200000, 0.002, 0.39995085369038097, 0.600049146309619],
  [200000, 0.004, 0.003314212822560255, 0.9966857871924533],
  [100, 0.995, 1.5777218104421636e-230, 1.0],
  [300, 0.003, 1.0, 1.8898299415434894e-158],
];

describe('kstwo (kolmogn) against SciPy 1.10 on every branch', () => {
  it('sf and cdf match: Ruben-Gambino ends, Durbin matrix, Pomeranz, Pelz-Good, Smirnov', () => {
    for (const [n, x, sf, cdf] of KSTWO) {
      expect(rel(kolmogorovSmirnovSf(x, n), sf), `sf n=${n} x=${x}`).toBeLessThan(1e-9);
      if (cdf === 0) expect(kolmogorovSmirnovCdf(x, n)).toBe(0);
      else expect(rel(kolmogorovSmirnovCdf(x, n), cdf), `cdf n=${n} x=${x}`).toBeLessThan(1e-9);
    }
  });
  it('smirnov matches scipy.special.smirnov', () => {
    expect(rel(smirnovSf(10, 0.3), 0.1354635556)).toBeLessThan(1e-9);
    expect(rel(smirnovSf(100, 0.1), 0.1265906584562817)).toBeLessThan(1e-9);
    expect(rel(smirnovSf(2000, 0.03), 0.026773982498367117)).toBeLessThan(1e-9);
    expect(rel(smirnovSf(5, 0.9), 9.999999999999989e-6)).toBeLessThan(1e-9);
  });
  it('the CDF is monotone in x and within [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (n, x, d) => {
          const a = kolmogorovSmirnovCdf(x, n);
          const b = kolmogorovSmirnovCdf(Math.min(1, x + d), n);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(b).toBeLessThanOrEqual(1);
          expect(b).toBeGreaterThanOrEqual(a - 1e-12);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('t, F, Bessel K, hypergeometric and Fisher against SciPy 1.10', () => {
  it('Student t and F tails', () => {
    expect(rel(studentTSf(2.0, 10), 0.036694017385370196)).toBeLessThan(1e-12);
    expect(rel(studentTSf(-1.3, 3.7), 0.8656666379136864)).toBeLessThan(1e-12);
    expect(rel(studentTSf(40, 2700.5), 1.7705888746486453e-275)).toBeLessThan(1e-9);
    expect(rel(fisherFSf(3, 2, 10), 0.095367431640625)).toBeLessThan(1e-12);
    expect(rel(fisherFSf(1.5, 7.5, 30), 0.20196014541586382)).toBeLessThan(1e-12);
  });
  it('K_1/4 as scipy.special.kv', () => {
    expect(rel(besselK(0.25, 1.0), 0.4307397744485814)).toBeLessThan(1e-15);
    expect(rel(besselK(0.25, 0.01), 6.165741264139234)).toBeLessThan(1e-15);
    expect(rel(besselK(0.25, 5.0), 0.0037123027320318403)).toBeLessThan(1e-15);
    expect(rel(besselK(0.25, 40.0), 8.399340675998916e-19)).toBeLessThan(1e-15);
  });
  it('hypergeometric pmf and two-sided Fisher exact', () => {
    expect(rel(hypergeometricPmf(1, 10, 4, 3), 0.5)).toBeLessThan(1e-14);
    const a = fisherExact([
      [8, 2],
      [1, 5],
    ]);
    expect(a.oddsRatio).toBe(20);
    expect(rel(a.pValue, 0.034965034965034975)).toBeLessThan(1e-12);
    expect(
      rel(
        fisherExact([
          [3, 3],
          [6, 0],
        ]).pValue,
        0.1818181818181818,
      ),
    ).toBeLessThan(1e-12);
    expect(
      rel(
        fisherExact([
          [100, 50],
          [80, 90],
        ]).pValue,
        0.00046601421345198113,
      ),
    ).toBeLessThan(1e-10);
    expect(
      rel(
        fisherExact([
          [0, 10],
          [5, 5],
        ]).pValue,
        0.032507739938080496,
      ),
    ).toBeLessThan(1e-12);
  });
  it('Cramér-von Mises limit CDF as SciPy _cdf_cvm_inf', () => {
    expect(rel(cramerVonMisesLimitCdf(0.461), 0.9498928727982415)).toBeLessThan(1e-14);
    expect(rel(cramerVonMisesLimitCdf(0.1), 0.4151265615932028)).toBeLessThan(1e-14);
    expect(rel(cramerVonMisesLimitCdf(1.5), 0.9998273037802108)).toBeLessThan(1e-14);
  });
});

describe('small-sample tests against SciPy 1.10', () => {
  const f = (a: number[]): Float64Array => Float64Array.from(a).sort();
  it('ks_2samp exact, cramervonmises_2samp exact, anderson_ksamp, chi2_contingency, Welch t', () => {
    const k = ksTwoSample(f([1, 2, 3]), f([4, 5, 6]));
    expect(k.statistic).toBe(1);
    expect(rel(k.pValue, 0.09999999999999999)).toBeLessThan(1e-12);
    const xs = Array.from({ length: 30 }, (_, i) => i / 3);
    const ys = Array.from({ length: 45 }, (_, i) => i / 4 + 1);
    const k2 = ksTwoSample(f(xs), f(ys));
    expect(rel(k2.statistic, 0.2222222222222222)).toBeLessThan(1e-15);
    expect(rel(k2.pValue, 0.306200396560441)).toBeLessThan(1e-9);
    const c = cramerVonMises2(f([1, 2, 3]), f([4, 5, 6]));
    expect(rel(c.statistic, 0.5277777777777778)).toBeLessThan(1e-14);
    expect(rel(c.pValue, 0.1)).toBeLessThan(1e-12);
    const c2 = cramerVonMises2(f([1.5, 2, 2, 3, 7, 9]), f([1, 4, 4.5, 5, 6, 6, 8]));
    expect(rel(c2.statistic, 0.19505494505494525)).toBeLessThan(1e-13);
    expect(rel(c2.pValue, 0.32226107226107226)).toBeLessThan(1e-12);
    expect(
      rel(andersonKSample(f([1, 2, 3, 4]), f([5, 6, 7, 8])).pValue, 0.010595002929560353),
    ).toBeLessThan(1e-9);
    const ad = andersonKSample(
      f([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
      f([3, 5, 7, 9, 11, 13, 15, 17, 19, 21]),
    );
    expect(rel(ad.statistic, 3.0823224572236256)).toBeLessThan(1e-12);
    expect(rel(ad.pValue, 0.018087126970373003)).toBeLessThan(1e-9);
    const chi = chiSquareHomogeneity([10, 20, 30], [15, 15, 30]);
    expect(rel(chi.statistic, 1.7142857142857144)).toBeLessThan(1e-14);
    expect(rel(chi.pValue, 0.42437284567695)).toBeLessThan(1e-12);
    const yates = chiSquareHomogeneity([12, 5], [3, 9]);
    expect(rel(yates.statistic, 4.171457749766574)).toBeLessThan(1e-14);
    expect(rel(yates.pValue, 0.04111041419430694)).toBeLessThan(1e-12);
    expect(chiSquareHomogeneity([5], [7])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
    const t = welchTTest(f([1, 2, 3, 4]), f([2, 3, 4, 5, 6]));
    expect(rel(t.statistic, -1.5666989036012806)).toBeLessThan(1e-14);
    expect(rel(t.pValue, 0.1612858562893043)).toBeLessThan(1e-12);
  });
  it('numpy bin edges and histogram counts', () => {
    expect(doaneEdges(f([1, 2, 3, 4, 10]))).toEqual([1, 2.8, 4.6, 6.4, 8.2, 10]);
    expect(histogramCounts(f([0, 1, 1, 2, 3]), [0, 1, 2, 3])).toEqual([1, 2, 2]);
    expect(sturgesEdges(f([0, 1, 2, 3]))).toEqual([0, 1, 2, 3]);
    expect(doaneEdges(f([5, 5, 5]))).toEqual([4.5, 5.5]);
  });
});

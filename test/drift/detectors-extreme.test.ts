import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { doaneEdges, sturgesEdges } from '../../src/drift/binning.js';
import { detectDrift } from '../../src/drift/dataset.js';
import { checkOutcome, defineDetector } from '../../src/drift/detectors/common.js';
import { detectors } from '../../src/drift/detectors.js';
import { ldexp } from '../../src/drift/distributions/scaling.js';
import { numericSample } from '../../src/drift/sample.js';
import type { DriftTestResult } from '../../src/drift/types.js';

const MAX = Number.MAX_VALUE;
/** Detectors whose definition yields an infinite statistic on some samples (documented). */
const INFINITE_BY_DEFINITION = new Set(['ttest', 'fisher']);

/** Calls a detector and checks the contract: a reportable result, or a KeelError. */
function outcome(name: string, a: readonly number[], b: readonly number[]): 'result' | 'refused' {
  const detector = detectors[name]!;
  let result: ReturnType<typeof detector.test>;
  try {
    result = detector.test(a, b);
  } catch (error) {
    expect(isKeelError(error), `${name} threw ${String(error)}`).toBe(true);
    return 'refused';
  }
  const where = `${name}(${JSON.stringify(a)}, ${JSON.stringify(b)})`;
  expect(Number.isNaN(result.statistic), where).toBe(false);
  if (!INFINITE_BY_DEFINITION.has(name))
    expect(Number.isFinite(result.statistic), where).toBe(true);
  if (result.kind === 'p_value') {
    const p = result.pValue as number;
    expect(p >= 0 && p <= 1, `${where}: p = ${p}`).toBe(true);
    expect(result.drifted, where).toBe(p < result.threshold);
  } else {
    expect(result.statistic >= 0, where).toBe(true);
    expect(result.drifted, where).toBe(result.statistic >= result.threshold);
  }
  return 'result';
}

function refusal(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('extreme but finite values (issue 16)', () => {
  it('psi on [1e308, -1e308, 1e308] bins the range without overflow, in detectDrift too', () => {
    const ref = [1e308, -1e308, 1e308];
    const cur = [1e308, 0, -1e308];
    const r = detectors.psi!.test(ref, cur);
    // The same data scaled by 2^-1000 bins identically: PSI is scale-invariant.
    const small = (v: number[]) => v.map((x) => ldexp(x, -1000));
    expect(r.statistic).toBe(detectors.psi!.test(small(ref), small(cur)).statistic);
    expect(Number.isFinite(r.statistic)).toBe(true);
    const report = detectDrift({ x: ref }, { x: cur }, { method: 'psi' });
    expect(report.columns.x?.statistic).toBe(r.statistic);
    expect(report.skipped ?? {}).toEqual({});
  });

  it('Doane and Sturges edges of values spanning the whole double range are finite and ascending', () => {
    const values = Float64Array.of(-MAX, -1e300, 0, 5e-324, 1, 1e300, MAX);
    for (const edges of [doaneEdges(values), sturgesEdges(values)]) {
      expect(edges.length).toBeGreaterThan(1);
      expect(edges[0]).toBe(-MAX);
      expect(edges[edges.length - 1]).toBe(MAX);
      for (let i = 1; i < edges.length; i++) {
        expect(Number.isFinite(edges[i]!)).toBe(true);
        expect(edges[i]!).toBeGreaterThan(edges[i - 1]!);
      }
    }
    // Exactly the edges of the same values scaled down, scaled back up.
    const scaled = values.map((v) => ldexp(v, -1000));
    expect(doaneEdges(values)).toEqual(doaneEdges(scaled).map((e) => ldexp(e, 1000)));
  });

  it('wasserstein of [1e308, -1e308] against [0, 0] is 1 (the mass moves one standard deviation)', () => {
    const r = detectors.wasserstein!.test([1e308, -1e308], [0, 0]);
    expect(r.statistic).toBe(1);
    expect(r.drifted).toBe(true);
    expect(detectors.wasserstein!.test([MAX, -MAX], [MAX, -MAX]).statistic).toBe(0);
  });

  it('a statistic that truly exceeds the largest double is refused, not reported as Infinity', () => {
    // W = 1e308 over a constant reference (std floored at 0.001): 1e311.
    const error = refusal(() => detectors.wasserstein!.test([0, 0, 0], [1e308, -1e308]));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect(String(error)).toMatch(/overflows the largest double; rescale the column/);
    // detectDrift reports it as a skipped column instead of throwing
    const report = detectDrift(
      { x: [0, 0, 0], y: [1, 2, 3] },
      { x: [1e308, -1e308], y: [1, 2] },
      { method: 'wasserstein' },
    );
    expect(report.skipped?.x?.reason).toBe('invalid_data');
    expect(report.columns.y?.method).toBe('wasserstein');
  });

  it('energy distance scales with the square root of the scale, also beyond 1e154', () => {
    const a = [1, 2, 3.5, 10];
    const b = [0, 4, 4, 7, 11];
    const base = detectors.energy!.test(a, b).statistic;
    const up = (v: number[]) => v.map((x) => ldexp(x, 1000));
    expect(detectors.energy!.test(up(a), up(b)).statistic).toBe(ldexp(base, 500));
  });

  it('ttest is scale-invariant down to subnormal and up to 1e308 values', () => {
    const a = [1, 2, 3, 4];
    const b = [2, 3, 4, 5, 6];
    const base = detectors.ttest!.test(a, b);
    for (const k of [-1070, -600, 600, 1020]) {
      const r = detectors.ttest!.test(
        a.map((x) => ldexp(x, k)),
        b.map((x) => ldexp(x, k)),
      );
      expect(r.statistic, `2^${k}`).toBe(base.statistic);
      expect(r.pValue, `2^${k}`).toBe(base.pValue);
    }
    const huge = detectors.ttest!.test([1e308, -1e308, 1e308], [0, 1, 2]);
    expect(huge.statistic).toBeCloseTo(0.5, 12);
  });

  it('anderson needs 4 values in all, ttest one spread: refused with advice, never NaN', () => {
    for (const [name, a, b] of [
      ['anderson', [1], [2]],
      ['anderson', [1, 2], [3]],
      ['ttest', [1], [2]],
    ] as const) {
      const error = refusal(() => detectors[name]!.test(a, b));
      expect(isKeelError(error, 'KEEL_VALIDATION'), name).toBe(true);
      expect(String(error), name).toMatch(/use ks/);
    }
    expect(detectors.anderson!.test([1], [1])).toMatchObject({ statistic: 0, pValue: 1 });
    expect(detectors.ttest!.test([1], [1])).toMatchObject({ statistic: 0, pValue: 1 });
    expect(outcome('anderson', [1, 2], [3, 4])).toBe('result');
  });
});

describe('the result guard every built-in detector goes through', () => {
  const sample = numericSample([1, 2, 3], 'sample');
  const make = (statistic: number, pValue?: number, infiniteStatistic = false) =>
    defineDetector({
      name: 'probe',
      supports: 'numerical',
      kind: pValue === undefined ? 'distance' : 'p_value',
      defaultThreshold: pValue === undefined ? 0.1 : 0.05,
      infiniteStatistic,
      compute: () => (pValue === undefined ? { statistic } : { statistic, pValue }),
    });

  it('refuses a NaN statistic or p-value instead of reporting "no drift"', () => {
    for (const d of [make(Number.NaN), make(Number.NaN, 0.5), make(1, Number.NaN), make(1, 2)]) {
      const error = refusal(() => d.testSamples(sample, sample));
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
      expect(String(error)).toMatch(/undefined for them \(not a number\); use another method/);
    }
  });

  it('refuses an overflow unless the definition yields infinities', () => {
    expect(
      isKeelError(refusal(() => make(Number.POSITIVE_INFINITY).testSamples(sample, sample))),
    ).toBe(true);
    const r = make(Number.NEGATIVE_INFINITY, 0, true).testSamples(sample, sample);
    expect(r).toMatchObject({ statistic: Number.NEGATIVE_INFINITY, pValue: 0, drifted: true });
  });

  it('checkOutcome is exported for result builders outside defineDetector', () => {
    const def = { name: 'probe', kind: 'distance' as const };
    expect(checkOutcome(def, { statistic: 0.2 }, sample, sample)).toEqual({ statistic: 0.2 });
    expect(() => checkOutcome(def, { statistic: Number.NaN }, sample, sample)).toThrow(
      /not a number/,
    );
  });
});

const EXTREMES = [
  MAX,
  -MAX,
  1e308,
  -1e308,
  1e300,
  -1e300,
  1e154,
  1e-300,
  -1e-300,
  2.2250738585072014e-308,
  5e-324,
  -5e-324,
  0,
  -0,
  1,
  -1,
  2,
  0.5,
];
const extremeValue = fc.oneof(
  fc.constantFrom(...EXTREMES),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

describe('every built-in detector on hostile numbers: a reportable result or a KeelError', () => {
  it('tiny samples (n = 1, 2), constant samples and mixed huge / tiny magnitudes', () => {
    const cases: [number[], number[]][] = [
      [[1], [2]],
      [[1], [1]],
      [
        [1, 2],
        [3, 4],
      ],
      [[MAX], [-MAX]],
      [
        [5, 5, 5],
        [5, 5],
      ],
      [
        [5, 5, 5],
        [6, 6],
      ],
      [
        [1e308, 1e308, 1e308],
        [-1e308, -1e308],
      ],
      [
        [1e-300, 1e300, -1e-300, 5e-324],
        [1e300, 1e-300, 2, 3],
      ],
      [
        [5e-324, 1e-323, 0],
        [-5e-324, 0, 1.5e-323],
      ],
      [
        [0, 0, 0],
        [1e308, -1e308],
      ],
      [
        [MAX, -MAX, MAX, -MAX, 0],
        [MAX, MAX, 1, -1],
      ],
      [
        [1e308, -1e308, 1e308],
        [0, 1, 2],
      ],
    ];
    for (const name of Object.keys(detectors)) {
      for (const [a, b] of cases) {
        outcome(name, a, b);
        outcome(name, b, a);
      }
    }
  });

  it('random samples drawn from extreme values (fast-check)', () => {
    const names = Object.keys(detectors);
    fc.assert(
      fc.property(
        fc.array(extremeValue, { minLength: 1, maxLength: 12 }),
        fc.array(extremeValue, { minLength: 1, maxLength: 12 }),
        (a, b) => {
          for (const name of names) outcome(name, a, b);
        },
      ),
      { numRuns: 150 },
    );
  });
});

/** Moderate values on a 1/1024 grid: any scale 2^k with |k| <= 1000 keeps them normal doubles. */
const gridValue = fc.integer({ min: -1_000_000, max: 1_000_000 }).map((i) => i / 1024);
const gridArray = fc.array(gridValue, { minLength: 2, maxLength: 40 });
const scale = fc.integer({ min: -1000, max: 1000 });

describe('scale invariance where the definition has it (fast-check)', () => {
  it('rank tests, ttest and the binned distances give the same bits at any power-of-two scale', () => {
    const invariant = ['ks', 'cramervonmises', 'anderson', 'mannwhitney', 'ttest'];
    const binned = ['psi', 'kl', 'jensenshannon', 'hellinger', 'linf', 'tvd'];
    fc.assert(
      fc.property(gridArray, gridArray, scale, (a, b, k) => {
        const as = a.map((x) => ldexp(x, k));
        const bs = b.map((x) => ldexp(x, k));
        // Doane bins of a constant reference are 1 wide whatever the scale: not scale-invariant.
        const names = new Set(a).size > 1 ? [...invariant, ...binned] : invariant;
        for (const name of names) {
          const x = detectors[name]!.test(a, b);
          const y = detectors[name]!.test(as, bs);
          expect(y.statistic, `${name} at 2^${k}`).toBe(x.statistic);
          expect(y.pValue, `${name} at 2^${k}`).toBe(x.pValue);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('normalised Wasserstein is scale-invariant while the reference spread exceeds its 0.001 floor', () => {
    fc.assert(
      fc.property(gridArray, gridArray, fc.integer({ min: 0, max: 1000 }), (a, b, k) => {
        fc.pre(populationStd(a) >= 0.001);
        const x = detectors.wasserstein!.test(a, b).statistic;
        const y = detectors.wasserstein!.test(
          a.map((v) => ldexp(v, k)),
          b.map((v) => ldexp(v, k)),
        ).statistic;
        expect(y, `2^${k}`).toBe(x);
      }),
      { numRuns: 120 },
    );
  });

  it('energy distance is equivariant: scaling by 4^j multiplies it by 2^j', () => {
    fc.assert(
      fc.property(gridArray, gridArray, fc.integer({ min: -500, max: 500 }), (a, b, j) => {
        const x = detectors.energy!.test(a, b).statistic;
        const y = detectors.energy!.test(
          a.map((v) => ldexp(v, 2 * j)),
          b.map((v) => ldexp(v, 2 * j)),
        ).statistic;
        expect(y, `4^${j}`).toBe(ldexp(x, j));
      }),
      { numRuns: 120 },
    );
  });
});

describe('symmetry where the definition has it, on extreme values (fast-check)', () => {
  it('ks, cramervonmises, anderson, mannwhitney and ttest p-values, energy and ks statistics', () => {
    const extremeArray = fc.array(extremeValue, { minLength: 2, maxLength: 12 });
    fc.assert(
      fc.property(extremeArray, extremeArray, (a, b) => {
        for (const name of ['ks', 'cramervonmises', 'anderson', 'mannwhitney', 'ttest', 'energy']) {
          let x: DriftTestResult;
          let y: DriftTestResult;
          try {
            x = detectors[name]!.test(a, b);
            y = detectors[name]!.test(b, a);
          } catch (error) {
            expect(isKeelError(error), name).toBe(true);
            continue;
          }
          if (name === 'ks' || name === 'energy') expect(y.statistic, name).toBe(x.statistic);
          if (name === 'ttest') expect(y.statistic === -x.statistic, name).toBe(true);
          if (x.pValue !== undefined) {
            expect(Math.abs((x.pValue as number) - (y.pValue as number)), name).toBeLessThanOrEqual(
              1e-12 * Math.max(1e-300, x.pValue as number) + 1e-15,
            );
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

function populationStd(values: readonly number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

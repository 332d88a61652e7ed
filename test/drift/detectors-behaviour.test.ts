import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { cdfDistance } from '../../src/drift/detectors/wasserstein.js';
import { detectors } from '../../src/drift/detectors.js';
import { categoricalSample, numericSample } from '../../src/drift/sample.js';

const NUMERIC = [
  'ks',
  'wasserstein',
  'energy',
  'cramervonmises',
  'anderson',
  'mannwhitney',
  'ttest',
];
const BINNED = ['psi', 'kl', 'jensenshannon', 'hellinger', 'linf', 'tvd'];
const CATEGORICAL = ['chisquare', 'z', 'fisher'];

describe('the detectors record', () => {
  it('holds the 16 built-ins with their contract', () => {
    expect(Object.keys(detectors).sort()).toEqual([...NUMERIC, ...BINNED, ...CATEGORICAL].sort());
    for (const [name, d] of Object.entries(detectors)) {
      expect(d.name).toBe(name);
      expect(d.defaultThreshold).toBe(d.kind === 'p_value' ? 0.05 : 0.1);
      expect(typeof d.testSamples).toBe('function');
    }
  });
});

describe('samples and missing values', () => {
  it('numericSample removes and counts null, undefined, NaN and infinities, and sorts', () => {
    const s = numericSample(
      [3, null, 1, Number.NaN, undefined, Number.POSITIVE_INFINITY, 2, -0.5],
      'x',
    );
    expect([...s.sorted]).toEqual([-0.5, 1, 2, 3]);
    expect(s.missing).toBe(4);
    const typed = numericSample(Float64Array.of(2, Number.NaN, 1, Number.NEGATIVE_INFINITY), 'x');
    expect([...typed.sorted]).toEqual([1, 2]);
    expect(typed.missing).toBe(2);
  });
  it('numericSample refuses mixed types and empty samples', () => {
    expect(() => numericSample([1, 'a', 2], 'x')).toThrow(/mixed types/);
    expect(() => numericSample([], 'x')).toThrow(ValidationError);
    expect(() => numericSample([null, Number.NaN], 'x')).toThrow(/missing/);
  });
  it('categoricalSample counts labels, numbers and booleans through String()', () => {
    const s = categoricalSample(['a', 1, '1', true, null, Number.NaN, 'a'], 'x');
    expect(s.counts).toEqual(
      new Map([
        ['a', 2],
        ['1', 2],
        ['true', 1],
      ]),
    );
    expect(s.size).toBe(5);
    expect(s.missing).toBe(2);
    expect(() => categoricalSample([undefined], 'x')).toThrow(ValidationError);
    expect(() => categoricalSample([{}], 'x')).toThrow(/mixed types/);
  });
  it('results report the missing counts of each side', () => {
    const r = detectors.ks!.test([1, 2, null, 3, Number.NaN], [2, 3, 4, undefined]);
    expect(r.missing).toEqual({ reference: 2, current: 1 });
    const c = detectors.chisquare!.test(['a', 'b', null], ['a', Number.NaN, 'b', 'b']);
    expect(c.missing).toEqual({ reference: 1, current: 1 });
  });
  it('an all-missing column is a ValidationError, never NaN', () => {
    for (const name of Object.keys(detectors)) {
      expect(() => detectors[name]!.test([null, Number.NaN], [1, 2]), name).toThrow(
        ValidationError,
      );
    }
  });
});

describe('degenerate columns give defined results', () => {
  it('identical constant numerical columns: statistic 0 and p-value 1', () => {
    const ref = [5, 5, 5, 5, 5, 5];
    const cur = [5, 5, 5, 5];
    for (const name of [...NUMERIC, ...BINNED]) {
      const r = detectors[name]!.test(ref, cur);
      expect(Number.isNaN(r.statistic), name).toBe(false);
      if (name !== 'mannwhitney') expect(r.statistic, name).toBe(0);
      if (r.kind === 'p_value') expect(r.pValue, name).toBe(1);
      expect(r.drifted, name).toBe(false);
    }
  });
  it('different constants drift without NaN', () => {
    for (const name of [...NUMERIC, ...BINNED]) {
      const r = detectors[name]!.test(
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        [2, 2, 2, 2, 2, 2, 2, 2, 2, 2],
      );
      expect(Number.isNaN(r.statistic), name).toBe(false);
      if (r.pValue !== undefined) expect(r.pValue, name).toBeGreaterThanOrEqual(0);
    }
  });
  it('a single category overall: chisquare, z and fisher return 0 / 1', () => {
    for (const name of CATEGORICAL) {
      const r = detectors[name]!.test(['x', 'x', 'x'], ['x', 'x']);
      expect(r.statistic, name).toBe(0);
      expect(r.pValue, name).toBe(1);
    }
  });
  it('z and fisher need exactly two categories and point to chisquare', () => {
    expect(() => detectors.z!.test(['a', 'b', 'c'], ['a', 'b'])).toThrow(/chisquare/);
    expect(() => detectors.fisher!.test(['a', 'b'], ['c'])).toThrow(/chisquare/);
  });
  it('a categorical test on continuous data is refused with advice', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `id-${i}`);
    expect(() => detectors.chisquare!.test(many, many)).toThrow(/numerical test/);
    const floats = Array.from({ length: 200 }, (_, i) => i * 0.37);
    const shifted = floats.map((v) => v + 0.1);
    expect(() =>
      detectors.chisquare!.testSamples(numericSample(floats, 'r'), numericSample(shifted, 'c')),
    ).toThrow(ValidationError);
  });
  it('numerical tests refuse labels', () => {
    expect(() => detectors.ks!.test(['a', 'b'], ['a'])).toThrow(/mixed types/);
    const labels = categoricalSample(['a', 'b'], 'labels');
    expect(() => detectors.ks!.testSamples(labels, labels)).toThrow(/numerical drift test/);
  });
});

describe('thresholds and verdicts', () => {
  it('refuses thresholds outside their range', () => {
    expect(() => detectors.ks!.test([1, 2], [2, 3], { threshold: 0 })).toThrow(ValidationError);
    expect(() => detectors.ks!.test([1, 2], [2, 3], { threshold: 1 })).toThrow(ValidationError);
    expect(() => detectors.psi!.test([1, 2], [2, 3], { threshold: -0.1 })).toThrow(ValidationError);
    expect(() =>
      detectors.psi!.test([1, 2], [2, 3], { threshold: Number.POSITIVE_INFINITY }),
    ).toThrow(ValidationError);
    expect(() => detectors.psi!.test([1, 2], [2, 3], { threshold: Number.NaN })).toThrow(
      ValidationError,
    );
  });
  it('uses the given threshold: p < threshold for tests, statistic >= threshold for distances', () => {
    const ref = Array.from({ length: 50 }, (_, i) => i);
    const cur = Array.from({ length: 50 }, (_, i) => i + 12);
    const p = detectors.ks!.test(ref, cur);
    expect(p.drifted).toBe((p.pValue as number) < 0.05);
    const strict = detectors.ks!.test(ref, cur, { threshold: (p.pValue as number) / 2 });
    expect(strict.drifted).toBe(false);
    expect(strict.threshold).toBe((p.pValue as number) / 2);
    const d = detectors.wasserstein!.test(ref, cur, { threshold: 0 });
    expect(d.drifted).toBe(true);
  });
  it('testSamples on shared prepared samples equals test on raw values', () => {
    const ref = [0.3, 1.2, 2.2, 0.1, 5.5, 3.3, 2.1, 0.9];
    const cur = [1.3, 2.2, 3.2, 1.1, 6.5, 4.3, 3.1];
    const a = numericSample(ref, 'r');
    const b = numericSample(cur, 'c');
    for (const name of [...NUMERIC, ...BINNED]) {
      expect(detectors[name]!.testSamples(a, b)).toEqual(detectors[name]!.test(ref, cur));
    }
  });
});

const finiteArray = fc.array(
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  {
    minLength: 2,
    maxLength: 60,
  },
);
const roundedArray = fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 2, maxLength: 60 });

describe('properties on random finite input', () => {
  it('statistics are never NaN and p-values lie in [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.oneof(finiteArray, roundedArray),
        fc.oneof(finiteArray, roundedArray),
        (a, b) => {
          for (const name of [...NUMERIC, ...BINNED]) {
            const r = detectors[name]!.test(a, b);
            expect(Number.isNaN(r.statistic), name).toBe(false);
            if (r.kind === 'p_value') {
              expect(r.pValue, name).toBeGreaterThanOrEqual(0);
              expect(r.pValue, name).toBeLessThanOrEqual(1);
            } else {
              expect(r.statistic, name).toBeGreaterThanOrEqual(0);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
  it('symmetric tests give the same p-value with the samples swapped', () => {
    fc.assert(
      fc.property(
        fc.oneof(finiteArray, roundedArray),
        fc.oneof(finiteArray, roundedArray),
        (a, b) => {
          for (const name of ['ks', 'cramervonmises', 'anderson', 'mannwhitney', 'ttest']) {
            const x = detectors[name]!.test(a, b);
            const y = detectors[name]!.test(b, a);
            expect(Math.abs((x.pValue as number) - (y.pValue as number)), name).toBeLessThanOrEqual(
              1e-12 * Math.max(1e-300, x.pValue as number) + 1e-15,
            );
          }
          const fa = numericSample(a, 'a').sorted;
          const fb = numericSample(b, 'b').sorted;
          expect(cdfDistance(1, fa, fb)).toBe(cdfDistance(1, fb, fa));
          expect(detectors.energy!.test(a, b).statistic).toBe(
            detectors.energy!.test(b, a).statistic,
          );
        },
      ),
      { numRuns: 60 },
    );
  });
  it('categorical distances and chisquare are symmetric and bounded', () => {
    const labels = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(labels, labels, (a, b) => {
        for (const name of ['jensenshannon', 'hellinger', 'linf', 'tvd', 'chisquare']) {
          const x = detectors[name]!.test(a, b);
          const y = detectors[name]!.test(b, a);
          expect(Math.abs(x.statistic - y.statistic), name).toBeLessThan(1e-12);
          if (name !== 'chisquare') expect(x.statistic, name).toBeLessThanOrEqual(1 + 1e-12);
        }
      }),
      { numRuns: 100 },
    );
  });
});

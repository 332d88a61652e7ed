import { describe, expect, it } from 'vitest';
import { ksTwoSample } from '../../src/drift/detectors/ks.js';
import { detectors } from '../../src/drift/detectors.js';
import { numericSample } from '../../src/drift/sample.js';
import { closeness, expand, num, reference } from './detectors-fixtures.js';

// Tolerances of DRIFT.md: statistics 1e-12 relative (1e-15 absolute near zero), p-values 1e-9 relative.
function expectStatistic(actual: number, expected: number): void {
  if (Math.abs(expected) < 1e-15) expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-15);
  else expect(closeness(actual, expected)).toBeLessThanOrEqual(1e-12);
}

function expectPValue(actual: number | undefined, expected: number): void {
  expect(actual).toBeDefined();
  expect(closeness(actual as number, expected)).toBeLessThanOrEqual(1e-9);
}

const EVIDENTLY_NUMERIC = {
  psi: 'evidently_psi',
  kl: 'evidently_kl_div',
  jensenshannon: 'evidently_jensenshannon_ln',
  hellinger: 'evidently_hellinger_numerical',
} as const;
const EVIDENTLY_CATEGORICAL = {
  ...EVIDENTLY_NUMERIC,
  hellinger: 'evidently_hellinger_categorical',
} as const;

for (const c of reference.numeric_cases) {
  describe(`numeric case ${c.name}`, () => {
    for (const [method, expected] of Object.entries(c.results.keel)) {
      if (method === 'binning') continue;
      it(`${method} reproduces results.keel`, () => {
        const detector = detectors[method];
        expect(detector).toBeDefined();
        const r = detector!.test(c.inputs.reference, c.inputs.current);
        expect(r.method).toBe(method);
        expectStatistic(r.statistic, num(expected.statistic));
        if (expected.pValue !== undefined) expectPValue(r.pValue, num(expected.pValue));
        else expect(r.pValue).toBeUndefined();
        expect(r.drifted).toBe(
          r.kind === 'p_value' ? (r.pValue as number) < r.threshold : r.statistic >= r.threshold,
        );
      });
    }
    it('ks takes the path the reference says', () => {
      const r = ksTwoSample(
        numericSample(c.inputs.reference, 'ref').sorted,
        numericSample(c.inputs.current, 'cur').sorted,
      );
      expect(r.path).toBe(c.results.keel.ks?.path);
    });
    for (const [method, field] of Object.entries(EVIDENTLY_NUMERIC)) {
      it(`${method} with binning 'evidently' equals ${field}`, () => {
        const r = detectors[method]!.test(c.inputs.reference, c.inputs.current, {
          binning: 'evidently',
        });
        expectStatistic(r.statistic, c.results[field] as number);
      });
    }
  });
}

for (const c of reference.categorical_cases) {
  describe(`categorical case ${c.name}`, () => {
    const ref = expand(c.inputs.reference_counts);
    const cur = expand(c.inputs.current_counts);
    for (const [method, expected] of Object.entries(c.results.keel)) {
      if (method === 'categories' || Array.isArray(expected)) continue;
      it(`${method} reproduces results.keel`, () => {
        const r = detectors[method]!.test(ref, cur);
        expectStatistic(r.statistic, num(expected.statistic));
        if (expected.pValue !== undefined) expectPValue(r.pValue, num(expected.pValue));
      });
    }
    for (const [method, field] of Object.entries(EVIDENTLY_CATEGORICAL)) {
      it(`${method} with binning 'evidently' equals ${field}`, () => {
        const r = detectors[method]!.test(ref, cur, { binning: 'evidently' });
        expectStatistic(r.statistic, c.results[field] as number);
      });
    }
  });
}

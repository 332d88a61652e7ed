import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { mannWhitneyU } from '../../src/drift/detectors/mannwhitney.js';

describe('mannWhitneyU (scipy.stats.mannwhitneyu two-sided, SciPy 1.10)', () => {
  it('uses the exact distribution for small samples without ties', () => {
    const r = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(r.statistic).toBe(17);
    expect(r.pValue).toBeCloseTo(0.1111111111111111, 15);
  });
  it('uses the normal approximation with tie and continuity correction', () => {
    const r = mannWhitneyU([1, 2, 2, 3, 4, 5, 5, 6, 7, 8], [3, 3, 4, 6, 7, 9, 10, 10, 11]);
    expect(r.statistic).toBe(22.5);
    expect(Math.abs(r.pValue - 0.07119632882419709) / 0.07119632882419709).toBeLessThan(1e-12);
    const s = mannWhitneyU(
      [1.5, 2.5, 3.5, 9, 10, 11, 12, 13, 14],
      [4, 5, 6, 7, 8, 8.5, 15, 16, 17],
    );
    expect(s.statistic).toBe(36);
    expect(Math.abs(s.pValue - 0.7239320396139757) / 0.7239320396139757).toBeLessThan(1e-12);
  });
  it('returns p = 1 when every value is equal, and rejects empty or NaN input', () => {
    expect(mannWhitneyU([2, 2, 2], [2, 2])).toEqual({ statistic: 3, pValue: 1 });
    expect(() => mannWhitneyU([], [1])).toThrow();
    expect(() => mannWhitneyU([1, Number.NaN], [1])).toThrow(ValidationError);
  });
});

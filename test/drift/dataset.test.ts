import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKeelError, type ValidationError } from '../../src/core/errors.js';
import { createRandom } from '../../src/core/random.js';
import { benjaminiHochberg, defaultMethod, detectDrift } from '../../src/drift/dataset.js';
import { detectors } from '../../src/drift/detectors.js';
import { labels, normals, thrown } from '../helpers/data.js';

interface MultipleTesting {
  inputs: { p_values: number[]; p_val: number };
  results: {
    bonferroni_threshold: number;
    bonferroni_drift: boolean;
    fdr_thresholds: number[];
    fdr_drift: boolean;
    fdr_threshold_used: number | null;
  };
}

const reference = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../fixtures/drift/drift_reference.json', import.meta.url)),
    'utf8',
  ),
) as { multiple_testing: MultipleTesting };

function ints(seed: string, n: number, k: number): number[] {
  const rng = createRandom(seed);
  return Array.from({ length: n }, () => rng.int(k));
}

describe('default method selection (DRIFT.md)', () => {
  it('follows the n / u table', () => {
    expect(defaultMethod('numerical', 1000, 2)).toBe('z');
    expect(defaultMethod('numerical', 1000, 5)).toBe('chisquare');
    expect(defaultMethod('numerical', 1000, 6)).toBe('ks');
    expect(defaultMethod('categorical', 1000, 2)).toBe('z');
    expect(defaultMethod('categorical', 1000, 6)).toBe('chisquare');
    expect(defaultMethod('numerical', 1001, 5)).toBe('jensenshannon');
    expect(defaultMethod('numerical', 1001, 6)).toBe('wasserstein');
    expect(defaultMethod('categorical', 1001, 2)).toBe('jensenshannon');
  });

  it('detectDrift picks it per column from the reference size and distinct values of both', () => {
    const small = {
      cont: normals('a', 800),
      bin: ints('b', 800, 2),
      few: ints('c', 800, 4),
      cat2: labels('d', 800, ['x', 'y']),
      cat3: labels('e', 800, ['x', 'y', 'z']),
    };
    const cur = {
      cont: normals('f', 300),
      bin: ints('g', 300, 2),
      // u counts both samples: 4 values in the reference plus one new value in current
      few: [...ints('h', 299, 4), 4],
      cat2: labels('i', 300, ['x', 'y']),
      cat3: labels('j', 300, ['x', 'y', 'z']),
    };
    const r = detectDrift(small, cur);
    expect(Object.fromEntries(Object.entries(r.columns).map(([k, v]) => [k, v.method]))).toEqual({
      cont: 'ks',
      bin: 'z',
      few: 'chisquare',
      cat2: 'z',
      cat3: 'chisquare',
    });
    const large = {
      cont: normals('k', 1500),
      few: ints('l', 1500, 5),
      cat: labels('m', 1500, ['x', 'y']),
    };
    const r2 = detectDrift(large, {
      cont: normals('n', 500),
      few: ints('o', 500, 5),
      cat: labels('p', 500, ['x']),
    });
    expect(r2.columns.cont?.method).toBe('wasserstein');
    expect(r2.columns.few?.method).toBe('jensenshannon');
    expect(r2.columns.cat?.method).toBe('jensenshannon');
  });

  it('each column result is exactly what the detector returns on the raw columns', () => {
    const ref = { a: normals('q', 700), b: labels('r', 700, ['u', 'v', 'w']) };
    const cur = { a: normals('s', 400, 0.2), b: labels('t', 400, ['u', 'v', 'w'], [2, 1, 1]) };
    const r = detectDrift(ref, cur);
    const { type: _a, histogram: _ha, ...a } = r.columns.a!;
    const { type: _b, histogram: _hb, ...b } = r.columns.b!;
    expect(a).toEqual(detectors.ks!.test(ref.a, cur.a));
    expect(b).toEqual(detectors.chisquare!.test(ref.b, cur.b));
  });
});

describe('dataset verdict and corrections', () => {
  it('Benjamini-Hochberg reproduces the multiple_testing reference case (alibi-detect, strict <)', () => {
    const { inputs, results } = reference.multiple_testing;
    const threshold = benjaminiHochberg(inputs.p_values, inputs.p_val);
    expect(threshold).toBe(results.fdr_threshold_used);
    expect(threshold !== undefined).toBe(results.fdr_drift);
    expect(inputs.p_val / inputs.p_values.length).toBe(results.bonferroni_threshold);
    expect(inputs.p_values.some((p) => p < results.bonferroni_threshold)).toBe(
      results.bonferroni_drift,
    );
    // strict: a p-value equal to its level is not rejected
    expect(benjaminiHochberg([0.05], 0.05)).toBeUndefined();
    expect(benjaminiHochberg([0.5, 0.6], 0.05)).toBeUndefined();
  });

  it('applies none / bonferroni / bh to p-value columns and judges the dataset', () => {
    const n = 300;
    const ref: Record<string, Float64Array> = {};
    const cur: Record<string, Float64Array> = {};
    const shifts = [0, 0, 0, 0.12, 0.18, 0.25, 0.4, 0.6];
    shifts.forEach((shift, i) => {
      ref[`c${i}`] = normals(`ref${i}`, n);
      cur[`c${i}`] = normals(`cur${i}`, n, shift);
    });
    const none = detectDrift(ref, cur, { method: 'ks' });
    const pValues = Object.values(none.columns).map((c) => c.pValue!);
    const k = pValues.length;

    const bonf = detectDrift(ref, cur, { method: 'ks', correction: 'bonferroni' });
    for (const [name, c] of Object.entries(bonf.columns)) {
      expect(c.threshold).toBe(0.05 / k);
      expect(c.drifted).toBe(none.columns[name]!.pValue! < 0.05 / k);
    }
    expect(bonf.drifted).toBe(bonf.driftedColumns > 0);

    const bh = detectDrift(ref, cur, { method: 'ks', correction: 'bh' });
    const level = benjaminiHochberg(pValues, 0.05);
    for (const [name, c] of Object.entries(bh.columns)) {
      expect(c.drifted).toBe(level !== undefined && none.columns[name]!.pValue! < level);
    }
    expect(bh.driftedColumns).toBeGreaterThanOrEqual(bonf.driftedColumns);
    expect(bh.driftedColumns).toBeLessThanOrEqual(none.driftedColumns);
    expect(bh.correction).toBe('bh');

    expect(none.share).toBe(none.driftedColumns / k);
    expect(detectDrift(ref, cur, { method: 'ks', driftShare: none.share }).drifted).toBe(true);
    expect(
      detectDrift(ref, cur, { method: 'ks', driftShare: Math.min(1, none.share + 0.01) }).drifted,
    ).toBe(false);
  });

  it('minEffect silences p-value drift that is statistically significant but small', () => {
    const ref = { x: normals('big-a', 20_000) };
    const cur = { x: normals('big-b', 20_000, 0.05) };
    const plain = detectDrift(ref, cur, { method: 'ks' });
    expect(plain.columns.x?.drifted).toBe(true);
    const gated = detectDrift(ref, cur, { method: 'ks', minEffect: 0.1 });
    expect(gated.columns.x?.effect?.method).toBe('wasserstein');
    expect(gated.columns.x?.effect?.statistic).toBeLessThan(0.1);
    expect(gated.columns.x?.drifted).toBe(false);
    expect(gated.drifted).toBe(false);
    const big = detectDrift(
      ref,
      { x: normals('big-c', 20_000, 0.5) },
      { method: 'ks', minEffect: 0.1 },
    );
    expect(big.columns.x?.drifted).toBe(true);
  });
});

describe('overrides', () => {
  const ref = { a: normals('o1', 500), b: normals('o2', 500), code: ints('o3', 500, 7) };
  const cur = { a: normals('o4', 400, 0.3), b: normals('o5', 400), code: ints('o6', 400, 7) };

  it('method as a string applies to the columns it supports, as a record per column', () => {
    const r = detectDrift(
      { ...ref, cat: labels('o7', 500, ['p', 'q', 'r']) },
      { ...cur, cat: labels('o8', 400, ['p', 'q', 'r']) },
      { method: 'mannwhitney' },
    );
    expect(r.columns.a?.method).toBe('mannwhitney');
    expect(r.columns.cat?.method).toBe('chisquare');
    const r2 = detectDrift(ref, cur, { method: { a: 'psi', b: 'energy' } });
    expect([r2.columns.a?.method, r2.columns.b?.method, r2.columns.code?.method]).toEqual([
      'psi',
      'energy',
      'ks',
    ]);
  });

  it('columns: method, threshold, forced type and skip', () => {
    const r = detectDrift(ref, cur, {
      columns: {
        a: { method: 'wasserstein', threshold: 0.5 },
        b: { skip: true },
        code: { type: 'categorical' },
      },
    });
    expect(r.columns.a).toMatchObject({ method: 'wasserstein', threshold: 0.5 });
    expect(r.columns.b).toBeUndefined();
    expect(r.skipped.b).toBeUndefined();
    expect(r.columns.code).toMatchObject({ method: 'chisquare', type: 'categorical' });
  });

  it('accepts typed arrays and row tables alike', () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({
      a: ref.a[i],
      b: ref.b[i],
      code: ref.code[i],
    }));
    const curRows = Array.from({ length: 400 }, (_, i) => ({
      a: cur.a[i],
      b: cur.b[i],
      code: cur.code[i],
    }));
    expect(detectDrift(rows, curRows)).toEqual(detectDrift(ref, cur));
  });
});

describe('bad input never crashes: explicit report entries', () => {
  it('reports missing, extra, empty, mixed and mismatched columns', () => {
    const ref = {
      ok: normals('b1', 200),
      gone: normals('b2', 200),
      empty: new Array(200).fill(null),
      mixed: Array.from({ length: 200 }, (_, i) => (i === 7 ? 'seven' : i)),
      typed: normals('b3', 200),
      curEmpty: normals('b4', 200),
    };
    const cur = {
      ok: normals('b5', 100),
      added: normals('b6', 100),
      empty: normals('b7', 100),
      mixed: normals('b8', 100),
      typed: labels('b9', 100, ['a', 'b']),
      curEmpty: new Array(100).fill(Number.NaN),
    };
    const r = detectDrift(ref, cur);
    expect(Object.keys(r.columns)).toEqual(['ok']);
    expect(Object.fromEntries(Object.entries(r.skipped).map(([k, v]) => [k, v.reason]))).toEqual({
      gone: 'missing_in_current',
      added: 'missing_in_reference',
      empty: 'empty_reference',
      mixed: 'mixed_types',
      typed: 'type_mismatch',
      curEmpty: 'empty_current',
    });
    expect(r.skipped.curEmpty?.missing).toEqual({ reference: 0, current: 100 });
    for (const s of Object.values(r.skipped)) expect(s.message).toMatch(/column "/);
  });

  it('a test refused on the data (continuous data as categories) becomes a skipped entry', () => {
    const r = detectDrift(
      { x: normals('c1', 3000), y: normals('c3', 3000) },
      { x: normals('c2', 3000), y: normals('c4', 3000) },
      {
        columns: { x: { method: 'chisquare' } },
      },
    );
    expect(r.skipped.x?.reason).toBe('invalid_data');
    expect(r.skipped.x?.message).toMatch(/numerical test/);
    expect(r.tested).toBe(1);
    expect(Object.keys(r.columns)).toEqual(['y']);
  });

  it('a numerical method on a categorical column is reported, not thrown', () => {
    const r = detectDrift(
      { c: ['a', 'b', 'a'], n: [1, 2, 3] },
      { c: ['a', 'a', 'b'], n: [2, 3, 4] },
      { columns: { c: { method: 'ks' } } },
    );
    expect(r.skipped.c?.reason).toBe('unsupported_method');
    expect(r.tested).toBe(1);
  });

  it('missing values are counted on every entry', () => {
    const r = detectDrift(
      { x: [1, 2, null, 3, Number.NaN, 4, 5, 6, 7] },
      { x: [undefined, 2, 3, 4, Number.POSITIVE_INFINITY, 8, 9] },
    );
    expect(r.columns.x?.missing).toEqual({ reference: 2, current: 2 });
  });

  it('bad options throw ValidationError before testing', () => {
    const t = { x: [1, 2, 3, 4, 5, 6, 7] };
    const attempts = [
      () => detectDrift(t, t, { method: 'nope' }),
      () => detectDrift(t, t, { columns: { x: { method: 'toString' } } }),
      () => detectDrift(t, t, { driftShare: 0 }),
      () => detectDrift(t, t, { driftShare: 1.5 }),
      () => detectDrift(t, t, { correction: 'holm' as never }),
      () => detectDrift(t, t, { threshold: 1.5 }),
      () => detectDrift(t, t, { minEffect: -1 }),
      () => detectDrift(t, t, { unknown: 1 } as never),
      () => detectDrift({ x: [1, 2] }, { x: [1] }, { columns: { x: { threshold: Number.NaN } } }),
      () =>
        detectDrift(
          { a: [1, 2, 3, 4, 5, 6, 7], b: [1, 2, 3, 4, 5, 6, 8] },
          { a: [1, 2, 3], b: [4, 5, 6] },
          {
            method: 'ks',
            correction: 'bh',
            columns: { a: { threshold: 0.01 } },
          },
        ),
      () => detectDrift({ x: [1, 2] }, { y: [1, 2], z: [3] }),
    ];
    for (const attempt of attempts)
      expect(isKeelError(thrown(attempt), 'KEEL_VALIDATION')).toBe(true);
  });

  it('empty tables leave no column to test: ValidationError, not a report of no drift', () => {
    const error = thrown(() => detectDrift([], []));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect((error as Error).message).toContain(
      'could test no column: the reference has no columns and the current table has no columns',
    );
  });

  it("disjoint column names: ValidationError naming both tables' columns", () => {
    const error = thrown(() =>
      detectDrift({ age: [1, 2, 3], income: [4, 5, 6] }, { Age: [1, 2], salary: [3, 4] }),
    ) as ValidationError;
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect(error.message).toContain(
      'the reference has columns "age", "income" and the current table has columns "Age", "salary"',
    );
    expect(error.message).toContain('"age": missing_in_current');
    expect(error.message).toContain('"salary": missing_in_reference');
    expect(error.details).toMatchObject({
      referenceColumns: ['age', 'income'],
      currentColumns: ['Age', 'salary'],
      skipped: {
        age: 'missing_in_current',
        income: 'missing_in_current',
        Age: 'missing_in_reference',
        salary: 'missing_in_reference',
      },
    });
  });

  it('every column of mismatched type (or left out): ValidationError with each reason', () => {
    const mismatch = thrown(() =>
      detectDrift({ a: [1, 2, 3], b: ['x', 'y', 'z'] }, { a: ['p', 'q'], b: [1, 2] }),
    ) as ValidationError;
    expect(isKeelError(mismatch, 'KEEL_VALIDATION')).toBe(true);
    expect(mismatch.message).toContain('"a": type_mismatch, "b": type_mismatch');
    const excluded = thrown(() =>
      detectDrift({ a: [1, 2, 3] }, { a: [1, 2, 3] }, { columns: { a: { skip: true } } }),
    ) as ValidationError;
    expect(excluded.message).toContain('"a": left out by columns.skip');
  });

  it('a report says how many columns it tested', () => {
    const r = detectDrift(
      { a: [1, 2, 3, 4], b: ['x', 'y', 'x', 'y'], gone: [1, 2, 3, 4] },
      { a: [1, 2, 3], b: ['x', 'x', 'y'] },
    );
    expect(r.tested).toBe(2);
    expect(Object.keys(r.skipped)).toEqual(['gone']);
  });
});

describe('property: any well-formed table gives a report, never a crash or NaN', () => {
  it('holds on random columns of numbers, labels, missing values and infinities', () => {
    const cell = fc.oneof(
      fc.double({ noNaN: false }),
      fc.integer({ min: -3, max: 3 }),
      fc.constantFrom(
        'a',
        'b',
        'c',
        true,
        false,
        null,
        undefined,
        Number.NaN,
        Number.POSITIVE_INFINITY,
      ),
    );
    const column = (n: number) => fc.array(cell, { minLength: n, maxLength: n });
    const table = fc
      .integer({ min: 0, max: 40 })
      .chain((n) => fc.dictionary(fc.constantFrom('x', 'y', 'z', 'w'), column(n), { maxKeys: 4 }));
    fc.assert(
      fc.property(
        table,
        table,
        fc.constantFrom('none', 'bonferroni', 'bh'),
        (ref, cur, correction) => {
          let r: ReturnType<typeof detectDrift>;
          try {
            r = detectDrift(ref, cur, { correction: correction as 'none' });
          } catch (error) {
            // only a call that can test no column may throw
            expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
            expect((error as Error).message).toContain('could test no column');
            return;
          }
          expect(r.tested).toBe(Object.keys(r.columns).length);
          expect(r.tested).toBeGreaterThan(0);
          expect(r.share).toBeGreaterThanOrEqual(0);
          expect(r.share).toBeLessThanOrEqual(1);
          for (const c of Object.values(r.columns)) {
            expect(Number.isNaN(c.statistic)).toBe(false);
            if (c.pValue !== undefined) expect(c.pValue >= 0 && c.pValue <= 1).toBe(true);
          }
          const names = new Set([...Object.keys(ref), ...Object.keys(cur)]);
          expect(Object.keys(r.columns).length + Object.keys(r.skipped).length).toBe(names.size);
        },
      ),
      { numRuns: 300 },
    );
  });
});

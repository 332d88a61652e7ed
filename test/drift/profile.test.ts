import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { searchRight as upperBound } from '../../src/drift/binning.js';
import { detectDrift } from '../../src/drift/dataset.js';
import { detectors } from '../../src/drift/detectors.js';
import {
  type CategoricalColumnProfile,
  mergeProfiles,
  type NumericColumnProfile,
  parseProfile,
  profile,
} from '../../src/drift/profile.js';
import { QuantileSketch } from '../../src/drift/sketch.js';
import { labels, normals as normalArray } from '../helpers/data.js';

const normals = (seed: string, n: number, mean = 0, sd = 1): number[] =>
  Array.from(normalArray(seed, n, mean, sd));

function withMissing<T>(values: T[], every: number): (T | null)[] {
  return values.map((v, i) => (i % every === 3 ? null : v));
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

const ref = {
  num: withMissing(normals('p-ref', 600), 17),
  cat: withMissing(labels('p-cat', 600, ['a', 'b', 'c', 'd'], [5, 3, 2, 1]), 23),
  bin: labels('p-bin', 600, ['yes', 'no'], [3, 1]),
};
const cur = {
  num: withMissing(normals('p-cur', 450, 0.15, 1.1), 19),
  cat: withMissing(labels('p-cat2', 450, ['a', 'b', 'c', 'd', 'e'], [4, 3, 2, 1, 1]), 29),
  bin: labels('p-bin2', 450, ['yes', 'no'], [2, 1]),
};

describe('a test against an exact profile returns exactly what it returns against the raw reference', () => {
  const p = profile(ref);
  const stored = JSON.parse(JSON.stringify(p));
  const numerical = Object.values(detectors).filter((d) => d.supports !== 'categorical');
  for (const d of numerical) {
    it(`${d.name} on a numerical column`, () => {
      const opts = { columns: { num: { method: d.name } } };
      expect(detectDrift(stored, cur, opts).columns.num).toEqual(
        detectDrift(ref, cur, opts).columns.num,
      );
      expect(detectDrift(stored, cur, opts).columns.num?.method).toBe(d.name);
    });
  }
  for (const d of Object.values(detectors).filter((x) => x.supports !== 'numerical')) {
    const column = d.name === 'z' || d.name === 'fisher' ? 'bin' : 'cat';
    it(`${d.name} on a categorical column`, () => {
      const opts = { columns: { [column]: { method: d.name } } };
      const got = detectDrift(stored, cur, opts).columns[column];
      expect(got?.method).toBe(d.name);
      expect(got).toEqual(detectDrift(ref, cur, opts).columns[column]);
    });
  }
  for (const name of ['psi', 'kl', 'jensenshannon', 'hellinger']) {
    it(`${name} with binning 'evidently'`, () => {
      const opts = { method: name, binning: 'evidently' as const };
      expect(detectDrift(stored, cur, opts)).toEqual(detectDrift(ref, cur, opts));
    });
  }
  it('the default selection and the whole report', () => {
    expect(detectDrift(stored, cur, { correction: 'bh', minEffect: 0.05 })).toEqual(
      detectDrift(ref, cur, { correction: 'bh', minEffect: 0.05 }),
    );
  });
});

describe('profile format', () => {
  it('holds what DRIFT.md lists, and round-trips through JSON unchanged', () => {
    const zero = Array.from({ length: 600 }, (_, k) => (k % 2 ? -0 : k));
    const none = new Array<null>(600).fill(null);
    const p = profile({ ...ref, zero, none });
    expect(p).toMatchObject({ format: 'keel.profile', version: 1, rows: 600 });
    expect(p.options).toEqual({ exactUpTo: 100_000, maxCategories: 1000, sketchK: 1024 });
    const num = p.columns.num as NumericColumnProfile;
    const values = ref.num.filter((v): v is number => v !== null).sort((a, b) => a - b);
    expect(num.values).toEqual(values);
    expect(num.count).toBe(values.length);
    expect(num.missing).toBe(ref.num.length - values.length);
    expect([num.min, num.max]).toEqual([values[0], values[values.length - 1]]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(num.mean).toBeCloseTo(mean, 12);
    expect(num.m2).toBeCloseTo(
      values.reduce((a, v) => a + (v - mean) ** 2, 0),
      9,
    );
    expect(num.histogram.counts.reduce((a, b) => a + b, 0)).toBe(values.length);
    expect(num.histogram.edges.length).toBe(num.histogram.counts.length + 1);
    const cat = p.columns.cat as CategoricalColumnProfile;
    expect(cat.categories.map(([l]) => l).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(cat.other).toBe(0);
    expect(p.columns.none).toEqual({ type: 'empty', count: 0, missing: 600 });
    // JSON has no -0: the profile stores 0, so that it round-trips
    expect(Object.is((p.columns.zero as NumericColumnProfile).values?.[0], 0)).toBe(true);
    const text = JSON.stringify(p);
    const back = JSON.parse(text);
    expect(back).toEqual(p);
    expect(parseProfile(back)).toEqual(p);
    expect(JSON.stringify(parseProfile(back))).toBe(text);
  });

  it('keeps the most frequent maxCategories labels and counts the rest as other', () => {
    const values = [...'aaaaabbbbccc', ...'defgh'];
    const cat = profile({ c: values }, { maxCategories: 3 }).columns.c as CategoricalColumnProfile;
    expect(cat.categories).toEqual([
      ['a', 5],
      ['b', 4],
      ['c', 3],
    ]);
    expect(cat.other).toBe(5);
    expect(cat.otherCategories).toBe(5);
    // current labels outside the profile fall into the same "other" bucket
    const r = detectDrift(
      profile({ c: values }, { maxCategories: 3 }),
      { c: [...'aaaaabbbbccc', ...'zzzzz'] },
      {
        columns: { c: { method: 'chisquare' } },
      },
    );
    expect(r.columns.c?.statistic).toBe(0);
  });

  it('forced types and mixed columns', () => {
    const p = profile({ code: [1, 2, 2, 3] }, { types: { code: 'categorical' } });
    expect(p.columns.code?.type).toBe('categorical');
    expect(
      isKeelError(
        thrown(() => profile({ m: [1, 'a'] })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
    expect(
      isKeelError(
        thrown(() => profile({ a: [1] }, { exactUpTo: -1 })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });

  it('parseProfile refuses other versions and inconsistent profiles', () => {
    const p = JSON.parse(JSON.stringify(profile(ref)));
    expect(thrown(() => parseProfile({ ...p, version: 2 }))).toMatchObject({
      message: expect.stringMatching(/version 2/),
    });
    const unsorted = structuredClone(p);
    unsorted.columns.num.values.reverse();
    expect(
      isKeelError(
        thrown(() => parseProfile(unsorted)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
    const badCount = structuredClone(p);
    badCount.columns.cat.count += 1;
    expect(
      isKeelError(
        thrown(() => parseProfile(badCount)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
    expect(
      isKeelError(
        thrown(() => parseProfile({ format: 'x' })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});

describe('mergeProfiles', () => {
  it('two halves merge into the profile of the whole (exact part exactly, moments to rounding)', () => {
    const rows = ref.num.map((num, i) => ({ num, cat: ref.cat[i], bin: ref.bin[i] }));
    const whole = profile(rows);
    const merged = mergeProfiles(profile(rows.slice(0, 250)), profile(rows.slice(250)));
    const w = whole.columns.num as NumericColumnProfile;
    const m = merged.columns.num as NumericColumnProfile;
    expect(m.values).toEqual(w.values);
    expect(m.histogram).toEqual(w.histogram);
    expect([m.count, m.missing, m.min, m.max]).toEqual([w.count, w.missing, w.min, w.max]);
    expect(m.mean).toBeCloseTo(w.mean, 13);
    expect(m.m2 / w.m2).toBeCloseTo(1, 12);
    expect(m.m3 / w.m3).toBeCloseTo(1, 9);
    expect(merged.rows).toBe(whole.rows);
    const wc = whole.columns.cat as CategoricalColumnProfile;
    const mc = merged.columns.cat as CategoricalColumnProfile;
    expect(new Map(mc.categories)).toEqual(new Map(wc.categories));
    expect([mc.count, mc.missing, mc.other]).toEqual([wc.count, wc.missing, wc.other]);
    // the merged profile tests exactly like the whole one
    expect(detectDrift(merged, cur, { method: 'ks' }).columns.num).toEqual(
      detectDrift(whole, cur, { method: 'ks' }).columns.num,
    );
  });

  it('a column in one profile only counts as missing in the other; conflicting types are refused', () => {
    const merged = mergeProfiles(profile({ a: [1, 2, 3] }), profile({ b: ['x', 'y'] }));
    expect(merged.columns.a).toMatchObject({ count: 3, missing: 2 });
    expect(merged.columns.b).toMatchObject({ count: 2, missing: 3 });
    expect(
      isKeelError(
        thrown(() => mergeProfiles(profile({ a: [1] }), profile({ a: ['x'] }))),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});

describe('sketch profiles (more than exactUpTo values)', () => {
  const big = { x: normals('s-ref', 20_000) };
  const later = { x: normals('s-cur', 5_000, 0.1, 1.2) };
  const p = profile(big, { exactUpTo: 5_000, sketchK: 256 });
  const col = p.columns.x as NumericColumnProfile;

  it('stores a sketch, not the values, and still the exact moments and histogram', () => {
    expect(col.values).toBeUndefined();
    expect(col.sketch?.n).toBe(20_000);
    expect(col.histogram).toEqual(
      profile(big).columns.x && (profile(big).columns.x as NumericColumnProfile).histogram,
    );
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it('binned distances equal the raw-reference results (exact Doane histogram)', () => {
    for (const method of ['psi', 'kl', 'jensenshannon', 'hellinger', 'linf', 'tvd']) {
      // The report's histogram of a sketch column is an estimate; the test result is exact.
      const { histogram: estimated, ...fromProfile } = detectDrift(p, later, { method }).columns.x!;
      const { histogram: exact, ...fromTable } = detectDrift(big, later, { method }).columns.x!;
      expect(fromProfile).toEqual(fromTable);
      expect(estimated?.type).toBe(exact?.type);
    }
  });

  it('ks, wasserstein and ttest agree with the raw reference within the sketch bound', () => {
    const eps = QuantileSketch.fromJSON(col.sketch).normalizedRankError();
    const ks = detectDrift(p, later, { method: 'ks' }).columns.x!;
    const rawKs = detectDrift(big, later, { method: 'ks' }).columns.x!;
    expect(Math.abs(ks.statistic - rawKs.statistic)).toBeLessThanOrEqual(eps);
    expect(ks.drifted).toBe(rawKs.drifted);
    const w = detectDrift(p, later, { method: 'wasserstein' }).columns.x!;
    const rawW = detectDrift(big, later, { method: 'wasserstein' }).columns.x!;
    const sd = Math.sqrt(col.m2 / col.count);
    expect(Math.abs(w.statistic - rawW.statistic)).toBeLessThanOrEqual(
      (eps * (col.max - col.min)) / sd,
    );
    const t = detectDrift(p, later, { method: 'ttest' }).columns.x!;
    const rawT = detectDrift(big, later, { method: 'ttest' }).columns.x!;
    expect(t.statistic).toBeCloseTo(rawT.statistic, 9);
    expect(t.pValue! / rawT.pValue!).toBeCloseTo(1, 6);
    // default selection for n > 1000 and many values: wasserstein, within the same bound
    expect(detectDrift(p, later).columns.x?.method).toBe('wasserstein');
  });

  it('refuses detectors that need the raw values, with a clear error', () => {
    for (const method of ['energy', 'cramervonmises', 'anderson', 'mannwhitney']) {
      const e = thrown(() => detectDrift(p, later, { method }));
      expect(isKeelError(e, 'KEEL_VALIDATION')).toBe(true);
      expect((e as Error).message).toMatch(
        /quantile sketch.*supports only ks, wasserstein, ttest, psi/,
      );
    }
    expect(
      isKeelError(
        thrown(() => detectDrift(p, later, { method: 'psi', binning: 'evidently' })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });

  it('merging two sketch halves stays within the bound of the whole', () => {
    const a = profile({ x: big.x.slice(0, 10_000) }, { exactUpTo: 5_000, sketchK: 256 });
    const b = profile({ x: big.x.slice(10_000) }, { exactUpTo: 5_000, sketchK: 256 });
    const merged = mergeProfiles(a, b).columns.x as NumericColumnProfile;
    expect([merged.count, merged.min, merged.max]).toEqual([col.count, col.min, col.max]);
    expect(merged.m2 / col.m2).toBeCloseTo(1, 12);
    const sketch = QuantileSketch.fromJSON(merged.sketch);
    const sorted = Float64Array.from(big.x).sort();
    const { values, cumulative } = sketch.weightedItems();
    for (let i = 0; i < sorted.length; i += 97) {
      const j = upperBound(values, sorted[i]!);
      const est = j ? cumulative[j - 1]! : 0;
      expect(Math.abs(est - upperBound(sorted, sorted[i]!))).toBeLessThanOrEqual(
        sketch.rankErrorBound,
      );
    }
    // histogram estimated from the merged sketch: same total, near the exact counts
    expect(merged.histogram.counts.reduce((s, c) => s + c, 0)).toBe(col.count);
    expect(merged.histogram.edges).toHaveLength(col.histogram.edges.length);
    merged.histogram.counts.forEach((c, i) => {
      expect(Math.abs(c - col.histogram.counts[i]!)).toBeLessThanOrEqual(
        2 * sketch.rankErrorBound + 1,
      );
    });
    // exact halves whose union exceeds exactUpTo become a sketch too
    const small = mergeProfiles(
      profile({ x: big.x.slice(0, 4000) }, { exactUpTo: 5_000 }),
      profile({ x: big.x.slice(4000, 8000) }, { exactUpTo: 5_000 }),
    );
    expect((small.columns.x as NumericColumnProfile).sketch?.n).toBe(8000);
  });
});

describe('profiled types', () => {
  it('numbers in the current table are labels of a column profiled as categorical', () => {
    const codes = profile({ code: [1, 2, 2, 3, 3, 3] }, { types: { code: 'categorical' } });
    const r = detectDrift(
      codes,
      { code: [1, 2, 3, 3, 3, 3] },
      { columns: { code: { method: 'chisquare' } } },
    );
    expect(r.columns.code).toMatchObject({ type: 'categorical', method: 'chisquare' });
    expect(r.columns.code).toEqual(
      detectDrift(
        { code: ['1', '2', '2', '3', '3', '3'] },
        { code: ['1', '2', '3', '3', '3', '3'] },
        {
          columns: { code: { method: 'chisquare' } },
        },
      ).columns.code,
    );
  });
});

describe('default selection on sketch columns', () => {
  it('falls back to jensenshannon where the rule would pick a label test (exactUpTo below 1000)', () => {
    const values = Array.from({ length: 800 }, (_, i) => i % 3);
    const p = profile({ v: values }, { exactUpTo: 100, sketchK: 16 });
    expect((p.columns.v as NumericColumnProfile).sketch).toBeDefined();
    const r = detectDrift(p, { v: values.slice(0, 400) });
    expect(r.columns.v?.method).toBe('jensenshannon');
    expect(r.columns.v?.statistic).toBe(
      detectDrift({ v: values }, { v: values.slice(0, 400) }, { method: 'jensenshannon' }).columns.v
        ?.statistic,
    );
  });
});

describe('degenerate sketch columns', () => {
  it('ttest on a sketch of a single or constant value behaves as the raw ttest', () => {
    for (const [ref, cur] of [
      [[5], [5, 5]],
      [[5], [6, 7]],
      [
        [1, 1, 1],
        [1, 1],
      ],
    ] as const) {
      const p = profile({ x: [...ref] }, { exactUpTo: 0, sketchK: 8 });
      expect((p.columns.x as NumericColumnProfile).sketch).toBeDefined();
      const got = detectDrift(p, { x: [...cur] }, { method: 'ttest' }).columns.x;
      const raw = detectDrift({ x: [...ref] }, { x: [...cur] }, { method: 'ttest' }).columns.x;
      expect([got?.statistic, got?.pValue]).toEqual([raw?.statistic, raw?.pValue]);
    }
  });
});

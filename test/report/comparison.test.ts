import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { MAX_POINTS_PER_SERIES } from '../../src/report/charts.js';
import { renderRunComparison } from '../../src/report.js';
import { thrown } from '../helpers/data.js';
import { comparedRuns, IMG_NAME } from './fixtures.js';
import { chartSpecs, expectNoInjectedMarkup, externalReferences } from './helpers.js';

describe('renderRunComparison', () => {
  const runs = comparedRuns();
  const page = renderRunComparison(runs);

  it('puts params and last metrics side by side and marks the rows that differ', () => {
    expect(page).toMatch(/<tr class="diff"><th scope="row">lr <span class="badge warn">differs/);
    expect(page).toMatch(/<tr><th scope="row">optimizer<\/th><td>adam<\/td><td>adam<\/td><\/tr>/);
    expect(page).toContain('4 min 05 s');
  });

  it('overlays each metric’s curves, one series per run; NaN is a gap', () => {
    const specs = chartSpecs(page);
    expect(specs.map((s) => s.kind)).toEqual(['line', 'line']);
    const acc = specs.find((s) => (s.series as { values: unknown[] }[])[0]!.values[10] === null);
    expect(acc).toBeDefined();
    expect((acc!.series as { label: string }[]).map((s) => s.label)).toEqual([
      'baseline',
      runs[1]!.run.name,
    ]);
    expect(acc!.x).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('takes plain runs too (last values only), and thins long histories', () => {
    const plain = renderRunComparison(runs.map((r) => r.run));
    expect(chartSpecs(plain)).toEqual([]);
    expect(plain).toContain('No metric history to draw');
    const long = Array.from({ length: 50_000 }, (_, step) => ({
      key: 'loss',
      value: Math.sin(step),
      step,
      timestamp: step,
    }));
    const spec = chartSpecs(
      renderRunComparison([{ run: runs[0]!.run, history: { loss: long } }]),
    )[0]!;
    const values = (spec.series as { values: number[] }[])[0]!.values;
    expect(values.length).toBeLessThanOrEqual(MAX_POINTS_PER_SERIES);
    expect(Math.max(...values)).toBeCloseTo(1, 3); // the peaks survive thinning
    expect(Math.min(...values)).toBeCloseTo(-1, 3);
  });

  it('escapes hostile run, metric and param names; loads nothing', () => {
    expectNoInjectedMarkup(page);
    expect(page).toContain(
      IMG_NAME.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'),
    );
    expect(externalReferences(page)).toEqual([]);
  });

  it('refuses entries that are not runs', () => {
    expect(
      isKeelError(
        thrown(() => renderRunComparison([{ id: 1 }] as never)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});

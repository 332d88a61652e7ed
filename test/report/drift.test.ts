import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { renderDriftReport } from '../../src/report.js';
import { thrown } from '../helpers/data.js';
import { driftReport, IMG_NAME, SCRIPT_NAME } from './fixtures.js';
import { chartSpecs, expectNoInjectedMarkup, externalReferences, unescapeHtml } from './helpers.js';

const report = driftReport();
const page = renderDriftReport(report, {
  title: 'Churn features',
  description: 'March vs February',
});

/** Column names in the order of the columns table (its row headers link to the cards). */
function tableOrder(out: string): string[] {
  return [...out.matchAll(/<th scope="row"><a href="#column-\d+">([^<]*)<\/a>/g)].map((m) =>
    unescapeHtml(m[1]!),
  );
}

describe('renderDriftReport', () => {
  it('summarises the verdict, the tested, drifted and skipped columns, method and correction', () => {
    expect(report.drifted).toBe(true);
    expect(page).toContain('Dataset drift detected');
    const tested = Object.keys(report.columns).length;
    expect(page).toContain(`${report.driftedColumns} of ${tested} tested columns drifted`);
    expect(page).toContain('Benjamini-Hochberg');
    expect(page).toMatch(/Skipped columns<\/span><span class="value">1</);
    expect(page).toContain('type_mismatch');
    for (const method of new Set(Object.values(report.columns).map((c) => c.method))) {
      expect(page).toContain(`<code>${method}</code>`);
    }
  });

  it('lists every tested column with test, statistic, p-value, threshold and effect size', () => {
    expect(new Set(tableOrder(page))).toEqual(new Set(Object.keys(report.columns)));
    expect(page).toContain('Effect size');
    const withEffect = Object.values(report.columns).find((c) => c.effect);
    expect(withEffect).toBeDefined();
    expect(page).toContain(`${withEffect!.effect!.method} `);
  });

  it('sorts columns by drift score: drifted first, then how far past the threshold', () => {
    const order = tableOrder(page);
    const score = (name: string): [number, number] => {
      const c = report.columns[name]!;
      const s =
        c.kind === 'p_value'
          ? c.threshold / (c.pValue ?? Number.POSITIVE_INFINITY)
          : c.statistic / c.threshold;
      return [Number(c.drifted), s];
    };
    for (let i = 1; i < order.length; i++) {
      const [d0, s0] = score(order[i - 1]!);
      const [d1, s1] = score(order[i]!);
      expect(d0 > d1 || (d0 === d1 && s0 >= s1)).toBe(true);
    }
    expect(report.columns.age!.drifted && !report.columns.clicks!.drifted).toBe(true);
    expect(order.indexOf('age')).toBeLessThan(order.indexOf('clicks'));
  });

  it('draws each column from the histogram kept in the report: bins for numbers, bar pairs for labels', () => {
    const specs = chartSpecs(page);
    expect(specs).toHaveLength(Object.keys(report.columns).length);
    for (const spec of specs) {
      const series = spec.series as { label: string; values: number[] }[];
      expect(series.map((s) => s.label)).toEqual(['reference', 'current']);
      for (const s of series) expect(s.values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }
    const kinds = specs.map((s) => s.kind).sort();
    expect(kinds).toContain('histogram');
    expect(kinds).toContain('bars');
    const plan = specs.find((s) => s.kind === 'bars' && (s.labels as string[]).includes('pro'));
    expect(plan?.labels).toContain(SCRIPT_NAME);
  });

  it('renders the same page from the stored JSON alone', () => {
    const stored = JSON.parse(JSON.stringify(report));
    expect(
      renderDriftReport(stored, { title: 'Churn features', description: 'March vs February' }),
    ).toBe(page);
  });

  it('escapes hostile column names and labels, and titles', () => {
    expect(page).toContain('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;');
    expectNoInjectedMarkup(page);
    const titled = renderDriftReport(report, { title: SCRIPT_NAME, description: IMG_NAME });
    expectNoInjectedMarkup(titled);
    expect(titled).toContain('<title>&lt;script&gt;window.__pwned=1&lt;/script&gt;</title>');
  });

  it('is self-contained: no URL to load, a CSP that allows nothing else', () => {
    expect(externalReferences(page)).toEqual([]);
    expect(page).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;`,
    );
    expect(page.match(/<link\b[^>]*>/g)).toEqual(['<link rel="icon" href="data:,">']);
  });

  it('a report from before histograms were kept still renders, without charts', () => {
    const old = JSON.parse(JSON.stringify(report));
    for (const c of Object.values(old.columns) as { histogram?: unknown }[]) delete c.histogram;
    delete old.skipped;
    const out = renderDriftReport(old);
    expect(out).toContain('No histogram in this report');
    expect(chartSpecs(out)).toEqual([]);
  });

  it('refuses what is not a drift report with a ValidationError', () => {
    expect(
      isKeelError(
        thrown(() => renderDriftReport({} as never)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
    const bad = JSON.parse(JSON.stringify(report));
    bad.columns.age.histogram.reference.pop();
    const error = thrown(() => renderDriftReport(bad));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    expect((error as Error).message).toMatch(/^\[keel\] invalid drift report: .*one count per bin/);
  });
});

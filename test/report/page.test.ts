import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CHART_SCRIPT } from '../../src/report/client.js';
import { html } from '../../src/report/html.js';
import { contentSecurityPolicy, renderPage } from '../../src/report/page.js';
import { UPLOT_CSS, UPLOT_JS, UPLOT_VERSION } from '../../src/report/vendor/uplot.js';

const require = createRequire(import.meta.url);

describe('page shell', () => {
  it('the CSP names, by hash, exactly the inline scripts and styles of a page', () => {
    const page = renderPage({ title: 't', body: html`<p>x</p>`, charts: true });
    const csp = contentSecurityPolicy({ selfImages: true });
    const inline = [...page.matchAll(/<(script|style)>([\s\S]*?)<\/\1>/g)];
    expect(inline).toHaveLength(4);
    for (const [, kind, text] of inline) {
      const hash = `'sha256-${createHash('sha256').update(text!).digest('base64')}'`;
      expect(csp).toMatch(new RegExp(`${kind}-src [^;]*${hash.replace(/[+/]/g, '\\$&')}`));
    }
    expect(csp).toMatch(/^default-src 'none'; /);
    expect(csp).not.toContain('unsafe-inline');
  });

  it('pages without charts carry neither uPlot nor the chart script', () => {
    const page = renderPage({ title: 't', body: html`<p>x</p>` });
    expect(page).not.toContain('uPlot');
    expect(page.length).toBeLessThan(12_000);
  });

  it('the vendored uPlot is the installed package’s build (run npm run vendor:uplot after an upgrade)', () => {
    const dir = require.resolve('uplot/package.json').replace(/package\.json$/, '');
    expect(UPLOT_VERSION).toBe(JSON.parse(readFileSync(`${dir}package.json`, 'utf8')).version);
    expect(UPLOT_JS).toBe(readFileSync(`${dir}dist/uPlot.iife.min.js`, 'utf8').trim());
    expect(UPLOT_CSS).toBe(readFileSync(`${dir}dist/uPlot.min.css`, 'utf8').trim());
  });

  it('the chart script is valid JavaScript that needs nothing but the DOM and uPlot', () => {
    expect(() => new Function(CHART_SCRIPT)).not.toThrow();
    expect(CHART_SCRIPT).not.toMatch(/__name|require\(|import\(/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { html, isSafeHtml, trusted } from '../../src/report/html.js';
import { unescapeHtml } from './helpers.js';

describe('html (the one escaping helper)', () => {
  it('escapes every interpolated string, in content and in quoted attributes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const out = html`<p title="${text}">${text}</p>`.html;
        const inner = out.slice('<p title="'.length, out.indexOf('">'));
        expect(inner).not.toMatch(/[<>"'`]/);
        expect(unescapeHtml(inner)).toBe(text);
        expect(out.split('<').length).toBe(3); // only the two tags of the template
      }),
    );
  });

  it('inserts fragments as they are, joins arrays, skips null, undefined and false', () => {
    const inner = html`<b>${'<i>'}</b>`;
    const out = html`<div>${inner}${[html`<br>`, '&', 3]}${null}${undefined}${false}${true}</div>`;
    expect(out.html).toBe('<div><b>&lt;i&gt;</b><br>&amp;3true</div>');
    expect(isSafeHtml(out)).toBe(true);
    expect(isSafeHtml({ html: '<script>' })).toBe(false);
  });

  it('an object posing as a fragment is text, not markup', () => {
    const fake = { html: '<script>alert(1)</script>', toString: () => '<script>' };
    expect(html`${fake as unknown as string}`.html).toBe('&lt;script&gt;');
    expect(html`${trusted('<hr>')}`.html).toBe('<hr>');
  });
});

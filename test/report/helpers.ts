/** Checks shared by the report and UI tests: what a page may reference, and its chart data. */
import { expect } from 'vitest';

/**
 * Every URL a page could load or send to (src, href, action, CSS url(), @import), but fragments
 * and the empty data: URL of the icon (which keeps browsers from asking for /favicon.ico).
 */
export function externalReferences(page: string): string[] {
  const refs: string[] = [];
  for (const m of page.matchAll(/\b(?:src|href|action|srcset|poster|data)\s*=\s*"([^"]*)"/gi)) {
    if (!m[1]!.startsWith('#') && m[1] !== 'data:,') refs.push(m[1]!);
  }
  for (const m of page.matchAll(/url\(\s*['"]?([^'")]*)/gi)) {
    if (!m[1]!.startsWith('#')) refs.push(m[1]!);
  }
  for (const m of page.matchAll(/@import\s+([^;]+)/gi)) refs.push(m[1]!);
  return refs;
}

/** Undoes the escaping of `html` (for reading attribute values back). */
export function unescapeHtml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');
}

/** The chart specs of a page, parsed from their `data-chart` attributes. */
export function chartSpecs(page: string): { kind: string; [k: string]: unknown }[] {
  return [...page.matchAll(/data-chart="([^"]*)"/g)].map((m) => JSON.parse(unescapeHtml(m[1]!)));
}

/** The page has no live markup from hostile names: every `<` of them arrived escaped. */
export function expectNoInjectedMarkup(page: string): void {
  expect(page).not.toMatch(/<img\b/i);
  expect(page).not.toContain('<script>window.__pwned');
  expect(page).not.toMatch(/onerror="window/);
}

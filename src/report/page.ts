/**
 * @module
 * The page shell shared by every report and UI page: one self-contained HTML document with
 * keel's stylesheet and, when a page has charts, uPlot and the chart script inline. Nothing
 * is fetched: the Content-Security-Policy (a `<meta>` in reports, a header in the UI) allows
 * only these exact inline elements, by hash.
 */
import { encodeBase64 } from '../core/base64.js';
import { sha256 } from '../core/digest.js';
import { CHART_SCRIPT } from './client.js';
import { html, type SafeHtml, trusted } from './html.js';
import { STYLES } from './styles.js';
import { UPLOT_CSS, UPLOT_JS } from './vendor/uplot.js';

/** The parts of a page. */
export interface PageParts {
  /** The document title (text). */
  title: string;
  /** The content of `<main>`. */
  body: SafeHtml;
  /** Inline uPlot and the chart script (only pages with charts pay for them). */
  charts?: boolean;
  /** Markup before `<main>` (the UI's navigation bar). */
  header?: SafeHtml;
  /** Put the Content-Security-Policy in a `<meta>` (standalone reports). Default true. */
  metaCsp?: boolean;
}

/** Renders a whole HTML document. */
export function renderPage(parts: PageParts): string {
  const charts = parts.charts === true;
  const csp = parts.metaCsp === false ? '' : contentSecurityPolicy({ selfImages: false });
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${csp ? html`<meta http-equiv="Content-Security-Policy" content="${csp}">` : ''}
<meta name="referrer" content="no-referrer">
<meta name="generator" content="keel">
<link rel="icon" href="data:,">
<title>${parts.title}</title>
<style>${trusted(STYLES)}</style>
${charts ? html`<style>${trusted(UPLOT_CSS)}</style>` : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${parts.header}
<main id="main">
${parts.body}
</main>
<footer>Made with keel.</footer>
${charts ? html`<script>${trusted(UPLOT_JS)}</script><script>${trusted(CHART_SCRIPT)}</script>` : ''}
</body>
</html>
`;
  return doc.html;
}

/**
 * The Content-Security-Policy of keel's pages: nothing may load from anywhere (`default-src
 * 'none'`) but keel's own inline stylesheets and scripts, named by their SHA-256. With
 * `selfImages`, images and forms may use the page's own origin (the UI's filter form).
 */
export function contentSecurityPolicy(opts: { selfImages: boolean }): string {
  hashes ??= {
    scripts: [UPLOT_JS, CHART_SCRIPT].map(cspHash),
    styles: [STYLES, UPLOT_CSS].map(cspHash),
  };
  const self = opts.selfImages;
  return [
    "default-src 'none'",
    `script-src ${hashes.scripts.join(' ')}`,
    `style-src ${hashes.styles.join(' ')}`,
    self ? "img-src 'self' data:" : 'img-src data:',
    "base-uri 'none'",
    self ? "form-action 'self'" : "form-action 'none'",
    ...(self ? ["frame-ancestors 'self'"] : []),
  ].join('; ');
}

let hashes: { scripts: string[]; styles: string[] } | undefined;

function cspHash(text: string): string {
  const hex = sha256(text).slice(7);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return `'sha256-${encodeBase64(bytes)}'`;
}

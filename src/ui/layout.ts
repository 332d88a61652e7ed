/**
 * @module
 * The UI's chrome around every page: the navigation bar, breadcrumbs, and the error pages.
 * Pages are whole documents from the report page shell, with the CSP sent as a header.
 */
import { html, type SafeHtml } from '../report/html.js';
import { renderPage } from '../report/page.js';
import type { HtmlPage } from './context.js';

/** Lays out a page: a navigation bar, breadcrumbs, the page's content. */
export function layout(page: HtmlPage, home: string, csp: string): { html: string; csp: string } {
  const nav = (fragment: string, label: string): SafeHtml =>
    html`<a href="${home}${fragment}">${label}</a>`;
  const audit = `${home.replace(/\/$/, '')}/audit`;
  const header = html`<header class="bar"><a class="brand" href="${home}">keel</a><nav aria-label="Main">${nav('#experiments', 'Experiments')}${nav('#models', 'Models')}<a href="${audit}">Audit log</a></nav></header>`;
  const crumbs = page.crumbs.length
    ? html`<nav aria-label="Breadcrumb"><p class="crumbs"><a href="${home}">Home</a>${page.crumbs.map(
        ([label, link], i) =>
          i === page.crumbs.length - 1 || link === undefined
            ? html` › <span aria-current="page">${label}</span>`
            : html` › <a href="${link}">${label}</a>`,
      )}</p></nav>`
    : html``;
  return {
    html: renderPage({
      title: `${page.title} · keel`,
      header,
      body: html`${crumbs}${page.body}`,
      charts: page.charts === true,
      metaCsp: false,
    }),
    csp,
  };
}

/** A page that says what went wrong (404, 400, 405, 500). */
export function errorPage(status: number, message: string): HtmlPage {
  const title = TITLES[status] ?? 'Error';
  return {
    kind: 'html',
    status,
    title,
    crumbs: [[title]],
    body: html`<h1>${title}</h1><p class="filter-error" role="alert">${message}</p>`,
  };
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'Could not read the store',
};

/**
 * @module
 * The UI's route table: each stable URL (relative to the base path) and the page that serves
 * it, one page per file under `pages/`.
 */
import type { Page } from './context.js';
import { artifactDownload } from './pages/artifact.js';
import { auditPage } from './pages/audit.js';
import { comparePage } from './pages/compare.js';
import { experimentPage } from './pages/experiment.js';
import { homePage } from './pages/home.js';
import { modelPage } from './pages/model.js';
import { reportPage } from './pages/report.js';
import { runPage } from './pages/run.js';

/** A route: a pattern on the raw (still percent-encoded) path and its page. */
export interface Route {
  /** Anchored; each group is one path segment, decoded before the page sees it. */
  pattern: RegExp;
  page: Page;
}

/** Every page of the UI. */
export const routes: readonly Route[] = [
  { pattern: /^\/$/, page: homePage },
  { pattern: /^\/experiments\/([^/]+)$/, page: experimentPage },
  { pattern: /^\/runs\/([^/]+)$/, page: runPage },
  { pattern: /^\/compare$/, page: comparePage },
  { pattern: /^\/models\/([^/]+)$/, page: modelPage },
  { pattern: /^\/audit$/, page: auditPage },
  { pattern: /^\/reports\/([^/]+)$/, page: reportPage },
  { pattern: /^\/artifacts\/([^/]+)$/, page: artifactDownload },
];

/** The page for `path` and its decoded parameters, or undefined. */
export function matchRoute(path: string): { page: Page; params: string[] } | undefined {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m) return { page: route.page, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}

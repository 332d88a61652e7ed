/**
 * @module
 * What every UI page receives (the keel it reads, its route parameters and query, and how to
 * write links under the base path) and what it returns (a page to lay out, or bytes to send).
 */
import type { Keel } from '../keel.js';
import type { SafeHtml } from '../report/html.js';

/** The parts of keel the UI reads: it never writes through them. */
export type UiKeel = Pick<Keel, 'tracker' | 'registry' | 'artifacts'>;

/** A request as a page sees it. */
export interface PageContext {
  keel: UiKeel;
  /** The route's parameters, decoded. */
  params: readonly string[];
  query: URLSearchParams;
  /** Rows per page of long lists. */
  pageSize: number;
  /**
   * A link under the base path: path segments (each percent-encoded) and an optional query
   * (empty values left out). `href(['runs', id])` is `<base>/runs/<id>`.
   */
  href(segments: readonly string[], query?: Record<string, string | undefined>): string;
}

/** A page to lay out in the UI's chrome. */
export interface HtmlPage {
  kind: 'html';
  /** HTTP status (default 200). */
  status?: number;
  /** The document title. */
  title: string;
  /** Breadcrumbs after the home link: label and link (the last is the current page). */
  crumbs: readonly (readonly [label: string, href?: string])[];
  body: SafeHtml;
  /** The page has charts (inline uPlot and the chart script). */
  charts?: boolean;
}

/** Bytes to send as a download (artifacts). */
export interface DownloadPage {
  kind: 'download';
  /** The file name offered to the browser. */
  filename: string;
  size: number;
  body: AsyncIterable<Uint8Array>;
}

/** What a page function returns. */
export type PageResult = HtmlPage | DownloadPage;

/** One UI page: reads through the public API, returns HTML (or a download). */
export type Page = (ctx: PageContext) => Promise<PageResult>;

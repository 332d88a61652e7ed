/**
 * @module
 * `createUiHandler`: keel's read-only web UI as one `node:http` request handler. It finds the
 * page for the path under the base path, lets it read through the public API, lays the result
 * out and answers with strict security headers. It never writes to the store; the host
 * application's authentication protects it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { basePathOption, normalizeBasePath, pathUnderBase } from '../core/base-path.js';
import { isKeelError, ValidationError } from '../core/errors.js';
import { assertReadableObject, parseWith } from '../core/validate.js';
import { contentSecurityPolicy } from '../report/page.js';
import type { PageContext, PageResult, UiKeel } from './context.js';
import { errorPage, layout } from './layout.js';
import { matchRoute } from './routes.js';

/** Options of {@link createUiHandler}. */
export interface UiHandlerOptions {
  /** The keel to show (its tracker, registry and artifacts are read, never written). */
  keel: UiKeel;
  /**
   * Where the UI is mounted, e.g. `/keel` (default: the root). Links are written under it; a
   * request path under it is served with the prefix removed (a path a framework already
   * stripped, as Express's `app.use('/keel', …)` does, is served as it is).
   */
  basePath?: string;
  /** Rows per page of the runs table and other long lists (default 50, at most 1000). */
  pageSize?: number;
}

/** A `node:http` request handler (also what Express, Fastify's `reply.raw` and Hono's node adapter hand over). */
export type UiHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Creates keel's read-only web UI as a request handler for `node:http`, mountable in Express,
 * Fastify or Hono under a base path (docs/ui.md shows each). Pages, relative to the base
 * path: `/` (experiments and models), `/experiments/<name>?filter=…&order=…&cursor=…`,
 * `/runs/<id>`, `/compare?runs=a,b,c`, `/models/<name>`, `/audit`, `/reports/<digest>` (a
 * stored drift, gate or pipeline report) and `/artifacts/<digest>` (a download).
 *
 * Only `GET` and `HEAD` are served (`405` otherwise). Every HTML response carries a
 * Content-Security-Policy that allows only the page's own inline styles and scripts, by hash.
 *
 * @throws {ValidationError} when the options are malformed (no keel, a base path that is not a
 *   path).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createUiHandler } from 'keel/ui';
 * createServer(createUiHandler({ keel })).listen(3000, '127.0.0.1');
 * ```
 */
export function createUiHandler(options: UiHandlerOptions): UiHandler {
  assertReadableObject(options, 'createUiHandler options');
  const keel = options?.keel;
  if (!isUiKeel(keel)) {
    throw new ValidationError(
      '[keel] invalid createUiHandler options: keel must be a keel (createKeel) with tracker, ' +
        'registry and artifacts; pass { keel }',
    );
  }
  const o = parseWith(
    optionsSchema,
    { basePath: options.basePath, pageSize: options.pageSize },
    'createUiHandler options',
  );
  const base = normalizeBasePath(o.basePath ?? '');
  const pageSize = o.pageSize ?? 50;
  const href: PageContext['href'] = (segments, query) => {
    // ':' stays readable (digests): every link is an absolute path, never read as a scheme.
    const path =
      segments.map((s) => `/${encodeURIComponent(s).replaceAll('%3A', ':')}`).join('') || '/';
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== '') search.set(k, v);
    const qs = search.toString();
    return `${base}${path}${qs ? `?${qs}` : ''}`;
  };
  const home = href([]);
  const csp = contentSecurityPolicy({ selfImages: true });

  return (req, res) => {
    void serve(req, res).catch((error: unknown) => {
      // Only reachable when writing the response itself failed: nothing more can be sent.
      res.destroy(error instanceof Error ? error : undefined);
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendHtml(
        req,
        res,
        405,
        layout(errorPage(405, 'This UI is read-only: only GET and HEAD are served.'), home, csp),
      );
      return;
    }
    let result: PageResult;
    try {
      const url = requestUrl(req, base);
      const route = matchRoute(url.pathname);
      if (!route) {
        result = errorPage(404, `No page at ${url.pathname}.`);
      } else {
        result = await route.page({
          keel,
          params: route.params,
          query: url.searchParams,
          pageSize,
          href,
        });
      }
    } catch (error) {
      result = pageForError(error);
    }
    if (result.kind === 'download') {
      await sendDownload(req, res, result);
      return;
    }
    sendHtml(req, res, result.status ?? 200, layout(result, home, csp));
  }
}

/** The response headers of every HTML page. */
function sendHtml(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  page: { html: string; csp: string },
): void {
  const body = Buffer.from(page.html, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': body.length,
    'Content-Security-Policy': page.csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'SAMEORIGIN',
    'Cache-Control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function sendDownload(
  req: IncomingMessage,
  res: ServerResponse,
  download: Extract<PageResult, { kind: 'download' }>,
): Promise<void> {
  res.writeHead(200, {
    // Never let a browser render stored bytes as a page of this origin.
    'Content-Type': 'application/octet-stream',
    'Content-Length': download.size,
    'Content-Disposition': contentDisposition(download.filename),
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  for await (const chunk of download.body) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

function pageForError(error: unknown): PageResult {
  if (isKeelError(error, 'KEEL_NOT_FOUND')) return errorPage(404, (error as Error).message);
  if (isKeelError(error, 'KEEL_VALIDATION') || error instanceof URIError) {
    return errorPage(400, (error as Error).message);
  }
  if (isKeelError(error, 'KEEL_INTEGRITY')) return errorPage(500, (error as Error).message);
  // Other errors may carry internals: say what failed, not why.
  return errorPage(500, 'The page could not be read from the store; see the server log.');
}

/** The request's URL relative to the base path. */
function requestUrl(req: IncomingMessage, base: string): URL {
  const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
  for (const candidate of [original, req.url]) {
    if (candidate === undefined) continue;
    const url = new URL(candidate, 'http://ui.invalid');
    const path = pathUnderBase(url.pathname, base);
    if (path !== undefined) {
      url.pathname = path;
      return url;
    }
  }
  // A framework that mounted the handler already removed the base path from req.url.
  return new URL(req.url ?? '/', 'http://ui.invalid');
}

/** `attachment` with an ASCII fallback name and the exact name in RFC 5987 form. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%;]/g, '_') || 'artifact';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

function isUiKeel(k: unknown): k is UiKeel {
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof (k as UiKeel).tracker === 'object' &&
    typeof (k as UiKeel).registry === 'object' &&
    typeof (k as UiKeel).artifacts === 'object'
  );
}

const optionsSchema = z.object({
  basePath: basePathOption('/keel'),
  pageSize: z.number().int().min(1).max(1000).optional(),
});

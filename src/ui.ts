/**
 * @module
 * keel/ui (Node): keel's read-only web UI as one request handler for `node:http`, to mount in
 * an Express, Fastify or Hono application under a base path, behind that application's own
 * authentication. Server-rendered pages, charts by the same code as `keel/report`, a strict
 * Content-Security-Policy, no request leaving the host. See docs/ui.md.
 */

export type { UiKeel } from './ui/context.js';
export { createUiHandler, type UiHandler, type UiHandlerOptions } from './ui/handler.js';

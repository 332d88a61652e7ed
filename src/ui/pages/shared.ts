/**
 * @module
 * Pieces several UI pages share: cursor paging links, run links, and looking up a stored
 * artifact named in the URL.
 */
import type { ArtifactMeta } from '../../artifacts/types.js';
import { isDigest } from '../../core/digest.js';
import { NotFoundError } from '../../core/errors.js';
import { html, type SafeHtml } from '../../report/html.js';
import type { Run } from '../../tracking/types.js';
import type { PageContext, UiKeel } from '../context.js';

/** "First page" / "Next page" links of a cursor-paged list. */
export function pager(
  paged: boolean,
  next: string | undefined,
  link: (cursor: string | undefined) => string,
  what: string,
): SafeHtml {
  if (!paged && next === undefined) return html``;
  return html`<nav class="pager" aria-label="Pages of ${what}">${
    paged ? html`<a class="button secondary" href="${link(undefined)}">First page</a>` : ''
  }${next ? html`<a class="button" href="${link(next)}" rel="next">Next page</a>` : html`<span class="muted">Last page</span>`}</nav>`;
}

/** A link to a run page, by name (and id when the run has no name). */
export function runLink(href: PageContext['href'], run: Pick<Run, 'id' | 'name'>): SafeHtml {
  return html`<a href="${href(['runs', run.id])}">${run.name ?? run.id}</a>`;
}

/** The artifact whose digest is the URL segment `text`; `NotFoundError` (404) when there is none. */
export async function storedArtifact(keel: UiKeel, text: string): Promise<ArtifactMeta> {
  const meta = isDigest(text) ? await keel.artifacts.stat(text) : undefined;
  if (!meta) {
    throw new NotFoundError(
      `[keel] no artifact ${text} in the store (a digest is sha256:<64 hex>); check the link`,
    );
  }
  return meta;
}

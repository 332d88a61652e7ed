/**
 * @module
 * `/audit`: the registry's audit log: whether its hash chain verifies, and the latest entries
 * (newest first), paged back with `?before=<offset>`.
 */

import type { AuditEntry } from '../../registry/types.js';
import { formatTime, shortDigest } from '../../report/format.js';
import { html } from '../../report/html.js';
import { badge, statusBadge, table, tiles } from '../../report/widgets.js';
import type { Page } from '../context.js';

/** The audit log. */
export const auditPage: Page = async ({ keel, query, pageSize, href }) => {
  const verification = await keel.registry.verifyAudit();
  const beforeText = query.get('before');
  const before =
    beforeText !== null && /^\d+$/.test(beforeText)
      ? Math.min(Number(beforeText), verification.entries)
      : verification.entries;
  const from = Math.max(0, before - pageSize);
  const entries: AuditEntry[] = [];
  for await (const entry of keel.registry.audit({ from })) {
    if (entry.offset >= before) break;
    entries.push(entry);
  }
  entries.reverse();
  const resource = (e: AuditEntry): string =>
    [
      e.resource.model,
      e.resource.alias ? `alias ${e.resource.alias}` : undefined,
      e.resource.version !== undefined ? `v${e.resource.version}` : undefined,
    ]
      .filter(Boolean)
      .join(' · ') || '—';
  return {
    kind: 'html',
    title: 'Audit log',
    crumbs: [['Audit log']],
    body: html`<h1>Audit log</h1>
<div class="verdict">${verification.ok ? badge('ok', 'Hash chain verified') : badge('bad', 'Hash chain broken')} <span>${verification.entries} entries read${
      verification.ok
        ? ''
        : html`; first bad offset ${String(verification.firstBadOffset ?? '?')}${verification.reason ? html`: ${verification.reason}` : ''}`
    }.</span></div>
${tiles([
  ['Entries', String(verification.entries)],
  ['Verified', verification.ok ? 'yes' : 'no'],
  [
    'Last good hash',
    html`<code title="${verification.headHash}">${shortDigest(verification.headHash)}</code>`,
  ],
])}
<h2 id="entries">Latest entries</h2>
${table({
  caption: `Entries ${from} to ${Math.max(from, before - 1)}, newest first.`,
  head: [{ text: 'Offset', num: true }, 'Time', 'Actor', 'Action', 'Resource', 'Outcome', 'Hash'],
  rows: entries.map((e) => [
    { num: String(e.offset) },
    formatTime(e.timestamp),
    e.actor.id,
    html`<code>${e.action}</code>`,
    resource(e),
    statusBadge(typeof e.details.outcome === 'string' ? e.details.outcome : 'ok'),
    html`<code title="${e.hash}">${shortDigest(e.hash)}</code>`,
  ]),
  className: 'compact',
  empty: 'The audit log is empty.',
})}
${from > 0 ? html`<nav class="pager" aria-label="Pages of entries"><a class="button" href="${href(['audit'], { before: String(from) })}">Older entries</a>${before < verification.entries ? html` <a class="button secondary" href="${href(['audit'])}">Latest entries</a>` : ''}</nav>` : before < verification.entries ? html`<nav class="pager"><a class="button secondary" href="${href(['audit'])}">Latest entries</a></nav>` : ''}`,
  };
};

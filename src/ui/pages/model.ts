/**
 * @module
 * `/models/<name>`: a registered model: its versions (metrics, run, artifact, status), its
 * aliases, and every alias's history with actor, reason and evidence (a link to the stored
 * gate report).
 */

import type { AliasChange, ModelVersion } from '../../registry/types.js';
import { formatNumber, formatTime, shortDigest } from '../../report/format.js';
import { html, type SafeHtml } from '../../report/html.js';
import { badge, statusBadge, table, tiles } from '../../report/widgets.js';
import type { Page, PageContext } from '../context.js';
import { pager } from './shared.js';

/** Most metric columns in the versions table. */
const MAX_METRIC_COLUMNS = 10;

/** One model. */
export const modelPage: Page = async (ctx) => {
  const [name] = ctx.params as [string];
  const { registry } = ctx.keel;
  const cursor = ctx.query.get('cursor') ?? undefined;
  const model = await registry.getModel(name);
  const [versions, aliases] = await Promise.all([
    registry.listVersions(name, { limit: ctx.pageSize, ...(cursor ? { cursor } : {}) }),
    registry.listAliases(name),
  ]);
  const aliasNames = Object.keys(aliases).sort();
  const histories = await Promise.all(aliasNames.map((a) => registry.aliasHistory(name, a)));
  const byVersion = new Map<number, string[]>();
  for (const a of aliasNames)
    byVersion.set(aliases[a]!, [...(byVersion.get(aliases[a]!) ?? []), a]);
  return {
    kind: 'html',
    title: `Model ${name}`,
    crumbs: [['Models', `${ctx.href([])}#models`], [name]],
    body: html`<h1>Model ${name}</h1>
${model.description ? html`<p>${model.description}</p>` : ''}
${tiles([
  ['Created', formatTime(model.createdAt)],
  ['By', model.createdBy],
  [
    'Aliases',
    aliasNames.length
      ? aliasNames.map((a, i) => html`${i ? ', ' : ''}${a} → v${aliases[a]!}`)
      : '—',
  ],
])}
<h2 id="versions">Versions</h2>
${versionsTable(ctx, versions.versions, byVersion)}
${pager(cursor !== undefined, versions.nextCursor, (c) => ctx.href(['models', name], { cursor: c }), 'versions')}
<h2 id="aliases">Alias history</h2>
${aliasNames.length ? aliasNames.map((a, i) => aliasHistory(ctx, a, histories[i]!)) : html`<p class="empty">No alias set.</p>`}`,
  };
};

function versionsTable(
  ctx: PageContext,
  versions: readonly ModelVersion[],
  aliases: ReadonlyMap<number, string[]>,
): SafeHtml {
  const keys = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))]
    .sort()
    .slice(0, MAX_METRIC_COLUMNS);
  return table({
    caption: 'Each version: the artifact, the run that produced it, its metrics and aliases.',
    head: [
      'Version',
      'Status',
      'Aliases',
      'Created',
      'By',
      'Run',
      'Artifact',
      ...keys.map((k) => ({ text: k, num: true })),
    ],
    rows: versions.map((v) => [
      { header: `v${v.version}` },
      statusBadge(v.status),
      (aliases.get(v.version) ?? []).map((a) => html`${badge('info', a)} `),
      formatTime(v.createdAt),
      v.createdBy,
      v.runId ? html`<a href="${ctx.href(['runs', v.runId])}"><code>${v.runId}</code></a>` : '—',
      html`<a href="${ctx.href(['artifacts', v.artifact.digest], { name: `${v.model}-v${v.version}` })}" download title="${v.artifact.digest}"><code>${shortDigest(v.artifact.digest)}</code></a>`,
      ...keys.map((k) => ({
        num: Object.hasOwn(v.metrics, k) ? formatNumber(v.metrics[k]!) : '—',
      })),
    ]),
    className: 'compact',
    empty: 'No version registered.',
  });
}

function aliasHistory(ctx: PageContext, alias: string, changes: readonly AliasChange[]): SafeHtml {
  return html`<h3>${alias}</h3>${table({
    caption: html`Every move of alias ${alias}, newest first.`,
    head: ['When', 'Version', 'From', 'Actor', 'Reason', 'Evidence'],
    rows: [...changes]
      .reverse()
      .map((c) => [
        formatTime(c.at),
        c.version === null ? 'deleted' : `v${c.version}`,
        c.previousVersion === null ? '—' : `v${c.previousVersion}`,
        html`${c.actor.id}${c.actor.roles?.length ? html` <span class="muted">(${c.actor.roles.join(', ')})</span>` : ''}`,
        c.reason ?? '—',
        c.evidence
          ? html`<a href="${ctx.href(['reports', c.evidence])}">gate report <code>${shortDigest(c.evidence)}</code></a>`
          : '—',
      ]),
    empty: 'No change recorded.',
  })}`;
}

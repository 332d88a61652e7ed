/**
 * @module
 * `/experiments/<name>`: the runs table. Filtered by `?filter=<keel filter>` (a malformed
 * filter is shown with a caret at the column of the error), sorted by `?order=<field> asc|desc`
 * through the column headers, paged with `?cursor=`; params and metrics of the page's runs
 * are columns; checked runs go to `/compare`. Reads one page of `searchRuns`, whatever the
 * number of runs.
 */
import { isKeelError } from '../../core/errors.js';
import { formatNumber, formatRunDuration, formatTime } from '../../report/format.js';
import { html, type SafeHtml } from '../../report/html.js';
import { type HeadCell, statusBadge, table } from '../../report/widgets.js';
import type { Run, SearchRunsResult } from '../../tracking/types.js';
import type { Page, PageContext } from '../context.js';
import { pager, runLink } from './shared.js';

/** Most param and metric columns shown (the sorted one always is). */
const MAX_KEY_COLUMNS = 12;

/** The runs of one experiment. */
export const experimentPage: Page = async (ctx) => {
  const [name] = ctx.params as [string];
  const filter = ctx.query.get('filter') ?? '';
  const order = (ctx.query.get('order') ?? '').trim();
  const cursor = ctx.query.get('cursor') ?? undefined;
  let result: SearchRunsResult = { runs: [] };
  let problem: { on: 'filter' | 'order' | 'cursor'; message: string; column?: number } | undefined;
  try {
    result = await ctx.keel.tracker.searchRuns({
      experiment: name,
      filter,
      ...(order ? { orderBy: [order] } : {}),
      limit: ctx.pageSize,
      ...(cursor ? { cursor } : {}),
    });
  } catch (error) {
    if (!isKeelError(error, 'KEEL_VALIDATION')) throw error;
    const message = (error as Error).message;
    const column = (error as { details?: { column?: unknown } }).details?.column;
    const on = /invalid cursor/.test(message)
      ? 'cursor'
      : /invalid order/i.test(message)
        ? 'order'
        : 'filter';
    problem = { on, message, ...(typeof column === 'number' ? { column } : {}) };
  }
  const self = (q: Record<string, string | undefined>): string =>
    ctx.href(['experiments', name], { filter, order, ...q });
  return {
    kind: 'html',
    // The page itself is fine: it shows the error at its column (a 4xx would read as a
    // failed page load in the browser).
    status: 200,
    title: `Experiment ${name}`,
    crumbs: [['Experiments', ctx.href([], {}) + '#experiments'], [name]],
    body: html`<h1>Experiment ${name}</h1>
${filterForm(ctx, name, filter, order, problem?.on === 'filter' ? problem : undefined)}
${problem && problem.on !== 'filter' ? html`<div class="filter-error" role="alert"><strong>${problem.message}</strong> <a href="${self({ cursor: undefined, order: problem.on === 'order' ? undefined : order })}">Start again from the first page</a></div>` : ''}
${problem ? '' : runsTable(ctx, result.runs, order, self, filter)}
${problem ? '' : pager(cursor !== undefined, result.nextCursor, (c) => self({ cursor: c }), 'runs')}`,
  };
};

function filterForm(
  ctx: PageContext,
  name: string,
  filter: string,
  order: string,
  error: { message: string; column?: number } | undefined,
): SafeHtml {
  return html`<form class="filter" method="get" action="${ctx.href(['experiments', name])}" role="search">
<label for="filter">Filter</label>
<input type="text" id="filter" name="filter" value="${filter}" spellcheck="false" autocomplete="off" placeholder="metrics.accuracy &gt; 0.9 and params.optimizer = 'adam'" aria-describedby="${error ? 'filter-help filter-error' : 'filter-help'}"${error ? html` aria-invalid="true"` : ''}>
${order ? html`<input type="hidden" name="order" value="${order}">` : ''}
<button type="submit">Apply</button>
${filter ? html`<a class="button secondary" href="${ctx.href(['experiments', name], { order })}">Clear</a>` : ''}
</form>
<p id="filter-help" class="muted">Fields <code>metrics.</code>, <code>params.</code>, <code>tags.</code>, <code>attributes.</code>; operators <code>= != &lt; &lt;= &gt; &gt;= like ilike in</code>; join with <code>and</code> / <code>or</code>.</p>
${error ? filterError(filter, error) : ''}`;
}

/** The error with the filter repeated and a caret under the column where reading failed. */
function filterError(filter: string, error: { message: string; column?: number }): SafeHtml {
  const caret =
    error.column !== undefined
      ? html`<pre aria-hidden="true">${filter.replace(/\s/g, ' ')}\n<span class="caret">${' '.repeat(Math.max(0, error.column - 1))}^</span></pre>`
      : '';
  return html`<div class="filter-error" id="filter-error" role="alert"><strong>${error.column !== undefined ? `Column ${error.column}: ` : ''}</strong>${error.message.replace(/^\[keel\] /, '')}${caret}</div>`;
}

function runsTable(
  ctx: PageContext,
  runs: readonly Run[],
  order: string,
  self: (q: Record<string, string | undefined>) => string,
  filter: string,
): SafeHtml {
  const current = parseOrder(order);
  const paramKeys = keyColumns(
    runs.map((r) => r.params),
    'params',
    current,
  );
  const metricKeys = keyColumns(
    runs.map((r) => r.metrics),
    'metrics',
    current,
  );
  const sortable = (
    label: string,
    field: string,
    firstDescending: boolean,
    num = false,
    kind?: 'param' | 'metric',
  ): HeadCell => {
    const active = current?.field === field;
    const descending = active ? !current.descending : firstDescending;
    const next = `${field} ${descending ? 'desc' : 'asc'}`;
    const arrow = active ? (current.descending ? ' ↓' : ' ↑') : '';
    return {
      text: html`<a href="${self({ order: next, cursor: undefined })}" title="Sort by ${label}, ${descending ? 'descending' : 'ascending'}">${label}${arrow}</a>${kind ? html`<br><span class="muted">${kind}</span>` : ''}`,
      num,
      ...(active
        ? { sort: current.descending ? ('descending' as const) : ('ascending' as const) }
        : {}),
    };
  };
  const head: HeadCell[] = [
    'Compare',
    sortable('Run', 'attributes.name', false),
    sortable('Status', 'attributes.status', false),
    sortable('Started', 'attributes.start_time', true),
    { text: 'Duration', num: true },
    ...paramKeys.map((k) => sortable(k, `params.${fieldKey(k)}`, false, false, 'param')),
    ...metricKeys.map((k) => sortable(k, `metrics.${fieldKey(k)}`, true, true, 'metric')),
  ];
  const rows = runs.map((run) => [
    html`<input type="checkbox" name="runs" value="${run.id}" aria-label="Select run ${run.name ?? run.id} to compare">`,
    { header: runLink(ctx.href, run) },
    statusBadge(run.status),
    formatTime(run.startTime),
    { num: formatRunDuration(run) },
    ...paramKeys.map((k) => (Object.hasOwn(run.params, k) ? String(run.params[k]) : '—')),
    ...metricKeys.map((k) => ({
      num: Object.hasOwn(run.metrics, k) ? formatNumber(run.metrics[k]!.value) : '—',
    })),
  ]);
  return html`<form method="get" action="${ctx.href(['compare'])}">
${table({
  caption: html`${runs.length} runs on this page${filter ? html`, matching the filter` : ''}; ${paramKeys.length} param and ${metricKeys.length} metric columns. Select runs to compare them.`,
  head,
  rows,
  className: 'compact',
  empty: filter ? 'No run matches this filter.' : 'No run in this experiment.',
})}
${runs.length ? html`<button type="submit">Compare selected runs</button>` : ''}
</form>`;
}

/** The keys of a page's params or metrics, most common first, at most MAX_KEY_COLUMNS. */
function keyColumns(
  records: readonly object[],
  kind: 'params' | 'metrics',
  current: { field: string } | undefined,
): string[] {
  const counts = new Map<string, number>();
  for (const r of records) for (const k of Object.keys(r)) counts.set(k, (counts.get(k) ?? 0) + 1);
  const keys = [...counts.keys()].sort(
    (a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : 1),
  );
  const shown = keys.slice(0, MAX_KEY_COLUMNS);
  const sorted = keys.find((k) => current?.field === `${kind}.${fieldKey(k)}`);
  if (sorted !== undefined && !shown.includes(sorted)) shown.push(sorted);
  return shown.sort();
}

/** A key as the filter language writes it: bare, or in backticks (a backtick doubled). */
function fieldKey(key: string): string {
  return /^[A-Za-z0-9_\-/:]+$/.test(key) ? key : `\`${key.replaceAll('`', '``')}\``;
}

/** `<field> [asc|desc]` of the `order` query parameter. */
function parseOrder(order: string): { field: string; descending: boolean } | undefined {
  if (!order) return undefined;
  const m = /^(.*?)(?:\s+(asc|desc))?$/i.exec(order);
  return { field: m![1]!, descending: (m![2] ?? '').toLowerCase() === 'desc' };
}

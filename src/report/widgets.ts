/**
 * @module
 * Small building blocks of reports and UI pages (badges, summary tiles, tables, key-value
 * lists), each a pure function returning an HTML fragment built with `html`.
 */
import { html, type Interpolation, type SafeHtml } from './html.js';

/** The tone of a badge; its text always says the same as its colour. */
export type Tone = 'ok' | 'bad' | 'warn' | 'info' | 'neutral';

/** A coloured label. */
export function badge(tone: Tone, text: string): SafeHtml {
  return html`<span class="badge ${tone}">${text}</span>`;
}

/** The badge of a status or decision word (`completed`, `failed`, `pass`, `warn`, ...). */
export function statusBadge(status: string): SafeHtml {
  return badge(STATUS_TONES[status] ?? 'neutral', status);
}

const STATUS_TONES: Record<string, Tone> = {
  completed: 'ok',
  pass: 'ok',
  ready: 'ok',
  cached: 'info',
  copied: 'info',
  running: 'info',
  warn: 'warn',
  skipped: 'neutral',
  archived: 'neutral',
  killed: 'warn',
  aborted: 'warn',
  failed: 'bad',
  fail: 'bad',
};

/** A row of summary tiles: label and value. */
export function tiles(items: readonly [label: string, value: Interpolation][]): SafeHtml {
  return html`<ul class="tiles">${items.map(
    ([label, value]) =>
      html`<li><span class="label">${label}</span><span class="value">${value}</span></li>`,
  )}</ul>`;
}

/** A header cell: its text, right-aligned for numbers, and any extra markup (a sort link). */
export type HeadCell =
  | string
  | { text: Interpolation; num?: boolean; sort?: 'ascending' | 'descending' };

/** A body cell: content, a row header (`th scope=row`), or a right-aligned number. */
export type Cell = Interpolation | { header: Interpolation } | { num: Interpolation };

/** What {@link table} draws. */
export interface TableSpec {
  caption?: Interpolation;
  head: readonly HeadCell[];
  rows: readonly (readonly Cell[])[];
  /** Text in place of the table when there is no row. */
  empty?: string;
  /** Class of the table (`compact`: cells do not wrap, but for the first column). */
  className?: string;
  /** Class per row (e.g. `diff` to mark rows whose values differ). */
  rowClass?: (index: number) => string | undefined;
}

/** A data table with a caption, column headers and row headers, in a scrolling wrapper. */
export function table(spec: TableSpec): SafeHtml {
  if (spec.rows.length === 0 && spec.empty !== undefined) {
    return html`<p class="empty">${spec.empty}</p>`;
  }
  const head = spec.head.map((h) => {
    if (typeof h === 'string') return html`<th scope="col">${h}</th>`;
    return html`<th scope="col"${h.num ? html` class="num"` : ''}${
      h.sort ? html` aria-sort="${h.sort}"` : ''
    }>${h.text}</th>`;
  });
  const rows = spec.rows.map((row, i) => {
    const cls = spec.rowClass?.(i);
    return html`<tr${cls ? html` class="${cls}"` : ''}>${row.map(cell)}</tr>`;
  });
  return html`<div class="table-wrap"><table${spec.className ? html` class="${spec.className}"` : ''}>${
    spec.caption ? html`<caption>${spec.caption}</caption>` : ''
  }<thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** A two-column table of names and values (params, tags, environment). */
export function keyValueTable(
  caption: string,
  entries: readonly [key: string, value: Interpolation][],
  empty: string,
): SafeHtml {
  return table({
    caption,
    head: ['Name', 'Value'],
    rows: entries.map(([k, v]) => [{ header: k }, v]),
    empty,
  });
}

function cell(c: Cell): SafeHtml {
  if (c !== null && typeof c === 'object' && !Array.isArray(c)) {
    if ('header' in c) return html`<th scope="row">${c.header}</th>`;
    if ('num' in c) return html`<td class="num">${c.num}</td>`;
  }
  return html`<td>${c as Interpolation}</td>`;
}

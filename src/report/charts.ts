/**
 * @module
 * Chart fragments: a `<figure>` whose `data-chart` attribute carries the chart's data as JSON
 * (escaped by `html` like any other text), drawn in the browser by uPlot (client.ts). Long
 * series are thinned here, so a page stays small whatever was logged.
 */
import type { DriftHistogram } from '../drift/report-histogram.js';
import type { ChartSpec } from './client.js';
import { html, type SafeHtml } from './html.js';

/** Most points drawn per series; longer series keep each bucket's first, min and max points. */
export const MAX_POINTS_PER_SERIES = 2000;

/** One series of a line chart. */
export interface LineSeries {
  label: string;
  points: readonly { x: number; y: number }[];
}

/**
 * A line chart of one or more series over a shared x axis (steps). Non-finite values are
 * gaps; series longer than {@link MAX_POINTS_PER_SERIES} are thinned.
 */
export function lineChart(title: string, xLabel: string, series: readonly LineSeries[]): SafeHtml {
  const thinned = series.map((s) => ({ label: s.label, points: thin(s.points) }));
  const xs = [...new Set(thinned.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const spec: ChartSpec = {
    kind: 'line',
    x: xs,
    xLabel,
    series: thinned.map((s) => {
      const values: (number | null)[] = new Array(xs.length).fill(null);
      for (const p of s.points) values[index.get(p.x)!] = Number.isFinite(p.y) ? p.y : null;
      return { label: s.label, values };
    }),
  };
  const points = series.reduce((n, s) => n + s.points.length, 0);
  return figure(title, spec, `Line chart of ${title}: ${series.length} series, ${points} points`);
}

/** Overlaid reference and current distributions of the drift-tested column `column`. */
export function histogramChart(column: string, histogram: DriftHistogram): SafeHtml {
  const share = (counts: readonly number[], extra = 0): number[] => {
    const total = counts.reduce((a, b) => a + b, 0) + extra;
    return counts.map((c) => (total > 0 ? c / total : 0));
  };
  let spec: ChartSpec;
  if (histogram.type === 'numerical') {
    spec = {
      kind: 'histogram',
      edges: histogram.edges,
      series: [
        { label: 'reference', values: share(histogram.reference) },
        { label: 'current', values: share(histogram.current) },
      ],
    };
  } else {
    const other = histogram.other;
    const labels = other ? [...histogram.labels, '(other labels)'] : histogram.labels;
    const ref = other ? [...histogram.reference, other.reference] : histogram.reference;
    const cur = other ? [...histogram.current, other.current] : histogram.current;
    spec = {
      kind: 'bars',
      labels,
      series: [
        { label: 'reference', values: share(ref) },
        { label: 'current', values: share(cur) },
      ],
    };
  }
  const caption =
    histogram.type === 'numerical'
      ? 'Share of values per bin, reference and current'
      : 'Share of values per label, reference and current';
  const what = histogram.type === 'numerical' ? 'Histograms' : 'Bar pairs';
  return figure(caption, spec, `${what} of column ${column}, reference and current`);
}

function figure(title: string, spec: ChartSpec, label: string): SafeHtml {
  return html`<figure class="chart"><figcaption>${title}</figcaption><div class="chart-area" role="img" aria-label="${label}" data-chart="${JSON.stringify(spec)}"><p class="muted">Charts need JavaScript.</p></div></figure>`;
}

/** Keeps at most MAX_POINTS_PER_SERIES points: per bucket the first, the lowest and the highest. */
function thin(points: readonly { x: number; y: number }[]): { x: number; y: number }[] {
  if (points.length <= MAX_POINTS_PER_SERIES) return [...points];
  const buckets = Math.floor(MAX_POINTS_PER_SERIES / 3);
  const size = points.length / buckets;
  const out: { x: number; y: number }[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(points.length, Math.floor((b + 1) * size));
    let lo = points[from]!;
    let hi = points[from]!;
    for (let i = from + 1; i < to; i++) {
      const p = points[i]!;
      if (p.y < lo.y) lo = p;
      if (p.y > hi.y) hi = p;
    }
    const keep = [points[from]!, lo, hi].sort((a, b) => a.x - b.x);
    for (const p of keep) if (out.at(-1) !== p) out.push(p);
  }
  const last = points.at(-1)!;
  if (out.at(-1) !== last) out.push(last);
  return out;
}

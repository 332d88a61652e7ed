/**
 * @module
 * The script that draws charts in the browser: it finds every element with a `data-chart`
 * attribute (a JSON `ChartSpec` written by charts.ts) and hands it to uPlot, as an inline
 * script that refers to nothing but the DOM and the global `uPlot`.
 */

/** What charts.ts writes into `data-chart`: a line chart, overlaid histograms or bar pairs. */
export type ChartSpec =
  | {
      kind: 'line';
      /** x values (steps), ascending. */
      x: number[];
      xLabel: string;
      /** One line per series; `null` where a series has no point at that x (or NaN/∞). */
      series: { label: string; values: (number | null)[] }[];
    }
  | {
      kind: 'histogram';
      /** Bin edges (one more than values per series). */
      edges: number[];
      /** Share of each series' values per bin. */
      series: { label: string; values: number[] }[];
    }
  | {
      kind: 'bars';
      labels: string[];
      /** Share of each series' values per label. */
      series: { label: string; values: number[] }[];
    };

/**
 * The inline script's text: draws every `[data-chart]` element with the global `uPlot`.
 * Plain ES2017 kept as text (not a compiled function's `toString()`, which would carry the
 * transpiler's helpers); test/report and the browser tests run it.
 */
export const CHART_SCRIPT: string = String.raw`(function () {
  'use strict';
  var palette = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac', '#eeca3b'];
  function short(text, max) { return text.length > max ? text.slice(0, max - 1) + '\u2026' : text; }
  function num(v) {
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1);
    return String(Number(v.toPrecision(4)));
  }
  function nums(u, splits) { return splits.map(num); }
  function percent(u, splits) { return splits.map(function (v) { return Math.round(v * 1000) / 10 + '%'; }); }
  function zeroToMax(u, min, max) { return [0, max * 1.1 || 1]; }
  function color(i) { return palette[i % palette.length]; }
  function line(spec, width) {
    var dense = spec.x.length > 60;
    return {
      opts: {
        width: width, height: 220,
        scales: { x: { time: false } },
        axes: [{ label: spec.xLabel, values: nums }, { values: nums, size: 60 }],
        series: [{ label: spec.xLabel }].concat(spec.series.map(function (s, i) {
          return { label: short(s.label, 40), stroke: color(i), width: 2, spanGaps: true, points: { show: !dense } };
        })),
      },
      data: [spec.x].concat(spec.series.map(function (s) { return s.values; })),
    };
  }
  function histogram(spec, width) {
    return {
      opts: {
        width: width, height: 220,
        scales: { x: { time: false }, y: { range: zeroToMax } },
        legend: { live: false },
        axes: [{ values: nums }, { values: percent, size: 56 }],
        series: [{ label: 'bin from' }].concat(spec.series.map(function (s, i) {
          return { label: s.label, stroke: color(i), fill: color(i) + '40', width: 1.5,
            paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } };
        })),
      },
      // a stepped line needs a value at the last edge too: repeat the last bin
      data: [spec.edges].concat(spec.series.map(function (s) { return s.values.concat([s.values[s.values.length - 1] || 0]); })),
    };
  }
  function bars(spec, width) {
    var labels = spec.labels;
    var xs = labels.map(function (_, i) { return i; });
    var n = spec.series.length;
    var many = labels.length > 6;
    return {
      opts: {
        width: width, height: many ? 270 : 240,
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: zeroToMax } },
        legend: { live: false },
        axes: [
          { splits: function () { return xs; }, rotate: many ? -35 : 0, size: many ? 80 : 40,
            values: function (u, splits) { return splits.map(function (i) { return short(labels[i] || '', 14); }); } },
          { values: percent, size: 56 },
        ],
        series: [{ label: 'label', value: function (u, i) { return i == null ? '\u2014' : short(labels[i] || '', 40); } }]
          .concat(spec.series.map(function (s, i) {
            return { label: s.label, stroke: color(i), fill: color(i) + 'b0', width: 1, points: { show: false },
              paths: uPlot.paths.bars({ size: [0.8 / n, 80], align: n === 2 ? (i === 0 ? -1 : 1) : 0 }) };
          })),
      },
      data: [xs].concat(spec.series.map(function (s) { return s.values; })),
    };
  }
  var builders = { line: line, histogram: histogram, bars: bars };
  var elements = document.querySelectorAll('[data-chart]');
  for (var k = 0; k < elements.length; k++) {
    var el = elements[k];
    var spec;
    try { spec = JSON.parse(el.getAttribute('data-chart')); } catch (e) { continue; }
    var build = builders[spec.kind];
    if (!build) continue;
    var chart = build(spec, Math.max(260, Math.min(el.clientWidth || 640, 960)));
    el.textContent = '';
    new uPlot(chart.opts, chart.data, el);
    el.setAttribute('data-drawn', 'true');
  }
})();`;

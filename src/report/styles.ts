/**
 * @module
 * The stylesheet of keel's reports and UI pages: system fonts only (no web font is fetched),
 * readable tables, visible keyboard focus, and badges whose meaning is also in their text.
 */

/** The stylesheet, inlined in every page. */
export const STYLES: string = `
:root{--fg:#1d2330;--muted:#5b6478;--line:#d9dde6;--bg:#fff;--soft:#f5f7fa;--accent:#2456a6;
--ok:#1f7a3e;--ok-bg:#e3f4e8;--bad:#b3261e;--bad-bg:#fbe5e3;--warn:#8a5a00;--warn-bg:#fdf0d5;
--info-bg:#e6eefb;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:var(--bg);font-size:15px;line-height:1.45}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible,[tabindex]:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:10}
header.bar{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.5rem;background:#1d2330;color:#fff;flex-wrap:wrap}
header.bar a{color:#fff;text-decoration:none}header.bar a:hover{text-decoration:underline}
header.bar .brand{font-weight:700;letter-spacing:.02em}
header.bar nav{display:flex;gap:1rem}
main{max-width:1200px;margin:0 auto;padding:1.25rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.4rem 0 .8rem;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:1.8rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.25rem;overflow-wrap:anywhere}
h3{font-size:1.02rem;margin:1.2rem 0 .4rem;overflow-wrap:anywhere}
.muted{color:var(--muted)}
.crumbs{color:var(--muted);font-size:.9rem;margin:0;overflow-wrap:anywhere}
.tiles{display:flex;flex-wrap:wrap;gap:.75rem;margin:.8rem 0;padding:0;list-style:none}
.tiles li{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:.55rem .9rem;min-width:8.5rem}
.tiles .label{display:block;color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.tiles .value{display:block;font-size:1.25rem;font-weight:600;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;margin:.5rem 0 1rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;padding:.5rem .75rem;color:var(--muted);caption-side:top}
th,td{padding:.4rem .75rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td{overflow-wrap:anywhere;max-width:28rem}
thead th{background:var(--soft);font-weight:600;white-space:nowrap}
tbody tr:last-child td,tbody tr:last-child th{border-bottom:0}
tbody tr:hover{background:#fafbfd}
table.compact td:not(:first-child){white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.diff td,tr.diff th{background:#fff8e6}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.82rem;font-weight:600;white-space:nowrap}
.badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.bad{background:var(--bad-bg);color:var(--bad)}
.badge.warn{background:var(--warn-bg);color:var(--warn)}.badge.info{background:var(--info-bg);color:var(--accent)}
.badge.neutral{background:var(--soft);color:var(--muted);border:1px solid var(--line)}
.verdict{display:flex;align-items:center;gap:.75rem;flex-wrap:wrap;font-size:1.05rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1rem}
.card{border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;min-width:0}
.card h3{margin-top:.2rem}
.card dl{display:flex;flex-wrap:wrap;gap:.2rem 1.2rem;margin:.3rem 0;font-size:.88rem}
.card dt{color:var(--muted)}.card dd{margin:0 0 0 .3rem;font-variant-numeric:tabular-nums}
.card dl div{display:flex}
figure.chart{margin:.5rem 0 0}
figure.chart figcaption{font-size:.85rem;color:var(--muted);margin-bottom:.2rem;overflow-wrap:anywhere}
.chart-area{min-height:120px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:1rem}
form.filter{display:flex;gap:.5rem;align-items:flex-start;flex-wrap:wrap;margin:.5rem 0 .25rem}
form.filter label{font-weight:600;padding-top:.35rem}
form.filter input[type=text]{flex:1;min-width:18rem;font:inherit;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding:.35rem .5rem;border:1px solid var(--line);border-radius:6px}
form.filter input[aria-invalid=true]{border-color:var(--bad);background:#fffafa}
button,.button{font:inherit;padding:.35rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
.button.secondary{background:#fff;color:var(--accent)}
.filter-error{border:1px solid var(--bad);background:var(--bad-bg);border-radius:6px;padding:.5rem .75rem;margin:.25rem 0 .75rem}
.filter-error pre{margin:.3rem 0 0;font-size:.88rem;white-space:pre;overflow-x:auto}
.filter-error .caret{color:var(--bad);font-weight:700}
.pager{display:flex;gap:.75rem;align-items:center;margin:.5rem 0}
.dag{overflow-x:auto;border:1px solid var(--line);border-radius:8px;padding:.5rem;background:var(--soft)}
.dag svg text{font-family:inherit;font-size:12px}
details{margin:.4rem 0}summary{cursor:pointer;color:var(--accent)}
.empty{color:var(--muted);font-style:italic}
footer{max-width:1200px;margin:0 auto;padding:1rem 1.5rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--line)}
@media print{header.bar,.skip,form.filter,.pager{display:none}.cards,.charts{display:block}.card{break-inside:avoid;margin-bottom:1rem}}
`.trim();

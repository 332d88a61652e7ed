import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/errors.js';
import { createUiHandler } from '../../src/ui.js';
import { thrown } from '../helpers/data.js';
import { IMG_NAME } from '../report/fixtures.js';
import { chartSpecs, expectNoInjectedMarkup, unescapeHtml } from '../report/helpers.js';
import { type Seeded, seedKeel } from './seed.js';
import { serve, type TestServer } from './server.js';

let seeded: Seeded;
let ui: TestServer;
const e = encodeURIComponent;

/** A snapshot of everything stored, to prove the UI wrote nothing. */
async function storeSnapshot(s: Seeded): Promise<string> {
  const docs: string[] = [];
  for await (const d of s.keel.metadata.list('')) docs.push(`${d.key}@${d.revision}`);
  const blobs: string[] = [];
  for await (const a of s.keel.artifacts.list()) blobs.push(a.digest);
  let audit = 0;
  for await (const _ of s.keel.registry.audit()) audit++;
  return JSON.stringify({ docs, blobs, audit });
}

/** Every link under the base path on a page. */
function links(page: string, base: string): string[] {
  return [...page.matchAll(/href="([^"]*)"/g)]
    .map((m) => unescapeHtml(m[1]!))
    .filter((h) => h.startsWith(`${base}/`) || h === base);
}

beforeAll(async () => {
  seeded = await seedKeel();
  ui = await serve(createUiHandler({ keel: seeded.keel, basePath: '/keel', pageSize: 5 }));
});
afterAll(async () => {
  await ui?.close();
  await seeded?.keel.close();
});

describe('createUiHandler', () => {
  it('serves every page with a strict CSP, and every link it writes leads to a page', async () => {
    const before = await storeSnapshot(seeded);
    const seen = new Set<string>();
    const queue = [
      // the compare page is reached by a form (the checked runs), not by a link
      `/keel/compare?runs=${seeded.runIds[0]},${seeded.runIds[1]}`,
      '/keel',
      `/keel/runs/${seeded.richRunId}`,
      `/keel/runs/${seeded.pipelineRunId}`,
      '/keel/audit',
    ];
    while (queue.length && seen.size < 120) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await ui.get(path);
      expect(res.status, path).toBe(200);
      if (path.startsWith('/keel/artifacts/')) {
        expect(res.headers.get('content-type')).toBe('application/octet-stream');
        continue;
      }
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[^;]+; style-src 'sha256-/);
      expect(csp).not.toContain('unsafe');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expectNoInjectedMarkup(res.text);
      for (const link of links(res.text, '/keel')) if (!seen.has(link)) queue.push(link);
    }
    for (const page of [
      '/keel/experiments/',
      '/keel/models/',
      '/keel/compare',
      '/keel/reports/',
      '/keel/artifacts/',
    ]) {
      expect(
        [...seen].some((p) => p.startsWith(page)),
        page,
      ).toBe(true);
    }
    expect(await storeSnapshot(seeded)).toBe(before);
  });

  it('is read-only: other methods get 405 and nothing is written', async () => {
    const before = await storeSnapshot(seeded);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await ui.get(`/keel/runs/${seeded.richRunId}`, {
        method,
        body: method === 'DELETE' ? null : 'x',
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await ui.get('/keel/audit', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(await storeSnapshot(seeded)).toBe(before);
  });

  it('answers 404 for an unknown page, run, model or report, without leaking internals', async () => {
    for (const path of [
      '/keel/nope',
      `/keel/runs/${e('no-such-run')}`,
      `/keel/models/${e('ghost')}`,
      `/keel/reports/sha256:${'0'.repeat(64)}`,
    ]) {
      const res = await ui.get(path);
      expect(res.status, path).toBe(404);
      expect(res.text).toContain('Not found');
      expect(res.text).not.toMatch(/at \w+ \(|node_modules\/[^ ]*\.js:\d+/);
    }
    expect((await ui.get('/keel/runs/%E0%A4%A')).status).toBe(400);
  });

  it('the runs table filters with a keel filter and shows a malformed one at its column', async () => {
    const path = `/keel/experiments/${seeded.experiment}`;
    const all = await ui.get(`${path}?filter=${e("params.optimizer = 'adam'")}`);
    const rows = (all.text.match(/name="runs" value="/g) ?? []).length;
    expect(rows).toBe(5); // page size 5; the store has more adam runs
    const filtered = await ui.get(
      `${path}?filter=${e("params.optimizer = 'adam' and params.layers = 2")}`,
    );
    const ids = [...filtered.text.matchAll(/name="runs" value="([^"]+)"/g)].map((m) => m[1]!);
    const { runs } = await seeded.keel.tracker.searchRuns({
      experiment: 'churn',
      filter: "params.optimizer = 'adam' and params.layers = 2",
    });
    expect(ids.sort()).toEqual(runs.map((r) => r.id).sort());

    const bad = await ui.get(`${path}?filter=${e('metrics.accuracy > and x')}`);
    expect(bad.status).toBe(200);
    expect(bad.text).toContain('aria-invalid="true"');
    expect(bad.text).toContain('Column 20:');
    const pre = /<pre aria-hidden="true">([^\n]*)\n<span class="caret">( *)\^<\/span><\/pre>/.exec(
      bad.text,
    )!;
    expect(unescapeHtml(pre[1]!)).toBe('metrics.accuracy > and x');
    expect(pre[2]!.length).toBe(19); // the caret under column 20, where 'and' starts
  });

  it('sorts by a column through its header link, and pages with cursors through every run', async () => {
    const path = `/keel/experiments/${seeded.experiment}`;
    const sorted = await ui.get(`${path}?order=${e('metrics.loss asc')}`);
    expect(sorted.text).toContain('aria-sort="ascending"');
    const { runs } = await seeded.keel.tracker.searchRuns({
      experiment: 'churn',
      orderBy: ['metrics.loss asc'],
      limit: 5,
    });
    const ids = [...sorted.text.matchAll(/name="runs" value="([^"]+)"/g)].map((m) => m[1]!);
    expect(ids).toEqual(runs.map((r) => r.id));
    // the header link toggles the direction
    expect(unescapeHtml(sorted.text)).toContain(`order=metrics.loss+desc`);

    const collected: string[] = [];
    let next: string | undefined = `${path}?order=${e('attributes.name asc')}`;
    while (next) {
      const res = await ui.get(next);
      collected.push(...[...res.text.matchAll(/name="runs" value="([^"]+)"/g)].map((m) => m[1]!));
      const link = /<a class="button" href="([^"]+)" rel="next">/.exec(res.text)?.[1];
      next = link ? unescapeHtml(link) : undefined;
    }
    const total = (await seeded.keel.tracker.searchRuns({ experiment: 'churn', limit: 1000 })).runs
      .length;
    expect(collected).toHaveLength(total);
    expect(new Set(collected).size).toBe(total);
  });

  it('a run page has its metric charts, artifacts with downloads, children and lineage', async () => {
    const res = await ui.get(`/keel/runs/${seeded.richRunId}`);
    const specs = chartSpecs(res.text);
    expect(specs.map((s) => (s.series as { label: string }[])[0]!.label).sort()).toEqual([
      'auc',
      'loss',
    ]);
    expect((specs[0]!.x as number[]).length).toBe(200);
    expect(res.text).toContain('fold-0');
    expect(res.text).toContain('train.csv');
    const download = unescapeHtml(/href="([^"]*\/artifacts\/[^"]*)" download/.exec(res.text)![1]!);
    const bytes = await fetch(ui.origin + download);
    expect(await bytes.text()).toBe('weights');
    expect(bytes.headers.get('content-disposition')).toBe(
      `attachment; filename="model <img src=x onerror=_window.__pwned=1_>.bin"; filename*=UTF-8''${e(`model ${IMG_NAME}.bin`)}`,
    );
    expect(res.text).toContain(`/keel/reports/${seeded.driftDigest}`);
  });

  it('a pipeline run shows its DAG from the step runs', async () => {
    const res = await ui.get(`/keel/runs/${seeded.pipelineRunId}`);
    expect((res.text.match(/marker-end="url\(#arrow\)"/g) ?? []).length).toBe(4);
    expect(res.text).toContain('Pipeline churn-train');
  });

  it('compare, models, audit and stored reports', async () => {
    const compare = await ui.get(
      `/keel/compare?runs=${seeded.runIds[0]}&runs=${seeded.runIds[3]},${seeded.runIds[5]}`,
    );
    expect(compare.text).toContain('Compare 3 runs');
    expect(chartSpecs(compare.text).length).toBeGreaterThanOrEqual(3);
    expect((await ui.get('/keel/compare')).status).toBe(400);
    expect((await ui.get('/keel/compare?runs=nope')).status).toBe(404);

    const model = await ui.get(`/keel/models/${e(seeded.model)}`);
    expect(model.text).toContain('first release');
    expect(model.text).toContain(`/keel/reports/${seeded.gateDigest}`);
    expect(model.text).toContain('alice <span class="muted">(trainer)</span>');

    const audit = await ui.get('/keel/audit');
    expect(audit.text).toContain('Hash chain verified');
    expect(audit.text).toContain('<code>alias:set</code>');

    const gate = await ui.get(`/keel/reports/${seeded.gateDigest}`);
    expect(gate.text).toContain('metric auc');
    expect(gate.text).toContain(seeded.gateDigest);
    const drift = await ui.get(`/keel/reports/${seeded.driftDigest}`);
    expect(chartSpecs(drift.text).length).toBeGreaterThan(3);
    const weights = [
      ...(await ui.get(`/keel/runs/${seeded.richRunId}`)).text.matchAll(
        /\/keel\/artifacts\/(sha256:[0-9a-f]{64})/g,
      ),
    ][0]![1]!;
    expect((await ui.get(`/keel/reports/${weights}`)).status).toBe(400);
  });

  it('mounts under a base path as Express does (req.url stripped, originalUrl kept) and at the root', async () => {
    const handler = createUiHandler({ keel: seeded.keel, basePath: '/tools/keel/' });
    const express = await serve(handler, (req, res) => {
      const original = req.url!;
      if (!original.startsWith('/tools/keel')) return void res.writeHead(404).end();
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = original;
      req.url = original.slice('/tools/keel'.length) || '/';
      handler(req, res);
    });
    try {
      const home = await express.get('/tools/keel/');
      expect(home.status).toBe(200);
      expect(home.text).toContain(`href="/tools/keel/experiments/churn"`);
      expect((await express.get('/tools/keel/experiments/churn')).status).toBe(200);
    } finally {
      await express.close();
    }
    const root = await serve(createUiHandler({ keel: seeded.keel }));
    try {
      const home = await root.get('/');
      expect(home.text).toContain('href="/experiments/churn"');
      expect((await root.get('/audit')).status).toBe(200);
    } finally {
      await root.close();
    }
  });

  it('refuses bad options with ValidationError', () => {
    expect(
      isKeelError(
        thrown(() => createUiHandler({} as never)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
    expect(
      isKeelError(
        thrown(() => createUiHandler({ keel: seeded.keel, basePath: 'a b' })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
    expect(
      isKeelError(
        thrown(() => createUiHandler({ keel: seeded.keel, pageSize: 0 })),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});

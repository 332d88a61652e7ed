/**
 * The UI and the reports in a real browser: Debian's Chromium (`/usr/bin/chromium`, installed
 * by .ci/run; never a downloaded browser) driven by playwright-core. Each page renders without
 * console errors, nothing is requested outside 127.0.0.1, injected names do not execute, the
 * runs filter works from the keyboard, and charts are drawn. Screenshots of every page go to a
 * temporary folder, or to KEEL_SCREENSHOTS (e.g. docs/images) when it is set.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  renderDriftReport,
  renderGateReport,
  renderPipelineRun,
  renderRunComparison,
} from '../../src/report.js';
import { createUiHandler } from '../../src/ui.js';
import {
  comparedRuns,
  driftReport,
  gateReport,
  pipelineResult,
  pipelineSteps,
} from '../report/fixtures.js';
import { type Seeded, seedKeel } from './seed.js';
import { serve, type TestServer } from './server.js';

const CHROMIUM = process.env.KEEL_CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.KEEL_SCREENSHOTS
  ? resolve(process.env.KEEL_SCREENSHOTS)
  : mkdtempSync(join(tmpdir(), 'keel-shots-'));
const e = encodeURIComponent;

let seeded: Seeded;
let ui: TestServer;
let browser: Browser;
/** Per page visit: console errors, page errors and requests that left 127.0.0.1. */
let problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set KEEL_CHROMIUM`,
    );
  }
  mkdirSync(shots, { recursive: true });
  seeded = await seedKeel();
  ui = await serve(createUiHandler({ keel: seeded.keel, basePath: '/keel', pageSize: 10 }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await ui?.close();
  await seeded?.keel.close();
  if (!process.env.KEEL_SCREENSHOTS) rmSync(shots, { recursive: true, force: true });
});

/** A page that records what must not happen; every request outside the test server is refused. */
async function newPage(allowedOrigin: string | undefined): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (
      (allowedOrigin && url.startsWith(`${allowedOrigin}/`)) ||
      url.startsWith('data:') ||
      (!allowedOrigin && url.startsWith('file:'))
    ) {
      return route.continue();
    }
    problems.push(`request left the host: ${url}`);
    return route.abort();
  });
  return page;
}

/** Charts on the page, and how many uPlot drew (a canvas each). */
async function charts(page: Page): Promise<{ specs: number; drawn: number; canvases: number }> {
  return page.evaluate(() => ({
    specs: document.querySelectorAll('[data-chart]').length,
    drawn: document.querySelectorAll('[data-chart][data-drawn="true"]').length,
    canvases: document.querySelectorAll('[data-chart] .uplot canvas').length,
  }));
}

describe('the UI in Chromium', () => {
  it('every page renders, without console errors, requests off the host or injected script running', async () => {
    const page = await newPage(ui.origin);
    const pages: [name: string, path: string, heading: RegExp, charted: boolean][] = [
      ['ui-home', '/keel', /^keel$/, false],
      ['ui-experiment', `/keel/experiments/${seeded.experiment}`, /^Experiment churn$/, false],
      [
        'ui-experiment-hostile',
        `/keel/experiments/${e(seeded.hostileExperiment)}`,
        /^Experiment <script>/,
        false,
      ],
      ['ui-run', `/keel/runs/${seeded.richRunId}`, /^Run champion-candidate/, true],
      ['ui-pipeline-run', `/keel/runs/${seeded.pipelineRunId}`, /^Run churn-train/, false],
      [
        'ui-compare',
        `/keel/compare?runs=${seeded.runIds.slice(0, 4).join(',')}`,
        /^Compare 4 runs$/,
        true,
      ],
      ['ui-model', `/keel/models/${e(seeded.model)}`, /^Model churn-model$/, false],
      ['ui-audit', '/keel/audit', /^Audit log$/, false],
      ['ui-drift-report', `/keel/reports/${seeded.driftDigest}`, /^Drift report$/, true],
      ['ui-gate-report', `/keel/reports/${seeded.gateDigest}`, /^Gate report release$/, false],
    ];
    for (const [name, path, heading, charted] of pages) {
      problems = [];
      const response = await page.goto(ui.origin + path);
      expect(response?.status(), path).toBe(200);
      expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'/);
      expect((await page.locator('h1').first().textContent())?.trim(), path).toMatch(heading);
      const c = await charts(page);
      if (charted) expect(c.specs, path).toBeGreaterThan(0);
      expect(c.drawn, path).toBe(c.specs);
      expect(c.canvases, path).toBeGreaterThanOrEqual(c.specs);
      expect(
        await page.evaluate(() => (window as { __pwned?: unknown }).__pwned),
        path,
      ).toBeUndefined();
      expect(problems, path).toEqual([]);
      await page.screenshot({ path: join(shots, `${name}.png`) });
    }
    await page.close();
  }, 180_000);

  it('a run page draws a chart per metric over its steps', async () => {
    const page = await newPage(ui.origin);
    problems = [];
    await page.goto(`${ui.origin}/keel/runs/${seeded.richRunId}`);
    const captions = await page.locator('figure.chart figcaption').allTextContents();
    expect(captions.sort()).toEqual(['auc', 'loss']);
    expect(await charts(page)).toEqual({ specs: 2, drawn: 2, canvases: expect.any(Number) });
    // uPlot drew something: the canvas is not blank
    const inked = await page.evaluate(() => {
      const canvas = document.querySelector('[data-chart] canvas') as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(500);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('the runs filter works from the keyboard, and a malformed filter is shown at its column', async () => {
    const page = await newPage(ui.origin);
    problems = [];
    await page.goto(`${ui.origin}/keel/experiments/${seeded.experiment}`);
    // Tab reaches the skip link first
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.focus('#filter');
    await page.keyboard.type("params.optimizer = 'adam' and params.layers = 2");
    await Promise.all([page.waitForURL(/filter=/), page.keyboard.press('Enter')]);
    const ids = await page
      .locator('input[name="runs"]')
      .evaluateAll((els) => els.map((el) => (el as HTMLInputElement).value));
    const { runs } = await seeded.keel.tracker.searchRuns({
      experiment: seeded.experiment,
      filter: "params.optimizer = 'adam' and params.layers = 2",
      limit: 100,
    });
    expect(ids.sort()).toEqual(runs.map((r) => r.id).sort());
    expect(ids.length).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'ui-experiment-filtered.png') });

    await page.fill('#filter', 'metrics.accuracy > and x');
    await Promise.all([page.waitForURL(/filter=metrics/), page.keyboard.press('Enter')]);
    await expect.poll(() => page.locator('#filter-error').textContent()).toContain('Column 20');
    expect(await page.getAttribute('#filter', 'aria-invalid')).toBe('true');
    expect(await page.locator('.caret').textContent()).toBe(`${' '.repeat(19)}^`);
    await page.screenshot({ path: join(shots, 'ui-filter-error.png') });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('runs are compared by checking them with the keyboard', async () => {
    const page = await newPage(ui.origin);
    problems = [];
    await page.goto(`${ui.origin}/keel/experiments/${seeded.experiment}`);
    const boxes = page.locator('input[name="runs"]');
    for (const i of [0, 1]) {
      await boxes.nth(i).focus();
      await page.keyboard.press('Space');
    }
    await page.locator('button', { hasText: 'Compare selected runs' }).focus();
    await Promise.all([page.waitForURL(/\/keel\/compare\?/), page.keyboard.press('Enter')]);
    expect(await page.locator('h1').textContent()).toBe('Compare 2 runs');
    expect((await charts(page)).drawn).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});

describe('keel/report pages in Chromium, opened from a file', () => {
  it('render with their charts, under their own CSP, without any request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-reports-'));
    try {
      const reports: [string, string, number][] = [
        [
          'report-drift',
          renderDriftReport(driftReport(), { title: 'Churn features: March vs February' }),
          5,
        ],
        ['report-gate', renderGateReport(gateReport()), 0],
        ['report-comparison', renderRunComparison(comparedRuns()), 2],
        ['report-pipeline', renderPipelineRun(pipelineResult(), { steps: pipelineSteps }), 0],
      ];
      const page = await newPage(undefined);
      for (const [name, html, chartCount] of reports) {
        problems = [];
        const file = join(dir, `${name}.html`);
        writeFileSync(file, html);
        await page.goto(pathToFileURL(file).href);
        const c = await charts(page);
        expect(c.specs, name).toBe(chartCount);
        expect(c.drawn, name).toBe(chartCount);
        expect(
          await page.evaluate(() => (window as { __pwned?: unknown }).__pwned),
          name,
        ).toBeUndefined();
        expect(problems, name).toEqual([]);
        // the drift report's picture shows its summary, table and first charts
        await page.setViewportSize({ width: 1280, height: name === 'report-drift' ? 1500 : 860 });
        await page.screenshot({ path: join(shots, `${name}.png`) });
      }
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

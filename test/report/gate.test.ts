import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createKeel } from '../../src/keel.js';
import { renderGateReport } from '../../src/report.js';
import { thrown } from '../helpers/data.js';
import { gateReport } from './fixtures.js';
import { expectNoInjectedMarkup, externalReferences } from './helpers.js';

describe('renderGateReport', () => {
  const report = gateReport();
  const page = renderGateReport(report, {
    digests: { 'training data': `sha256:${'ef'.repeat(32)}` },
  });

  it('shows each rule with observed value, threshold, decision and message', () => {
    const rows = [...page.matchAll(/<tr><td class="num">(\d+)<\/td>(.*?)<\/tr>/g)];
    expect(rows).toHaveLength(report.results.length);
    expect(rows[0]![2]).toContain('metric auc');
    expect(rows[0]![2]).toContain('0.91');
    expect(rows[0]![2]).toContain('min: 0.8');
    expect(rows[0]![2]).toContain('badge ok">pass');
    expect(rows[1]![2]).toContain('>warn<');
    expect(rows[2]![2]).toContain('north: 0.31, south: 0.12');
    expect(rows[3]![2]).toContain('missing');
    expect(page).toContain('Failed');
  });

  it('names the subject and the digests: the report, and those the caller adds', () => {
    expect(page).toContain('version 3');
    expect(page).toContain(report.digest);
    expect(page).toContain(`sha256:${'ef'.repeat(32)}`);
    const withMore = renderGateReport({
      ...report,
      policyDigest: `sha256:${'12'.repeat(32)}`,
    } as never);
    expect(withMore).toContain('policyDigest');
  });

  it('escapes hostile policy, model, metric names and messages; loads nothing', () => {
    expectNoInjectedMarkup(page);
    expect(externalReferences(page)).toEqual([]);
  });

  it('renders a report straight from keel.gates.evaluate', async () => {
    const keel = createKeel({ backend: memoryBackend() });
    const evaluated = await keel.gates.evaluate(
      { name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0.8 }] },
      { candidate: { metrics: { auc: 0.85 } } },
      { subject: { model: 'churn', version: 1 } },
    );
    const out = renderGateReport(evaluated);
    expect(out).toContain('Passed');
    expect(out).toContain(evaluated.digest);
    await keel.close();
  });

  it('refuses what is not a gate report', () => {
    expect(
      isKeelError(
        thrown(() => renderGateReport({ policy: 'x' } as never)),
        'KEEL_VALIDATION',
      ),
    ).toBe(true);
  });
});

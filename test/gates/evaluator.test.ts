import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { digestOfJson } from '../../src/core/digest.js';
import { isKeelError, type ValidationError } from '../../src/core/errors.js';
import { createTelemetry } from '../../src/core/telemetry.js';
import { createGateEvaluator, type GateEvents } from '../../src/gates/evaluator.js';
import type { Evidence } from '../../src/gates/evidence.js';
import { formatGateReport } from '../../src/gates/format.js';
import { GATE_REPORT_MEDIA_TYPE, readGateReport } from '../../src/gates/report.js';
import type { RuleEvaluator } from '../../src/gates/rule.js';
import type { GatePolicy } from '../../src/gates/schema.js';
import type { GateReport } from '../../src/gates/types.js';
import { testTelemetry } from '../helpers/otel.js';

const clock = { now: () => Date.UTC(2026, 0, 2, 3, 4, 5) };
const evidence: Evidence = {
  candidate: {
    metrics: { auc: 0.91, rmse: 3 },
    latenciesMs: [10, 20, 30, 40],
    costs: { usd: 0.2 },
  },
  champion: { metrics: { auc: 0.9, rmse: 3.5 } },
};

async function validationError(promise: Promise<unknown>): Promise<ValidationError> {
  try {
    await promise;
  } catch (error) {
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    return error as ValidationError;
  }
  return expect.unreachable('expected a ValidationError');
}

describe('createGateEvaluator: decisions', () => {
  const gates = createGateEvaluator({ clock });

  it('passes when every rule passes, listing every rule', async () => {
    const report = await gates.evaluate(
      {
        name: 'release',
        rules: [
          { kind: 'metric', metric: 'auc', min: 0.9 },
          { kind: 'compare', metric: 'rmse', higherIsBetter: false, minRelativeChange: 0.1 },
          { kind: 'latency', percentile: 50, maxMs: 25 },
          { kind: 'cost', metric: 'usd', max: 0.25 },
        ],
      },
      evidence,
    );
    expect(report).toMatchObject({ policy: 'release', decision: 'pass', passed: true });
    expect(report.results.map((r) => r.decision)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(report.results[2]).toMatchObject({
      observed: 25,
      expected: { percentile: 50, maxMs: 25 },
    });
    expect(report.evaluatedAt).toBe('2026-01-02T03:04:05.000Z');
    expect(report.subject).toBeUndefined();
  });

  it('fails when a blocking rule fails, warns when only warning rules fail', async () => {
    const failing = { kind: 'metric', metric: 'auc', min: 0.95 } as const;
    const blocked = await gates.evaluate({ name: 'p', rules: [failing] }, evidence);
    expect(blocked).toMatchObject({ decision: 'fail', passed: false });
    const warned = await gates.evaluate(
      {
        name: 'p',
        rules: [
          { ...failing, severity: 'warn' },
          { kind: 'metric', metric: 'auc', min: 0.5 },
        ],
      },
      evidence,
    );
    expect(warned).toMatchObject({ decision: 'warn', passed: true });
    expect(warned.results.map((r) => r.decision)).toEqual(['warn', 'pass']);
    const both = await gates.evaluate(
      {
        name: 'p',
        rules: [
          { ...failing, severity: 'warn' },
          { kind: 'cost', metric: 'usd', max: 0.1 },
        ],
      },
      evidence,
    );
    expect(both).toMatchObject({ decision: 'fail', passed: false });
  });

  it('never passes a rule whose evidence is missing', async () => {
    const report = await gates.evaluate(
      {
        name: 'p',
        rules: [{ kind: 'fairness', metric: 'demographic_parity_difference', sensitive: 'sex' }],
      },
      { candidate: {} },
    );
    expect(report.decision).toBe('fail');
    expect(report.results[0]!.message).toContain('candidate.predictions is missing');
  });

  it('records the subject and keeps each rule as written', async () => {
    const rule = { kind: 'metric', metric: 'auc', min: 0.9, name: 'auc floor' } as const;
    const report = await gates.evaluate({ name: 'p', rules: [rule] }, evidence, {
      subject: { model: 'churn', version: 3 },
    });
    expect(report.subject).toEqual({ model: 'churn', version: 3 });
    expect(report.results[0]!.rule).toEqual(rule);
  });

  it('writes NaN observations as strings so the report stays JSON', async () => {
    const report = await gates.evaluate(
      { name: 'p', rules: [{ kind: 'metric', metric: 'auc', min: 0.9 }] },
      { candidate: { metrics: { auc: Number.NaN } } },
    );
    expect(report.results[0]).toMatchObject({ decision: 'fail', observed: 'NaN' });
    expect(() => canonicalJson(report)).not.toThrow();
  });
});

describe('createGateEvaluator: bad input', () => {
  const gates = createGateEvaluator();

  it('refuses unknown kinds, naming the rule index', async () => {
    const error = await validationError(
      gates.evaluate(
        {
          name: 'p',
          rules: [{ kind: 'metric', metric: 'a', min: 0 }, { kind: 'bogus' }],
        } as GatePolicy,
        evidence,
      ),
    );
    expect(error.issues[0]!.path).toEqual(['rules', 1, 'kind']);
    expect(error.message).toContain(
      "rules[1].kind: unknown kind 'bogus'; expected one of 'metric'",
    );
  });

  it('refuses percentiles outside (0, 100] and negative thresholds, naming index and field', async () => {
    for (const [rule, field] of [
      [{ kind: 'latency', percentile: 0, maxMs: 10 }, 'percentile'],
      [{ kind: 'latency', percentile: 100.5, maxMs: 10 }, 'percentile'],
      [{ kind: 'latency', percentile: 99, maxMs: -1 }, 'maxMs'],
      [{ kind: 'cost', metric: 'usd', max: -0.1 }, 'max'],
      [{ kind: 'compare', metric: 'auc', minAbsoluteChange: -0.01 }, 'minAbsoluteChange'],
      [{ kind: 'drift', maxShare: 1.5 }, 'maxShare'],
    ] as const) {
      const error = await validationError(
        gates.evaluate(
          { name: 'p', rules: [{ kind: 'metric', metric: 'a', max: 1 }, rule] } as GatePolicy,
          evidence,
        ),
      );
      expect(error.issues[0]!.path).toEqual(['rules', 1, field]);
    }
  });

  it('refuses misaligned predictions, labels and groups with the rule index and field', async () => {
    const error = await validationError(
      gates.evaluate(
        {
          name: 'p',
          rules: [
            { kind: 'metric', metric: 'auc', min: 0 },
            { kind: 'fairness', metric: 'equalized_odds_difference', sensitive: 'sex' },
          ],
        },
        { candidate: { predictions: [1, 0, 1], labels: [1, 0], groups: { sex: ['a', 'b', 'a'] } } },
      ),
    );
    expect(error.issues[0]!.path).toEqual(['rules', 1, 'candidate', 'labels']);
    expect(error.message).toContain('rules.1 (fairness)');
    expect(error.message).toContain('candidate.labels');
  });

  it('refuses malformed evidence and subjects before judging anything', async () => {
    const policy: GatePolicy = { name: 'p', rules: [{ kind: 'metric', metric: 'auc', min: 0 }] };
    const bad = await validationError(
      gates.evaluate(policy, { candidate: { latenciesMs: ['1'] } } as unknown as Evidence),
    );
    expect(bad.issues[0]!.path).toEqual(['candidate', 'latenciesMs']);
    await validationError(
      gates.evaluate(policy, evidence, { subject: { model: 'm', version: 0 } }),
    );
    await validationError(gates.evaluate(policy, undefined as unknown as Evidence));
  });
});

describe('createGateEvaluator: code-defined rules', () => {
  const minRows: RuleEvaluator = (rule, e) => {
    const rows = e.candidate.metrics?.rows;
    const min = Number(rule.min);
    if (rows === undefined) {
      return { decision: 'fail', observed: null, expected: { min }, message: 'rows missing' };
    }
    return {
      decision: rows >= min ? 'pass' : 'fail',
      observed: rows,
      expected: { min },
      message: `rows = ${rows}`,
    };
  };

  it('judges registered kinds, with severity, and lists them', async () => {
    const gates = createGateEvaluator({ rules: { min_rows: minRows } });
    expect(gates.kinds).toContain('min_rows');
    expect(gates.kinds).toContain('metric');
    const report = await gates.evaluate(
      { name: 'p', rules: [{ kind: 'min_rows', min: 100, severity: 'warn' }] },
      { candidate: { metrics: { rows: 50 } } },
    );
    expect(report).toMatchObject({ decision: 'warn', passed: true });
    expect(report.results[0]).toMatchObject({
      decision: 'warn',
      observed: 50,
      expected: { min: 100 },
    });
  });

  it('accepts async evaluators and refuses invalid outcomes and shadowed kinds', async () => {
    const gates = createGateEvaluator({
      rules: {
        later: async () => ({ decision: 'pass', observed: 1, expected: 1, message: 'ok' }),
        broken: () => ({ decision: 'maybe' }) as never,
      },
    });
    const ok = await gates.evaluate({ name: 'p', rules: [{ kind: 'later' }] }, evidence);
    expect(ok.decision).toBe('pass');
    const error = await validationError(
      gates.evaluate({ name: 'p', rules: [{ kind: 'broken' }] }, evidence),
    );
    expect(error.message).toContain('rules.0 (broken)');
    expect(() => createGateEvaluator({ rules: { metric: minRows } })).toThrowError(/built-in kind/);
    // Without registration the kind is unknown.
    await validationError(
      createGateEvaluator().evaluate({ name: 'p', rules: [{ kind: 'later' }] }, evidence),
    );
  });
});

describe('createGateEvaluator: persistence', () => {
  it('stores the canonical report and readGateReport re-reads and checks it', async () => {
    const artifacts = createMemoryArtifactStore();
    const gates = createGateEvaluator({ artifacts, clock });
    const report = await gates.evaluate(
      { name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0.9 }] },
      evidence,
      { subject: { model: 'churn', version: 2 } },
    );
    const { digest, ...stored } = report;
    expect(digest).toBe(digestOfJson(stored));
    const meta = await artifacts.stat(digest);
    expect(meta?.mediaType).toBe(GATE_REPORT_MEDIA_TYPE);
    expect(new TextDecoder().decode(await artifacts.get(digest))).toBe(canonicalJson(stored));
    expect(await readGateReport(artifacts, digest)).toEqual(report);
  });

  it('computes the same digest without a store', async () => {
    const policy: GatePolicy = { name: 'p', rules: [{ kind: 'metric', metric: 'auc', min: 0.9 }] };
    const withStore = await createGateEvaluator({
      artifacts: createMemoryArtifactStore(),
      clock,
    }).evaluate(policy, evidence);
    const without = await createGateEvaluator({ clock }).evaluate(policy, evidence);
    expect(without).toEqual(withStore);
  });

  it('readGateReport refuses what is not a consistent canonical report', async () => {
    const artifacts = createMemoryArtifactStore();
    const report = await createGateEvaluator({ artifacts, clock }).evaluate(
      { name: 'p', rules: [{ kind: 'metric', metric: 'auc', min: 0.95 }] },
      evidence,
    );
    const { digest: _digest, ...stored } = report;
    const forged = await artifacts.put(canonicalJson({ ...stored, passed: true }));
    await validationError(readGateReport(artifacts, forged.digest));
    const lying = await artifacts.put(canonicalJson({ ...stored, decision: 'pass', passed: true }));
    await validationError(readGateReport(artifacts, lying.digest));
    const pretty = await artifacts.put(JSON.stringify(stored, null, 2));
    await validationError(readGateReport(artifacts, pretty.digest));
    const notJson = await artifacts.put('weights');
    await validationError(readGateReport(artifacts, notJson.digest));
    await expect(readGateReport(artifacts, digestOfJson('absent'))).rejects.toSatisfy((e) =>
      isKeelError(e, 'KEEL_NOT_FOUND'),
    );
  });

  it("a report's digest is the digest of its canonical JSON without digest (property)", async () => {
    const gates = createGateEvaluator();
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.boolean(),
        async (candidate, champion, higherIsBetter) => {
          const report = await gates.evaluate(
            {
              name: 'prop',
              rules: [
                { kind: 'compare', metric: 'm', higherIsBetter, minRelativeChange: 0.01 },
                { kind: 'metric', metric: 'm', min: 0, severity: 'warn' },
              ],
            },
            { candidate: { metrics: { m: candidate } }, champion: { metrics: { m: champion } } },
          );
          const { digest, ...rest } = report;
          expect(digest).toBe(digestOfJson(rest));
          expect(report.passed).toBe(report.decision !== 'fail');
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('createGateEvaluator: telemetry and events', () => {
  it('records a span, a counter by decision and a gate:evaluated event', async () => {
    const otel = testTelemetry();
    const events: GateEvents['gate:evaluated'][] = [];
    const gates = createGateEvaluator({
      telemetry: createTelemetry({ tracer: otel.tracer, meter: otel.meter }),
      emit: (event, payload) => {
        if (event === 'gate:evaluated') events.push(payload);
      },
    });
    const policy: GatePolicy = {
      name: 'release',
      rules: [{ kind: 'metric', metric: 'auc', min: 0.95 }],
    };
    const report = await gates.evaluate(policy, evidence, {
      subject: { model: 'churn', version: 1 },
    });
    await gates.evaluate(
      { ...policy, rules: [{ kind: 'metric', metric: 'auc', min: 0.5 }] },
      evidence,
    );

    const spans = otel.spans().filter((s) => s.name === 'keel.gate.evaluate');
    expect(spans).toHaveLength(2);
    expect(spans[0]!.attributes).toMatchObject({
      'keel.gate.policy': 'release',
      'keel.gate.decision': 'fail',
    });
    expect(spans[1]!.attributes).toMatchObject({ 'keel.gate.decision': 'pass' });

    const points = (await otel.metrics()).filter((p) => p.name === 'keel.gate.evaluations');
    const byDecision = Object.fromEntries(
      points.map((p) => [p.attributes['keel.gate.decision'], p.value]),
    );
    expect(byDecision).toEqual({ fail: 1, pass: 1 });

    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      policy: 'release',
      decision: 'fail',
      passed: false,
      digest: report.digest,
      subject: { model: 'churn', version: 1 },
    });
    expect(events[0]!.report).toEqual(report);
  });

  it('marks the span failed when the input is refused', async () => {
    const otel = testTelemetry();
    const gates = createGateEvaluator({
      telemetry: createTelemetry({ tracer: otel.tracer, meter: otel.meter }),
    });
    await validationError(
      gates.evaluate(
        { name: 'p', rules: [{ kind: 'latency', percentile: 50, maxMs: 1 }] },
        { candidate: { latenciesMs: [-1] } },
      ),
    );
    const span = otel.spans().find((s) => s.name === 'keel.gate.evaluate');
    expect(span?.status.code).toBe(2);
  });
});

describe('formatGateReport', () => {
  it('renders a compact table with one row per rule', async () => {
    const report: GateReport = await createGateEvaluator({ clock }).evaluate(
      {
        name: 'release',
        rules: [
          { kind: 'metric', metric: 'auc', min: 0.9 },
          { kind: 'latency', percentile: 95, maxMs: 20, severity: 'warn' },
          {
            kind: 'fairness',
            metric: 'disparate_impact_ratio',
            sensitive: 'sex',
            name: 'four-fifths',
          },
        ],
      },
      evidence,
      { subject: { model: 'churn', version: 3 } },
    );
    const text = formatGateReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      `gate "release" FAIL  churn v3  ${report.digest.slice(0, 19)}  2026-01-02T03:04:05.000Z`,
    );
    expect(lines[1]).toMatch(/^#\s+rule\s+sev\s+result\s+message$/);
    expect(lines[2]).toMatch(/^1\s+metric auc\s+block\s+pass\s+auc = 0\.91 within \[0\.9, inf\)$/);
    expect(lines[3]).toMatch(/^2\s+latency p95\s+warn\s+warn\s+p95 latency = 38\.5 ms > 20 ms/);
    expect(lines[4]).toMatch(
      /^3\s+four-fifths\s+block\s+fail\s+candidate\.predictions is missing$/,
    );
    expect(lines[5]).toBe('1 pass, 1 warn, 1 fail');
  });
});

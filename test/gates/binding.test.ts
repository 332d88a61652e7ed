/**
 * A gate report names the policy and the evidence it was evaluated on by digest (both stored
 * beside it), so that the registry can judge it again; `judge` gives what `evaluate` reports.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { parseJsonSafe } from '../../src/core/json.js';
import { createGateEvaluator } from '../../src/gates/evaluator.js';
import { decodeEvidence, type Evidence, encodeEvidence } from '../../src/gates/evidence.js';
import {
  GATE_EVIDENCE_MEDIA_TYPE,
  GATE_POLICY_MEDIA_TYPE,
  gatePolicyDigest,
} from '../../src/gates/report.js';
import type { GatePolicy } from '../../src/gates/schema.js';

const policy: GatePolicy = {
  name: 'release',
  rules: [
    { kind: 'metric', metric: 'auc', min: 0.8 },
    { kind: 'latency', percentile: 95, maxMs: 50, severity: 'warn' },
  ],
};
const evidence: Evidence = {
  candidate: { metrics: { auc: 0.9, loss: Number.NaN }, latenciesMs: Float64Array.of(1, 2, 70) },
};

describe('gate reports bound to their policy and evidence', () => {
  it('stores the policy and the evidence and names them by digest', async () => {
    const artifacts = createMemoryArtifactStore();
    const report = await createGateEvaluator({ artifacts }).evaluate(policy, evidence);
    expect(report.policyDigest).toBe(gatePolicyDigest(policy));
    expect((await artifacts.stat(report.policyDigest!))?.mediaType).toBe(GATE_POLICY_MEDIA_TYPE);
    expect(new TextDecoder().decode(await artifacts.get(report.policyDigest!))).toBe(
      canonicalJson(policy),
    );
    expect((await artifacts.stat(report.evidenceDigest!))?.mediaType).toBe(
      GATE_EVIDENCE_MEDIA_TYPE,
    );
    const stored = decodeEvidence(
      parseJsonSafe(new TextDecoder().decode(await artifacts.get(report.evidenceDigest!))),
    );
    expect(stored.candidate.metrics?.loss).toBeNaN();
    expect(stored.candidate.latenciesMs).toEqual([1, 2, 70]);
  });

  it('judge gives the decision and results evaluate reports, and stores nothing', async () => {
    const artifacts = createMemoryArtifactStore();
    const gates = createGateEvaluator({ artifacts });
    const judged = await gates.judge(policy, evidence);
    let blobs = 0;
    for await (const _ of artifacts.list()) blobs++;
    expect(blobs).toBe(0);
    const report = await gates.evaluate(policy, evidence);
    expect(judged).toEqual({
      policy: report.policy,
      decision: report.decision,
      results: report.results,
    });
  });

  it('evidence JSON cannot carry has no evidence digest', async () => {
    const gates = createGateEvaluator();
    for (const extra of [() => 1, 1n, new Date(0), { '$keel:number': 'NaN' }]) {
      const report = await gates.evaluate(policy, { ...evidence, extra } as Evidence);
      expect(report.evidenceDigest).toBeUndefined();
      expect(report.policyDigest).toBeDefined();
    }
    const cyclic: Record<string, unknown> = { candidate: { metrics: { auc: 1 } } };
    cyclic.self = cyclic;
    expect(encodeEvidence(cyclic as unknown as Evidence)).toBeUndefined();
  });

  it('encoding then decoding keeps every number exactly, NaN, infinities and -0 included (property)', () => {
    const number = fc.oneof(
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
    );
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        number,
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('any'), { maxLength: 4 }),
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__' && k !== '$keel:number'),
          tie('any'),
          { maxKeys: 4 },
        ),
        fc.array(number, { maxLength: 5 }).map((xs) => Float64Array.from(xs)),
      ),
    })).any;
    fc.assert(
      fc.property(value, (original) => {
        const encoded = encodeEvidence({ candidate: {}, extra: original } as unknown as Evidence);
        expect(encoded).toBeDefined();
        const decoded = decodeEvidence(parseJsonSafe(canonicalJson(encoded))) as unknown as {
          extra: unknown;
        };
        expect(same(decoded.extra, original)).toBe(true);
      }),
    );
  });
});

function same(decoded: unknown, original: unknown): boolean {
  if (typeof original === 'number') return Object.is(decoded, original);
  if (ArrayBuffer.isView(original)) {
    const values = Array.from(original as Float64Array);
    return Array.isArray(decoded) && same(decoded, values);
  }
  if (Array.isArray(original)) {
    return (
      Array.isArray(decoded) &&
      decoded.length === original.length &&
      original.every((item, i) => same(decoded[i], item))
    );
  }
  if (typeof original === 'object' && original !== null) {
    if (typeof decoded !== 'object' || decoded === null) return false;
    const keys = Object.keys(original);
    return (
      keys.length === Object.keys(decoded).length &&
      keys.every((k) => same((decoded as never)[k], (original as never)[k]))
    );
  }
  return decoded === original;
}

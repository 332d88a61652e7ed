/**
 * @module
 * The GateEvaluator: validates a policy and its evidence, judges every rule (built-in or
 * registered in code), and persists the report as canonical JSON whose digest is its address.
 */

import { z } from 'zod';
import type { ArtifactStore } from '../artifacts/types.js';
import { canonicalJson, toJsonValue } from '../core/canonical-json.js';
import { type Clock, isoNow, systemClock } from '../core/clock.js';
import { type Digest, sha256 } from '../core/digest.js';
import { IntegrityError, isKeelError, ValidationError } from '../core/errors.js';
import { type Emit, emitNothing } from '../core/events.js';
import {
  artifactStoreOption,
  clockOption,
  functionOption,
  objectOption,
} from '../core/option-schemas.js';
import { keySchema } from '../core/schemas.js';
import { createTelemetry, inSpan, type Telemetry } from '../core/telemetry.js';
import { parseWith } from '../core/validate.js';
import { evaluateBuiltinRule } from './builtins.js';
import { checkEvidence, type Evidence, encodeEvidence } from './evidence.js';
import {
  GATE_EVIDENCE_MEDIA_TYPE,
  GATE_POLICY_MEDIA_TYPE,
  GATE_REPORT_MEDIA_TYPE,
  overallDecision,
  type StoredGateReport,
} from './report.js';
import type { RuleEvaluator, RuleOutcome } from './rule.js';
import {
  type BuiltinRule,
  builtinRuleKinds,
  type CustomRule,
  createGatePolicySchema,
  type GatePolicy,
  type Rule,
} from './schema.js';
import type { GateDecision, GateReport, GateSubject, RuleResult } from './types.js';

/** Events of the gate evaluator. */
export type GateEvents = {
  /** A policy was evaluated and its report stored (when a store was given). */
  'gate:evaluated': {
    /** The policy's name. */
    policy: string;
    /** The overall verdict. */
    decision: GateDecision;
    /** `decision !== 'fail'`. */
    passed: boolean;
    /** The stored report's digest. */
    digest: GateReport['digest'];
    /** The model version judged, when one was given. */
    subject?: GateSubject;
    /** The whole report. */
    report: GateReport;
  };
};

/** Options of {@link createGateEvaluator}. */
export interface GateEvaluatorOptions {
  /** Code-defined rules by kind (a kind must not shadow a built-in one). */
  rules?: Record<string, RuleEvaluator>;
  /** Where reports are stored (media type `application/vnd.keel.gate-report+json`). */
  artifacts?: ArtifactStore;
  /** Source of `evaluatedAt`. */
  clock?: Clock;
  /** Spans and metrics (default: the global OpenTelemetry API, a no-op until set). */
  telemetry?: Telemetry;
  /** Receives `gate:evaluated` (`createKeel` passes its event bus). Default: no events. */
  emit?: Emit<GateEvents>;
}

/** Options of {@link GateEvaluator.evaluate}. */
export interface EvaluateGateOptions {
  /** The model version the report judges (the registry checks it on promotion). */
  subject?: GateSubject;
}

/** What a policy decides on a body of evidence: the report without its storage fields. */
export interface GateJudgement {
  /** The policy's name. */
  policy: string;
  /** The overall decision, as `overallDecision` derives it from the results. */
  decision: GateDecision;
  /** Every rule's outcome, in the policy's order. */
  results: RuleResult[];
}

/** Judges evidence against gate policies. */
export interface GateEvaluator {
  /**
   * Validates `policy` and `evidence` (`ValidationError` naming the rule index and field),
   * judges every rule, stores the report when the evaluator has an artifact store (with the
   * policy and the evidence it was evaluated on, which the report names by digest), and
   * returns it with its `digest`. A failing policy resolves with `passed: false`; it does not
   * reject.
   *
   * @throws {ValidationError} when the policy, the evidence or `opts.subject` is malformed, a
   *   rule names an unknown kind, or a code-defined rule throws one or returns an invalid outcome
   *   (the message names the rule index and kind).
   * @throws {IntegrityError} when the artifact store returns another digest than the one keel
   *   computed for the stored report, policy or evidence.
   */
  evaluate(policy: GatePolicy, evidence: Evidence, opts?: EvaluateGateOptions): Promise<GateReport>;
  /**
   * Judges `evidence` against `policy` without storing, counting or announcing anything: the
   * decision and results `evaluate` would report. The registry uses it to judge a report
   * again.
   *
   * @throws {ValidationError} as `evaluate` does.
   */
  judge(policy: GatePolicy, evidence: Evidence): Promise<GateJudgement>;
  /** Every rule kind this evaluator knows, built-in first. */
  readonly kinds: readonly string[];
}

const evaluatorOptionsSchema = z.looseObject({
  rules: objectOption.optional(),
  clock: clockOption.optional(),
  telemetry: objectOption.optional(),
  emit: functionOption.optional(),
  artifacts: artifactStoreOption.optional(),
});

/**
 * Creates a {@link GateEvaluator}.
 *
 * @throws {ValidationError} when a code-defined rule kind is not a valid key, shadows a
 *   built-in kind, or its evaluator is not a function.
 *
 * @example
 * ```ts
 * const gates = createGateEvaluator({ artifacts: createMemoryArtifactStore() });
 * const report = await gates.evaluate(
 *   { name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0.8 }] },
 *   { candidate: { metrics: { auc: 0.83 } } },
 *   { subject: { model: 'churn', version: 3 } },
 * );
 * report.passed; // true
 * ```
 */
export function createGateEvaluator(opts: GateEvaluatorOptions = {}): GateEvaluator {
  parseWith(evaluatorOptionsSchema, opts, 'createGateEvaluator options');
  const custom = checkCustomRules(opts.rules ?? {});
  const policySchema = createGatePolicySchema([...custom.keys()]);
  const clock = opts.clock ?? systemClock;
  const telemetry = opts.telemetry ?? createTelemetry();
  const emit = opts.emit ?? (emitNothing as Emit<GateEvents>);
  const artifacts = opts.artifacts;
  const builtin = new Set<string>(builtinRuleKinds);

  const judge = async (rule: Rule, index: number, evidence: Evidence): Promise<RuleResult> => {
    let result: RuleOutcome;
    try {
      result = builtin.has(rule.kind)
        ? evaluateBuiltinRule(rule as BuiltinRule, evidence)
        : await custom.get(rule.kind)!(rule as CustomRule, evidence);
    } catch (error) {
      if (isKeelError(error, 'KEEL_VALIDATION'))
        throw atRule(error as ValidationError, index, rule.kind);
      throw error;
    }
    return toResult(rule, index, result);
  };

  const judgeAll = async (policy: GatePolicy, evidence: Evidence): Promise<RuleResult[]> => {
    const results: RuleResult[] = [];
    for (const [index, rule] of policy.rules.entries())
      results.push(await judge(rule, index, evidence));
    return results;
  };

  const store = async (json: string, mediaType: string, what: string): Promise<Digest> => {
    const digest = sha256(json);
    if (artifacts) {
      const meta = await artifacts.put(json, { mediaType });
      if (meta.digest !== digest) {
        throw new IntegrityError(
          `[keel] storing ${what} failed: the store returned ${meta.digest}, expected ${digest}; check the artifact store adapter`,
        );
      }
    }
    return digest;
  };

  return {
    kinds: [...builtinRuleKinds, ...custom.keys()],
    async judge(policy, evidence) {
      const parsed = parseWith(policySchema, policy, 'gate policy');
      checkEvidence(evidence);
      const results = await judgeAll(parsed, evidence);
      return {
        policy: parsed.name,
        decision: overallDecision(results.map((r) => r.decision)),
        results,
      };
    },
    async evaluate(policy, evidence, evaluateOpts = {}) {
      const parsed = parseWith(policySchema, policy, 'gate policy');
      checkEvidence(evidence);
      const subject =
        evaluateOpts.subject === undefined
          ? undefined
          : parseWith(subjectSchema, evaluateOpts.subject, 'gate subject');
      return inSpan(
        telemetry,
        'keel.gate.evaluate',
        { 'keel.gate.policy': parsed.name },
        async (span) => {
          const results = await judgeAll(parsed, evidence);
          const decision = overallDecision(results.map((r) => r.decision));
          // The policy and the evidence are stored too, so that the report can be judged again.
          const policyDigest = await store(
            canonicalJson(parsed),
            GATE_POLICY_MEDIA_TYPE,
            `gate policy "${parsed.name}"`,
          );
          const encoded = encodeEvidence(evidence);
          const evidenceDigest =
            encoded === undefined
              ? undefined
              : await store(
                  canonicalJson(encoded),
                  GATE_EVIDENCE_MEDIA_TYPE,
                  `the evidence of gate policy "${parsed.name}"`,
                );
          const stored: StoredGateReport = {
            policy: parsed.name,
            decision,
            passed: decision !== 'fail',
            ...(subject === undefined ? {} : { subject }),
            results,
            evaluatedAt: isoNow(clock),
            policyDigest,
            ...(evidenceDigest === undefined ? {} : { evidenceDigest }),
          };
          const json = canonicalJson(stored);
          const digest = await store(json, GATE_REPORT_MEDIA_TYPE, `gate report "${parsed.name}"`);
          const report: GateReport = { ...stored, digest };
          span.setAttribute('keel.gate.decision', decision);
          telemetry
            .counter('keel.gate.evaluations', 'Gate policy evaluations, by decision')
            .add(1, { 'keel.gate.decision': decision, 'keel.gate.policy': parsed.name });
          emit('gate:evaluated', {
            policy: parsed.name,
            decision,
            passed: report.passed,
            digest,
            ...(subject === undefined ? {} : { subject }),
            report,
          });
          return report;
        },
      );
    },
  };
}

const subjectSchema = z.strictObject({
  model: z.string().min(1).max(256),
  version: z.int().min(1, 'versions start at 1'),
});

function checkCustomRules(rules: Record<string, RuleEvaluator>): Map<string, RuleEvaluator> {
  const out = new Map<string, RuleEvaluator>();
  for (const [kind, evaluate] of Object.entries(rules)) {
    parseWith(keySchema, kind, 'custom rule kind');
    if ((builtinRuleKinds as readonly string[]).includes(kind)) {
      throw new ValidationError(
        `[keel] cannot register rule kind "${kind}": it is a built-in kind with documented semantics; choose another kind name`,
        { issues: [{ path: ['rules', kind], message: 'shadows a built-in kind' }] },
      );
    }
    if (typeof evaluate !== 'function') {
      throw new ValidationError(
        `[keel] cannot register rule kind "${kind}": its evaluator is not a function; pass (rule, evidence) => outcome`,
        { issues: [{ path: ['rules', kind], message: 'not a function' }] },
      );
    }
    out.set(kind, evaluate);
  }
  return out;
}

function toResult(rule: Rule, index: number, result: RuleOutcome): RuleResult {
  const decisions: readonly unknown[] = ['pass', 'warn', 'fail'];
  if (
    typeof result !== 'object' ||
    result === null ||
    !decisions.includes(result.decision) ||
    typeof result.message !== 'string'
  ) {
    throw new ValidationError(
      `[keel] rules.${index} (${rule.kind}) returned an invalid outcome: expected { decision: 'pass' | 'warn' | 'fail', observed, expected, message: string }; fix the rule evaluator`,
      { issues: [{ path: ['rules', index], message: 'invalid rule outcome' }] },
    );
  }
  // A failing warning rule warns instead of blocking.
  const decision: GateDecision =
    result.decision === 'fail' && rule.severity === 'warn' ? 'warn' : result.decision;
  return {
    rule: toJsonValue(rule) as RuleResult['rule'],
    decision,
    observed: reportJson(result.observed ?? null, index, rule.kind, 'observed'),
    expected: reportJson(result.expected ?? null, index, rule.kind, 'expected'),
    message: result.message,
  };
}

function reportJson(value: unknown, index: number, kind: string, field: string): unknown {
  try {
    return toJsonValue(nonFiniteAsString(value, 0));
  } catch (error) {
    throw atRule(error as ValidationError, index, kind, field);
  }
}

function atRule(
  error: ValidationError,
  index: number,
  kind: string,
  field?: string,
): ValidationError {
  const detail = error.message.replace(/^\[keel\] /, '');
  const prefix: PropertyKey[] = field === undefined ? ['rules', index] : ['rules', index, field];
  return new ValidationError(
    `[keel] rules.${index} (${kind})${field ? ` ${field}` : ''}: ${detail}`,
    {
      cause: error,
      issues: error.issues.map((issue) => ({
        path: [...prefix, ...issue.path],
        message: issue.message,
      })),
    },
  );
}

// JSON has no NaN or infinity; a rule that observed one must still be able to say so.
function nonFiniteAsString(value: unknown, depth: number): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (depth > 64 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => nonFiniteAsString(item, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) out[key] = nonFiniteAsString(item, depth + 1);
  return out;
}

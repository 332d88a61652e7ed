/**
 * @module
 * The Registry conformance suite: the registry's semantics (numbering, aliases, policies,
 * authorization, audit, lineage, retention) checked over any pair of storage adapters.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { Backend } from '../backends/backend.js';
import { canonicalJson } from '../core/canonical-json.js';
import type { Digest } from '../core/digest.js';
import { ErrorCodes } from '../core/errors.js';
import { createGateEvaluator } from '../gates/evaluator.js';
import type { GateReport } from '../gates/types.js';
import { roleAuthorizer } from '../registry/authorizer.js';
import { withReportIndex } from '../registry/evidence.js';
import { createRegistry, type RegistryOptions } from '../registry/registry.js';
import type { AuditEntry, Registry, RegistryEvents } from '../registry/types.js';
import { check, checkEqual, checkRejects, collect } from './assert.js';
import { registerSuite, type SuiteCase, type SuiteOptions } from './runner.js';

/** Options of {@link describeRegistry}. */
export type RegistrySuiteOptions = SuiteOptions<Backend>;

/**
 * Registers the Registry conformance tests over the backend `factory` returns (fresh and
 * empty for every test; its `close()` is called after each).
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { describeRegistry } from 'keel/testing';
 * describeRegistry('my-backend', () => myBackend(), { runner: { describe, it } });
 * ```
 *
 * @throws {ValidationError} when a `skip` entry has no reason, or no runner is given and neither
 *   runner globals nor vitest are found. A failing case fails its test (an `Error` whose message
 *   starts with `conformance:` and names the input and the rule); it does not throw here.
 */
export function describeRegistry(
  name: string,
  factory: () => Backend | Promise<Backend>,
  options: RegistrySuiteOptions = {},
): void {
  registerSuite(`Registry conformance: ${name}`, factory, registryCases, {
    ...options,
    dispose: (backend) => backend.close?.(),
  });
}

type Extra = Omit<RegistryOptions, 'metadata' | 'artifacts'>;

function make(backend: Backend, extra: Extra = {}): Registry {
  return createRegistry({ metadata: backend.metadata, artifacts: backend.artifacts, ...extra });
}

async function blob(backend: Backend, text = 'model weights'): Promise<Digest> {
  return (await backend.artifacts.put(text)).digest;
}

/** Stores a hand-made gate report: canonical JSON without `digest`, naming no policy or evidence. */
async function storeReport(
  artifacts: ArtifactStore,
  subject: { model: string; version: number },
): Promise<GateReport> {
  const body = {
    policy: 'release',
    decision: 'pass' as const,
    passed: true,
    subject,
    results: [
      {
        rule: { kind: 'metric', metric: 'auc', min: 0.8 },
        decision: 'pass' as const,
        observed: 0.9,
        expected: '>= 0.8',
        message: 'auc 0.9 meets 0.8',
      },
    ],
    evaluatedAt: '2026-01-01T00:00:00.000Z',
  };
  const meta = await artifacts.put(canonicalJson(body), {
    mediaType: 'application/vnd.keel.gate-report+json',
  });
  return { ...body, digest: meta.digest };
}

/** Evaluates the `release` policy (auc >= 0.8) as keel.gates does: stored, and recorded as newest. */
async function evaluateGate(
  backend: Backend,
  subject: { model: string; version: number } | undefined,
  metrics: Record<string, number>,
): Promise<GateReport> {
  const gates = withReportIndex(
    createGateEvaluator({ artifacts: backend.artifacts }),
    backend.metadata,
  );
  return gates.evaluate(
    { name: 'release', rules: [{ kind: 'metric', metric: 'auc', min: 0.8 }] },
    { candidate: { metrics } },
    subject === undefined ? {} : { subject },
  );
}

async function auditEntries(registry: Registry): Promise<AuditEntry[]> {
  return collect(registry.audit());
}

const registryCases: SuiteCase<Backend>[] = [
  [
    'versions are numbered 1, 2, 3 per model and keep what was registered',
    async (backend) => {
      const registry = make(backend, { actor: { id: 'trainer' } });
      const digest = await blob(backend);
      const v1 = await registry.registerVersion('churn', {
        artifact: digest,
        runId: 'run-1',
        inputs: [{ digest, name: 'train', kind: 'dataset' }],
        metrics: { auc: 0.91 },
        signature: { inputs: { type: 'object' }, outputs: { type: 'number' } },
        tags: { team: 'growth' },
        description: 'first',
      });
      const v2 = await registry.registerVersion('churn', { artifact: digest });
      const other = await registry.registerVersion('fraud', { artifact: digest });
      checkEqual([v1.version, v2.version, other.version], [1, 2, 1], 'numbers');
      const read = await registry.getVersion('churn', 1);
      checkEqual(
        read.artifact,
        { digest, size: 13, mediaType: 'application/octet-stream' },
        'artifact ref from the store',
      );
      checkEqual(read.metrics, { auc: 0.91 }, 'metrics');
      checkEqual(read.inputs, [{ digest, name: 'train', kind: 'dataset' }], 'inputs');
      checkEqual(
        read.signature,
        { inputs: { type: 'object' }, outputs: { type: 'number' } },
        'signature',
      );
      checkEqual(
        [read.status, read.createdBy, read.runId, read.description],
        ['ready', 'trainer', 'run-1', 'first'],
        'fields',
      );
      checkEqual((await registry.getVersion('churn', '2')).version, 2, 'numeric string ref');
      checkEqual(
        (await registry.getModel('churn')).createdBy,
        'trainer',
        'model created on first registration',
      );
      const page = await registry.listVersions('churn', { limit: 1 });
      checkEqual(
        page.versions.map((v) => v.version),
        [1],
        'first page',
      );
      const rest = await registry.listVersions('churn', {
        cursor: page.nextCursor ?? '',
        limit: 5,
      });
      checkEqual(
        [rest.versions.map((v) => v.version), rest.nextCursor],
        [[2], undefined],
        'second page',
      );
    },
  ],
  [
    'returned records cannot be changed by the caller',
    async (backend) => {
      const registry = make(backend);
      const v = await registry.registerVersion('m', {
        artifact: await blob(backend),
        metrics: { a: 1 },
      });
      try {
        (v.metrics as Record<string, number>).a = 2;
      } catch {
        // frozen: assignment throws in strict mode, which is the point
      }
      checkEqual((await registry.getVersion('m', 1)).metrics, { a: 1 }, 'stored metrics');
    },
  ],
  [
    'an unknown artifact is NotFoundError and nothing is written',
    async (backend) => {
      const registry = make(backend);
      const missing = `sha256:${'a'.repeat(64)}` as Digest;
      await checkRejects(
        () => registry.registerVersion('m', { artifact: missing }),
        ErrorCodes.notFound,
        'unknown digest',
      );
      await checkRejects(() => registry.getModel('m'), ErrorCodes.notFound, 'model not created');
      checkEqual((await auditEntries(registry)).length, 0, 'audit entries');
      const digest = await blob(backend);
      await checkRejects(
        () =>
          registry.registerVersion('m', { artifact: { digest, size: 1, mediaType: 'text/plain' } }),
        ErrorCodes.validation,
        'ref that does not match the store',
      );
    },
  ],
  [
    'bad model names, aliases, versions and options are ValidationError and write nothing',
    async (backend) => {
      const registry = make(backend);
      const digest = await blob(backend);
      const badNames = [
        '',
        'x'.repeat(257),
        'a\u0000b',
        'a\nb',
        '../etc',
        'a/b',
        'a\\b',
        '.',
        '..',
        ' padded',
        'My Model!',
        '__proto__',
      ];
      for (const name of badNames) {
        await checkRejects(
          () => registry.registerVersion(name, { artifact: digest }),
          ErrorCodes.validation,
          `name ${JSON.stringify(name)}`,
        );
        await checkRejects(
          () => registry.createModel(name),
          ErrorCodes.validation,
          `createModel ${JSON.stringify(name)}`,
        );
      }
      await registry.registerVersion('m', { artifact: digest });
      const before = (await auditEntries(registry)).length;
      for (const alias of ['Prod', '1x', 'a b', 'a'.repeat(65), 'latest', '', 'prod/x']) {
        await checkRejects(
          () => registry.setAlias('m', alias, 1),
          ErrorCodes.validation,
          `alias ${JSON.stringify(alias)}`,
        );
      }
      await checkRejects(
        () => registry.deleteAlias('m', 'latest'),
        ErrorCodes.validation,
        'delete latest',
      );
      await checkRejects(
        () => registry.rollback('m', 'latest'),
        ErrorCodes.validation,
        'rollback latest',
      );
      for (const version of [0, -1, 1.5, Number.NaN]) {
        await checkRejects(
          () => registry.setAlias('m', 'prod', version),
          ErrorCodes.validation,
          `version ${version}`,
        );
      }
      await checkRejects(
        () => registry.registerVersion('m', { artifact: 'sha256:nope' as Digest }),
        ErrorCodes.validation,
        'malformed digest',
      );
      await checkRejects(
        () => registry.registerVersion('m', { artifact: digest, metrics: { auc: Number.NaN } }),
        ErrorCodes.validation,
        'NaN metric',
      );
      await checkRejects(
        () =>
          registry.setAlias('m', 'prod', 1, {
            evidence: { decision: 'pass' } as unknown as GateReport,
          }),
        ErrorCodes.validation,
        'evidence of the wrong shape',
      );
      checkEqual((await auditEntries(registry)).length, before, 'nothing audited');
      checkEqual(await registry.listAliases('m'), {}, 'no alias');
      checkEqual((await registry.listVersions('m')).versions.length, 1, 'one version');
    },
  ],
  [
    'missing models and versions are NotFoundError',
    async (backend) => {
      const registry = make(backend);
      await checkRejects(() => registry.getModel('nope'), ErrorCodes.notFound, 'getModel');
      await registry.registerVersion('m', { artifact: await blob(backend) });
      await checkRejects(() => registry.getVersion('m', 9), ErrorCodes.notFound, 'getVersion');
      await checkRejects(() => registry.setAlias('m', 'prod', 9), ErrorCodes.notFound, 'setAlias');
      await checkRejects(
        () => registry.approve('m', 9, { alias: 'prod' }),
        ErrorCodes.notFound,
        'approve',
      );
      await checkRejects(() => registry.archiveVersion('m', 9), ErrorCodes.notFound, 'archive');
      await checkRejects(
        () => registry.resolve('m', 'prod'),
        ErrorCodes.notFound,
        'resolve unset alias',
      );
      await checkRejects(
        () => registry.resolve('nope', 'latest'),
        ErrorCodes.notFound,
        'latest of no model',
      );
      await checkRejects(
        () => registry.deleteAlias('m', 'prod'),
        ErrorCodes.notFound,
        'deleteAlias',
      );
      await checkRejects(() => registry.createModel('m'), ErrorCodes.conflict, 'createModel twice');
    },
  ],
  [
    'setAlias, resolve, compare-and-swap, deleteAlias and history',
    async (backend) => {
      const registry = make(backend, { actor: { id: 'ana' } });
      const digest = await blob(backend);
      for (let i = 0; i < 3; i++) await registry.registerVersion('m', { artifact: digest });
      const first = await registry.setAlias('m', 'prod', 1, {
        reason: 'launch',
        expectedVersion: null,
      });
      checkEqual(
        [first.version, first.previousVersion, first.reason, first.actor.id],
        [1, null, 'launch', 'ana'],
        'change',
      );
      checkEqual((await registry.resolve('m', 'prod')).version, 1, 'resolve');
      await checkRejects(
        () => registry.setAlias('m', 'prod', 2, { expectedVersion: null }),
        ErrorCodes.conflict,
        'must not exist',
      );
      await checkRejects(
        () => registry.setAlias('m', 'prod', 2, { expectedVersion: 3 }),
        ErrorCodes.conflict,
        'stale expected',
      );
      checkEqual((await registry.resolve('m', 'prod')).version, 1, 'unchanged after conflicts');
      await registry.setAlias('m', 'prod', 2, { expectedVersion: 1 });
      checkEqual((await registry.resolve('m', 'prod')).version, 2, 'moved');
      checkEqual((await registry.getVersion('m', 'prod')).version, 2, 'getVersion by alias');
      await registry.deleteAlias('m', 'prod', { reason: 'retired' });
      await checkRejects(() => registry.resolve('m', 'prod'), ErrorCodes.notFound, 'deleted');
      const history = await registry.aliasHistory('m', 'prod');
      checkEqual(
        history.map((c) => [c.kind, c.version, c.previousVersion]),
        [
          ['set', 1, null],
          ['set', 2, 1],
          ['delete', null, 2],
        ],
        'history',
      );
      checkEqual(history[2]?.reason, 'retired', 'reason kept');
      await registry.setAlias('m', 'prod', 3, { expectedVersion: null });
      checkEqual(await registry.listAliases('m'), { prod: 3 }, 'aliases');
    },
  ],
  [
    'latest is the highest non-archived version; archived versions cannot be aliased',
    async (backend) => {
      const registry = make(backend);
      const digest = await blob(backend);
      for (let i = 0; i < 3; i++) await registry.registerVersion('m', { artifact: digest });
      checkEqual((await registry.resolve('m', 'latest')).version, 3, 'latest');
      const archived = await registry.archiveVersion('m', 3, { reason: 'bad' });
      checkEqual(archived.status, 'archived', 'status');
      checkEqual((await registry.resolve('m', 'latest')).version, 2, 'latest skips archived');
      checkEqual((await registry.getVersion('m', 3)).status, 'archived', 'still readable');
      await checkRejects(
        () => registry.setAlias('m', 'prod', 3),
        ErrorCodes.conflict,
        'alias to archived',
      );
      await registry.setAlias('m', 'prod', 2);
      await checkRejects(
        () => registry.archiveVersion('m', 2),
        ErrorCodes.conflict,
        'archive a served version',
      );
      checkEqual((await registry.listVersions('m')).versions.length, 3, 'never deleted');
      checkEqual(
        (await registry.registerVersion('m', { artifact: digest })).version,
        4,
        'never renumbered',
      );
    },
  ],
  [
    'rollback returns to the previous version, repeatedly',
    async (backend) => {
      const registry = make(backend);
      const digest = await blob(backend);
      for (let i = 0; i < 3; i++) await registry.registerVersion('m', { artifact: digest });
      await registry.setAlias('m', 'prod', 1);
      await checkRejects(
        () => registry.rollback('m', 'prod'),
        ErrorCodes.conflict,
        'nothing before',
      );
      await registry.setAlias('m', 'prod', 2);
      await registry.setAlias('m', 'prod', 3);
      const back = await registry.rollback('m', 'prod', { reason: 'regression' });
      checkEqual(
        [back.kind, back.version, back.previousVersion],
        ['rollback', 2, 3],
        'first rollback',
      );
      checkEqual((await registry.resolve('m', 'prod')).version, 2, 'resolve after rollback');
      checkEqual((await registry.rollback('m', 'prod')).version, 1, 'second rollback');
      await checkRejects(
        () => registry.rollback('m', 'prod'),
        ErrorCodes.conflict,
        'history exhausted',
      );
      await checkRejects(
        () => registry.rollback('m', 'none'),
        ErrorCodes.notFound,
        'unknown alias',
      );
      checkEqual((await registry.aliasHistory('m', 'prod')).length, 5, 'every move kept');
    },
  ],
  [
    'events model:registered and alias:changed carry the model, alias and versions',
    async (backend) => {
      const seen: Array<[string, unknown]> = [];
      const emit = <K extends keyof RegistryEvents & string>(
        event: K,
        payload: RegistryEvents[K],
      ): void => {
        seen.push([event, payload]);
      };
      const registry = make(backend, { emit, actor: { id: 'ana' } });
      const digest = await blob(backend);
      await registry.registerVersion('m', { artifact: digest });
      await registry.setAlias('m', 'prod', 1);
      const registered = seen.find(([e]) => e === 'model:registered')?.[1];
      checkEqual(
        registered,
        { model: 'm', version: 1, artifact: digest, actor: 'ana' },
        'model:registered',
      );
      const changed = seen.find(([e]) => e === 'alias:changed')?.[1];
      checkEqual(
        changed,
        { model: 'm', alias: 'prod', version: 1, previousVersion: null, kind: 'set', actor: 'ana' },
        'alias:changed',
      );
    },
  ],
  [
    'requireGate refuses missing, failed, forged, misdirected and hand-made evidence, and moves nothing',
    async (backend) => {
      const registry = make(backend, {
        aliasPolicies: [{ alias: 'production', requireGate: true }],
      });
      const digest = await blob(backend);
      await registry.registerVersion('m', { artifact: digest, metrics: { auc: 0.9 } });
      await registry.registerVersion('m', { artifact: digest, metrics: { auc: 0.7 } });
      await registry.registerVersion('other', { artifact: digest, metrics: { auc: 0.9 } });
      await checkRejects(
        () => registry.setAlias('m', 'production', 1),
        ErrorCodes.policy,
        'no evidence',
      );
      const good = await evaluateGate(backend, { model: 'm', version: 1 }, { auc: 0.9 });
      const missing = { ...good, digest: `sha256:${'b'.repeat(64)}` as Digest };
      await checkRejects(
        () => registry.setAlias('m', 'production', 1, { evidence: missing }),
        ErrorCodes.policy,
        'missing',
      );
      const failed = await evaluateGate(backend, { model: 'm', version: 2 }, { auc: 0.7 });
      await checkRejects(
        () => registry.setAlias('m', 'production', 2, { evidence: failed }),
        ErrorCodes.policy,
        'failed',
      );
      const forged = { ...failed, decision: 'pass' as const, passed: true };
      await checkRejects(
        () => registry.setAlias('m', 'production', 2, { evidence: forged }),
        ErrorCodes.policy,
        'forged',
      );
      const edited = { ...good, policy: 'lenient' };
      await checkRejects(
        () => registry.setAlias('m', 'production', 1, { evidence: edited }),
        ErrorCodes.policy,
        'edited',
      );
      await checkRejects(
        () => registry.setAlias('m', 'production', 2, { evidence: good }),
        ErrorCodes.policy,
        'other version',
      );
      const otherModel = await evaluateGate(backend, { model: 'other', version: 1 }, { auc: 0.9 });
      await checkRejects(
        () => registry.setAlias('m', 'production', 1, { evidence: otherModel }),
        ErrorCodes.policy,
        'other model',
      );
      const notReport = await backend.artifacts.put(canonicalJson({ hello: 'world' }));
      await checkRejects(
        () =>
          registry.setAlias('m', 'production', 1, {
            evidence: { ...good, digest: notReport.digest },
          }),
        ErrorCodes.policy,
        'digest of something that is not a report',
      );
      const noSubject = await evaluateGate(backend, undefined, { auc: 0.9 });
      await checkRejects(
        () => registry.setAlias('m', 'production', 1, { evidence: noSubject }),
        ErrorCodes.policy,
        'no subject',
      );
      const handMade = await storeReport(backend.artifacts, { model: 'm', version: 1 });
      await checkRejects(
        () => registry.setAlias('m', 'production', 1, { evidence: handMade }),
        ErrorCodes.policy,
        'hand-made report that names no policy or evidence',
      );
      const callerMetrics = await evaluateGate(backend, { model: 'm', version: 2 }, { auc: 0.99 });
      await checkRejects(
        () => registry.setAlias('m', 'production', 2, { evidence: callerMetrics }),
        ErrorCodes.policy,
        'metrics other than the registered ones',
      );
      checkEqual(await registry.listAliases('m'), {}, 'nothing moved');
      const refused = (await auditEntries(registry)).filter((e) => e.details.outcome === 'refused');
      checkEqual(refused.length, 11, 'each refusal audited');
      const change = await registry.setAlias('m', 'production', 1, { evidence: good });
      checkEqual(change.evidence, good.digest, 'evidence digest recorded');
      checkEqual(
        (await registry.aliasHistory('m', 'production'))[0]?.evidence,
        good.digest,
        'in history',
      );
      await registry.setAlias('m', 'staging', 2);
      checkEqual(
        (await registry.resolve('m', 'staging')).version,
        2,
        'aliases without a policy are free',
      );
    },
  ],
  [
    'approvals: distinct approvers with an approver role, counted per version and alias',
    async (backend) => {
      const registry = make(backend, {
        aliasPolicies: [{ alias: 'production', requiredApprovals: 2, approverRoles: ['reviewer'] }],
      });
      const digest = await blob(backend);
      await registry.registerVersion('m', { artifact: digest });
      await registry.registerVersion('m', { artifact: digest });
      const ana = { id: 'ana', roles: ['reviewer'] };
      const bob = { id: 'bob', roles: ['reviewer'] };
      const eve = { id: 'eve', roles: ['intern'] };
      await checkRejects(
        () => registry.approve('m', 1, { alias: 'production', actor: eve }),
        ErrorCodes.unauthorized,
        'not an approver',
      );
      const denied = (await auditEntries(registry)).filter((e) => e.details.outcome === 'denied');
      checkEqual(
        denied.map((e) => [e.action, e.actor.id]),
        [['version:approve', 'eve']],
        'denial audited',
      );
      await registry.approve('m', 1, { alias: 'production', actor: ana, comment: 'looks good' });
      await registry.approve('m', 1, { alias: 'production', actor: ana });
      await registry.approve('m', 2, { alias: 'production', actor: bob });
      await checkRejects(
        () => registry.setAlias('m', 'production', 1),
        ErrorCodes.policy,
        'one distinct approver',
      );
      checkEqual(await registry.listAliases('m'), {}, 'nothing moved');
      await registry.approve('m', 1, { alias: 'production', actor: bob });
      checkEqual(
        (await registry.approvals('m', 1, 'production')).map((a) => a.actor.id),
        ['ana', 'bob'],
        'approvals',
      );
      await registry.setAlias('m', 'production', 1);
      checkEqual(
        (await registry.resolve('m', 'production')).version,
        1,
        'moved with two approvals',
      );
      await checkRejects(
        () => registry.setAlias('m', 'production', 2),
        ErrorCodes.policy,
        'approvals are per version',
      );
    },
  ],
  [
    'allowedRoles restricts who moves an alias; refusals are audited',
    async (backend) => {
      const registry = make(backend, {
        aliasPolicies: [{ alias: 'production', allowedRoles: ['releaser'] }],
      });
      const digest = await blob(backend);
      await registry.registerVersion('m', { artifact: digest });
      await registry.registerVersion('m', { artifact: digest });
      const dev = { id: 'dev', roles: ['trainer'] };
      const rel = { id: 'rel', roles: ['releaser'] };
      await checkRejects(
        () => registry.setAlias('m', 'production', 1, { actor: dev }),
        ErrorCodes.unauthorized,
        'set',
      );
      await registry.setAlias('m', 'production', 1, { actor: rel });
      await registry.setAlias('m', 'production', 2, { actor: rel });
      await checkRejects(
        () => registry.rollback('m', 'production', { actor: dev }),
        ErrorCodes.unauthorized,
        'rollback',
      );
      await checkRejects(
        () => registry.deleteAlias('m', 'production', { actor: dev }),
        ErrorCodes.unauthorized,
        'delete',
      );
      checkEqual((await registry.resolve('m', 'production')).version, 2, 'unchanged');
      const denied = (await auditEntries(registry)).filter((e) => e.details.outcome === 'denied');
      checkEqual(
        denied.map((e) => e.action),
        ['alias:set', 'alias:rollback', 'alias:delete'],
        'denials audited',
      );
    },
  ],
  [
    'the authorizer is asked for every mutation; denials are audited and write nothing',
    async (backend) => {
      const asked: string[] = [];
      const roles = roleAuthorizer({
        trainer: ['model:create', 'version:*'],
        releaser: ['alias:*'],
        admin: ['*'],
      });
      const registry = make(backend, {
        authorizer: (req) => {
          asked.push(req.action);
          return roles(req);
        },
      });
      const trainer = { id: 't', roles: ['trainer'] };
      const releaser = { id: 'r', roles: ['releaser'] };
      const digest = await blob(backend);
      await checkRejects(
        () => registry.registerVersion('m', { artifact: digest, actor: releaser }),
        ErrorCodes.unauthorized,
        'releaser registers',
      );
      await checkRejects(() => registry.getModel('m'), ErrorCodes.notFound, 'no model written');
      await registry.registerVersion('m', { artifact: digest, actor: trainer });
      await checkRejects(
        () => registry.setAlias('m', 'prod', 1, { actor: trainer }),
        ErrorCodes.unauthorized,
        'trainer sets alias',
      );
      await registry.setAlias('m', 'prod', 1, { actor: releaser });
      await registry
        .archiveVersion('m', 1, { actor: { id: 'root', roles: ['admin'] } })
        .catch(() => undefined);
      await checkRejects(
        () => registry.createModel('x', { actor: { id: 'nobody' } }),
        ErrorCodes.unauthorized,
        'no roles',
      );
      for (const action of ['model:create', 'version:register', 'alias:set', 'version:archive']) {
        check(asked.includes(action), `authorizer asked about ${action}`);
      }
      const entries = await auditEntries(registry);
      const denied = entries.filter((e) => e.details.outcome === 'denied');
      checkEqual(
        denied.map((e) => [e.action, e.actor.id]),
        [
          ['model:create', 'r'],
          ['alias:set', 't'],
          ['model:create', 'nobody'],
        ],
        'denials',
      );
      checkEqual(await registry.listAliases('m'), { prod: 1 }, 'only the allowed move happened');
      checkEqual((await registry.verifyAudit()).ok, true, 'chain verifies');
    },
  ],
  [
    'one audit entry per mutation, hash-chained, streamed from an offset',
    async (backend) => {
      const registry = make(backend, { actor: { id: 'ana' } });
      const digest = await blob(backend);
      await registry.createModel('m', { description: 'churn' });
      await registry.registerVersion('m', { artifact: digest });
      await registry.registerVersion('m', { artifact: digest });
      await registry.setAlias('m', 'prod', 1);
      await registry.approve('m', 2, { alias: 'prod' });
      await registry.setAlias('m', 'prod', 2);
      await registry.rollback('m', 'prod');
      await registry.deleteAlias('m', 'prod');
      await registry.archiveVersion('m', 2);
      const entries = await auditEntries(registry);
      checkEqual(
        entries.map((e) => e.action),
        [
          'model:create',
          'version:register',
          'version:register',
          'alias:set',
          'version:approve',
          'alias:set',
          'alias:rollback',
          'alias:delete',
          'version:archive',
        ],
        'actions',
      );
      checkEqual(
        entries.map((e) => e.offset),
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
        'offsets',
      );
      for (let i = 1; i < entries.length; i++)
        check(entries[i]?.prevHash === entries[i - 1]?.hash, `chain at ${i}`);
      checkEqual(entries[3]?.resource, { model: 'm', alias: 'prod', version: 1 }, 'resource');
      checkEqual(
        (await collect(registry.audit({ from: 7 }))).map((e) => e.offset),
        [7, 8],
        'from',
      );
      const verified = await registry.verifyAudit();
      checkEqual(
        [verified.ok, verified.entries, verified.headHash],
        [true, 9, entries[8]?.hash],
        'verify',
      );
    },
  ],
  [
    'verifyLineage reports each item as ok, missing or corrupt',
    async (backend) => {
      const runs = new Set(['run-1']);
      const registry = make(backend, { runExists: async (id) => runs.has(id) });
      const model = await blob(backend, 'weights');
      const data = await blob(backend, 'train.csv');
      await registry.registerVersion('m', {
        artifact: model,
        runId: 'run-1',
        inputs: [{ digest: data }],
      });
      const ok = await registry.verifyLineage('m', 1);
      checkEqual(
        [ok.ok, ok.items.map((i) => [i.kind, i.status])],
        [
          true,
          [
            ['artifact', 'ok'],
            ['input', 'ok'],
            ['run', 'ok'],
          ],
        ],
        'ok',
      );
      await backend.artifacts.delete(data);
      runs.delete('run-1');
      const broken = await registry.verifyLineage('m', 1);
      checkEqual(
        [broken.ok, broken.items.map((i) => i.status)],
        [false, ['ok', 'missing', 'missing']],
        'missing input and run',
      );
      await checkRejects(
        () => registry.registerVersion('m', { artifact: model, runId: 'run-9' }),
        ErrorCodes.notFound,
        'unknown run at registration',
      );
    },
  ],
  [
    'gc plans the removal of unreferenced blobs and deletes only when asked',
    async (backend) => {
      const registry = make(backend);
      const kept = await blob(backend, 'kept');
      const orphan = await blob(backend, 'orphan');
      const declared = await blob(backend, 'used by a run');
      await registry.registerVersion('m', { artifact: kept });
      const plan = await registry.gc({ minAgeMs: 0 });
      checkEqual([plan.dryRun, plan.scanned, plan.referenced], [true, 3, 1], 'counts');
      checkEqual(
        plan.unreferenced.map((b) => b.digest).sort(),
        [orphan, declared].sort(),
        'unreferenced',
      );
      check(await backend.artifacts.has(orphan), 'dry run deletes nothing');
      await checkRejects(
        () => registry.gc({ dryRun: false, minAgeMs: 0 }),
        ErrorCodes.validation,
        'real mode needs references',
      );
      const young = await registry.gc({ minAgeMs: 60 * 60 * 1000 });
      checkEqual([young.unreferenced.length, young.tooYoung], [0, 2], 'young blobs kept');
      const done = await registry.gc({ dryRun: false, minAgeMs: 0, references: [declared] });
      checkEqual(done.deleted, [orphan], 'deleted');
      check(!(await backend.artifacts.has(orphan)), 'orphan gone');
      check(await backend.artifacts.has(kept), 'version blob kept');
      check(await backend.artifacts.has(declared), 'declared reference kept');
      checkEqual((await registry.verifyLineage('m', 1)).ok, true, 'lineage intact');
    },
  ],
  [
    'a registry sees alias moves made through another registry on the same stores',
    async (backend) => {
      const a = make(backend);
      const b = make(backend, { resolveCacheMs: 0 });
      const digest = await blob(backend);
      await a.registerVersion('m', { artifact: digest });
      await a.registerVersion('m', { artifact: digest });
      await a.setAlias('m', 'prod', 1);
      checkEqual((await b.resolve('m', 'prod')).version, 1, 'b sees 1');
      checkEqual((await a.resolve('m', 'prod')).version, 1, 'a cached 1');
      await b.setAlias('m', 'prod', 2);
      checkEqual((await b.resolve('m', 'prod')).version, 2, 'b sees its own move');
      checkEqual((await a.resolve('m', 'latest')).version, 2, 'latest');
    },
  ],
  [
    'listModels pages in name order',
    async (backend) => {
      const registry = make(backend);
      for (const name of ['c', 'a', 'b']) await registry.createModel(name, { tags: { n: name } });
      const first = await registry.listModels({ limit: 2 });
      checkEqual(
        first.models.map((m) => m.name),
        ['a', 'b'],
        'page 1',
      );
      const second = await registry.listModels({ cursor: first.nextCursor ?? '', limit: 2 });
      checkEqual(
        [second.models.map((m) => m.name), second.nextCursor],
        [['c'], undefined],
        'page 2',
      );
      checkEqual((await registry.getModel('c')).tags, { n: 'c' }, 'tags');
    },
  ],
];

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { allowAll, roleAuthorizer } from '../../src/registry/authorizer.js';
import { createRegistry } from '../../src/registry/registry.js';

describe('roleAuthorizer', () => {
  const authorize = roleAuthorizer({
    trainer: ['version:register', 'model:create'],
    releaser: ['alias:*'],
    admin: ['*'],
    '*': ['version:approve'],
  });
  const ask = (roles: string[] | undefined, action: string) =>
    authorize({
      actor: roles === undefined ? { id: 'x' } : { id: 'x', roles },
      action,
      resource: { model: 'm' },
    });

  it('grants exact actions, prefix wildcards and everything', () => {
    expect(ask(['trainer'], 'version:register')).toBe(true);
    expect(ask(['trainer'], 'alias:set')).toBe(false);
    expect(ask(['releaser'], 'alias:rollback')).toBe(true);
    expect(ask(['releaser'], 'version:archive')).toBe(false);
    expect(ask(['admin'], 'registry:gc')).toBe(true);
    expect(ask(['trainer', 'releaser'], 'alias:delete')).toBe(true);
  });

  it('gives the "*" role to every actor, and nothing else to an actor without roles', () => {
    expect(ask(undefined, 'version:approve')).toBe(true);
    expect(ask(undefined, 'alias:set')).toBe(false);
    expect(ask(['unknown'], 'model:create')).toBe(false);
  });

  it('refuses malformed grants with ValidationError', () => {
    const bad = () =>
      roleAuthorizer({ trainer: 'alias:set' } as unknown as Record<string, string[]>);
    expect(bad).toThrow(expect.objectContaining({ code: 'KEEL_VALIDATION' }));
    expect(allowAll({ actor: { id: 'x' }, action: 'anything', resource: {} })).toBe(true);
  });

  it('a throwing authorizer counts as a denial, audited', async () => {
    const backend = memoryBackend();
    const registry = createRegistry({
      ...backend,
      authorizer: () => {
        throw new Error('policy service down');
      },
    });
    const error = await registry.createModel('m').catch((e: unknown) => e);
    expect(isKeelError(error, 'KEEL_UNAUTHORIZED')).toBe(true);
    const entries = [];
    for await (const entry of registry.audit()) entries.push(entry);
    expect(entries).toMatchObject([{ action: 'model:create', details: { outcome: 'denied' } }]);
  });
});

describe('registry options', () => {
  it('refuses bad alias policies with ValidationError', () => {
    const backend = memoryBackend();
    for (const aliasPolicies of [
      [{ alias: 'latest', requireGate: true }],
      [{ alias: 'Prod' }],
      [{ alias: 'prod', requiredApprovals: -1 }],
      [{ alias: 'prod' }, { alias: 'prod' }],
      [{ alias: 'prod', unknown: true }],
    ]) {
      expect(() => createRegistry({ ...backend, aliasPolicies: aliasPolicies as never })).toThrow(
        expect.objectContaining({ code: 'KEEL_VALIDATION' }),
      );
    }
  });

  it('a model-specific policy wins over the general one', async () => {
    const backend = memoryBackend();
    const registry = createRegistry({
      ...backend,
      aliasPolicies: [
        { alias: 'prod', requireGate: true },
        { alias: 'prod', model: 'sandbox' },
      ],
    });
    const { digest } = await backend.artifacts.put('w');
    await registry.registerVersion('sandbox', { artifact: digest });
    await registry.registerVersion('churn', { artifact: digest });
    await registry.setAlias('sandbox', 'prod', 1);
    const refused = await registry.setAlias('churn', 'prod', 1).catch((e: unknown) => e);
    expect(isKeelError(refused, 'KEEL_POLICY')).toBe(true);
  });
});

describe('rollback walks back through the versions an alias was set to', () => {
  it('for any sequence of moves, repeated rollbacks visit them in reverse', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
        async (moves) => {
          const backend = memoryBackend();
          const registry = createRegistry(backend);
          const { digest } = await backend.artifacts.put('w');
          for (let i = 0; i < 4; i++) await registry.registerVersion('m', { artifact: digest });
          for (const version of moves) await registry.setAlias('m', 'prod', version);
          // Setting the version an alias already has is not a move.
          const distinct = moves.filter((v, i) => i === 0 || moves[i - 1] !== v);
          const visited: number[] = [];
          for (;;) {
            const result = await registry.rollback('m', 'prod').catch((e: unknown) => e);
            if (isKeelError(result, 'KEEL_CONFLICT')) break;
            visited.push((await registry.resolve('m', 'prod')).version);
          }
          expect(visited).toEqual(distinct.slice(0, -1).reverse());
          expect((await registry.verifyAudit()).ok).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

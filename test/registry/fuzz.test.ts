/**
 * Issue 16: every argument of every public registry method is validated before any other
 * use. Whatever a caller passes (objects without a prototype, objects with a toString, boxed
 * values, bigints, symbols, sparse arrays), every throw is a KeelError, and nothing is
 * resolved through a name that is not a string.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { isKeelError } from '../../src/core/errors.js';
import { createRegistry } from '../../src/registry/registry.js';
import type { Registry } from '../../src/registry/types.js';
import { anythingOdd, outcome } from '../helpers/hostile.js';

async function seeded(): Promise<Registry> {
  const backend = memoryBackend();
  const registry = createRegistry({
    ...backend,
    aliasPolicies: [{ alias: 'gated', requireGate: true }],
  });
  const { digest } = await backend.artifacts.put('good');
  await registry.registerVersion('good', { artifact: digest, metrics: { auc: 0.9 } });
  await registry.registerVersion('good', { artifact: digest });
  await registry.setAlias('good', 'prod', 1);
  return registry;
}

const hostile = fc.oneof(
  anythingOdd(),
  fc.constantFrom<unknown>(
    Object.create(null),
    { toString: () => 'good' },
    { valueOf: () => 1 },
    Symbol('x'),
    () => 'good',
    new String('good'),
    [1],
    ['good'],
    Number.NaN,
    -0,
    2 ** 53,
    '__proto__',
    'constructor',
    '',
  ),
);

type Call = (registry: Registry, a: unknown, b: unknown, c: unknown, d: unknown) => unknown;
const calls: Record<string, Call> = {
  createModel: (r, a, b) => r.createModel(a as never, b as never),
  getModel: (r, a) => r.getModel(a as never),
  listModels: (r, a) => r.listModels(a as never),
  registerVersion: (r, a, b) => r.registerVersion(a as never, b as never),
  getVersion: (r, a, b) => r.getVersion(a as never, b as never),
  resolve: (r, a, b) => r.resolve(a as never, b as never),
  listVersions: (r, a, b) => r.listVersions(a as never, b as never),
  setAlias: (r, a, b, c, d) => r.setAlias(a as never, b as never, c as never, d as never),
  deleteAlias: (r, a, b, c) => r.deleteAlias(a as never, b as never, c as never),
  rollback: (r, a, b, c) => r.rollback(a as never, b as never, c as never),
  aliasHistory: (r, a, b) => r.aliasHistory(a as never, b as never),
  listAliases: (r, a) => r.listAliases(a as never),
  approve: (r, a, b, c) => r.approve(a as never, b as never, c as never),
  approvals: (r, a, b, c) => r.approvals(a as never, b as never, c as never),
  archiveVersion: (r, a, b, c) => r.archiveVersion(a as never, b as never, c as never),
  audit: (r, a) => r.audit(a as never),
  verifyLineage: (r, a, b) => r.verifyLineage(a as never, b as never),
  gc: (r, a) => r.gc(a as never),
};

describe('the registry under hostile arguments', () => {
  it('resolve refuses names that are not strings instead of throwing TypeError or resolving them', async () => {
    const registry = await seeded();
    for (const name of [Object.create(null), { toString: () => 'good' }, new String('good')]) {
      const error = await outcome(() => registry.resolve(name, 'prod'));
      expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    }
    const alias = await outcome(() =>
      registry.resolve('good', { toString: () => 'prod' } as never),
    );
    expect(isKeelError(alias, 'KEEL_VALIDATION')).toBe(true);
    expect((await registry.resolve('good', 'prod')).version).toBe(1);
  });

  it('options that are not objects of the documented shape are refused, not ignored', async () => {
    const registry = await seeded();
    for (const bad of ['x', 5, { from: -1 }, { from: 1.5 }, { form: 1 }]) {
      expect(() => registry.audit(bad as never)).toThrow(
        expect.objectContaining({ code: 'KEEL_VALIDATION' }),
      );
    }
    for (const bad of [
      5,
      'x',
      { dryRun: 'no' },
      { minAgeMs: -1 },
      { references: 'sha' },
      { drYrun: true },
    ]) {
      const error = await outcome(() => registry.gc(bad as never));
      expect(isKeelError(error, 'KEEL_VALIDATION'), JSON.stringify(bad)).toBe(true);
    }
    const throwing = {
      [Symbol.iterator]: () => ({
        next: (): IteratorResult<never> => {
          throw new RangeError('broken iterator');
        },
      }),
    };
    const error = await outcome(() => registry.gc({ dryRun: false, references: throwing }));
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
  });

  for (const [name, call] of Object.entries(calls)) {
    it(`${name}: every throw is a KeelError`, async () => {
      const registry = await seeded();
      await fc.assert(
        fc.asyncProperty(hostile, hostile, hostile, hostile, async (a, b, c, d) => {
          const error = await outcome(() => call(registry, a, b, c, d));
          if (error !== undefined && !isKeelError(error)) {
            throw new Error(`${name} threw ${String(error)}`, { cause: error });
          }
        }),
        { numRuns: 150 },
      );
      // Well-formed names with hostile options, and the other way round.
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('good', 'missing'),
          fc.constantFrom('prod', 'gated', 'latest'),
          hostile,
          hostile,
          async (model, alias, c, d) => {
            const error = await outcome(() => call(registry, model, alias, c, d));
            if (error !== undefined && !isKeelError(error)) {
              throw new Error(`${name}("${model}", "${alias}", …) threw ${String(error)}`, {
                cause: error,
              });
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  }
});

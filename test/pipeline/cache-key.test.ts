import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/digest.js';
import {
  cacheKeyOf,
  diffKeyParts,
  findArtifactRefs,
  fingerprint,
  sourceVersion,
  UNDEFINED_DIGEST,
} from '../../src/pipeline/cache-key.js';
import type { CacheKeyParts } from '../../src/pipeline/types.js';

const d = (n: number) => sha256(String(n));

/** The same value with every object's keys inserted in a rotated order. */
function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, seed + 1));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const cut = entries.length === 0 ? 0 : seed % entries.length;
  const rotated = [...entries.slice(cut), ...entries.slice(0, cut)].reverse();
  return Object.fromEntries(rotated.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
}

describe('fingerprint', () => {
  it('is deterministic whatever the key order (prefect#12229)', () => {
    fc.assert(
      // keel refuses "__proto__" keys everywhere, so they are left out of the generated data
      fc.property(
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        fc.integer({ min: 0, max: 1000 }),
        (value, seed) => {
          const a = fingerprint(value);
          const b = fingerprint(shuffleKeys(value, seed));
          expect(a.ok && b.ok && a.digest === b.digest).toBe(true);
        },
      ),
    );
  });

  it('distinguishes values that JSON.stringify would confuse or drop', () => {
    const digests = new Set(
      [1, '1', [1], { a: 1 }, { a: '1' }, null, true, 'true', undefined].map((v) => {
        const fp = fingerprint(v);
        if (!fp.ok) throw new Error(fp.reason);
        return fp.digest;
      }),
    );
    expect(digests.size).toBe(9);
    expect(fingerprint(undefined)).toEqual({ ok: true, digest: UNDEFINED_DIGEST, json: undefined });
    // -0 and 0 are the same JSON number
    expect(fingerprint(-0)).toEqual(fingerprint(0));
  });

  it('refuses values without a deterministic form, with a reason instead of a guess', () => {
    class Model {
      w = 1;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [
      () => 1,
      Symbol('s'),
      10n,
      new Model(),
      Number.NaN,
      { f: () => 1 },
      cyclic,
      new Map(),
    ]) {
      const fp = fingerprint(value);
      expect(fp.ok).toBe(false);
      if (!fp.ok) expect(fp.reason).toMatch(/cannot serialize/);
    }
    expect(fingerprint(new Model())).toMatchObject({ reason: expect.stringContaining('Model') });
    // toJSON gives a class a deterministic form
    expect(fingerprint(new Date(0)).ok).toBe(true);
  });
});

describe('cache key', () => {
  const parts: CacheKeyParts = {
    pipeline: 'p',
    step: 's',
    version: '1',
    inputs: { input: d(1), rows: d(2) },
  };

  it('changes with every part and not with input order', () => {
    const key = cacheKeyOf(parts);
    expect(cacheKeyOf({ ...parts, inputs: { rows: d(2), input: d(1) } })).toBe(key);
    const variants: CacheKeyParts[] = [
      { ...parts, pipeline: 'q' },
      { ...parts, step: 't' },
      { ...parts, version: '2' },
      { ...parts, inputs: { ...parts.inputs, rows: d(3) } },
      { ...parts, inputs: { input: d(1) } },
    ];
    const keys = new Set(variants.map(cacheKeyOf));
    expect(keys.size).toBe(variants.length);
    expect(keys.has(key)).toBe(false);
  });

  it('explains which parts changed', () => {
    expect(diffKeyParts(parts, parts)).toEqual([]);
    expect(diffKeyParts(parts, { ...parts, version: '2' })).toEqual(['version']);
    expect(
      diffKeyParts(parts, { ...parts, inputs: { input: d(9), model: d(4), rows: d(2) } }),
    ).toEqual(['inputs.input', 'inputs.model']);
    expect(diffKeyParts(parts, { ...parts, step: 'x', inputs: { input: d(1) } })).toEqual([
      'step',
      'inputs.rows',
    ]);
  });

  it('defaults the version to a hash of the function source', () => {
    const a = (x: number) => x + 1;
    const b = (x: number) => x + 2;
    const a2 = (x: number) => x + 1;
    expect(sourceVersion(a)).toMatch(/^src:[0-9a-f]{16}$/);
    expect(sourceVersion(a)).toBe(sourceVersion(a2));
    expect(sourceVersion(a)).not.toBe(sourceVersion(b));
  });

  it('finds artifact references anywhere in an output', () => {
    const ref = { digest: d(1), size: 3, mediaType: 'application/octet-stream' };
    const meta = { ...ref, digest: d(2), createdAt: 'x', annotations: {} };
    expect(
      findArtifactRefs({ model: ref, nested: [{ x: meta }, ref], digest: 'not-a-digest' }),
    ).toEqual([d(1), d(2)]);
    expect(findArtifactRefs({ digest: d(3) })).toEqual([]);
    expect(findArtifactRefs(42)).toEqual([]);
  });
});

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertDigest, digestOf, digestOfJson, isDigest, sha256 } from '../../src/core/digest.js';
import { Sha256 } from '../../src/core/sha256.js';

const nodeHex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('sha256 (portable implementation)', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    const hex = (s: string): string => new Sha256().update(new TextEncoder().encode(s)).hex();
    expect(hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('property: equals node:crypto for any bytes split into any chunks', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat({ max: 600 }), { maxLength: 5 }),
        (bytes, cuts) => {
          const hash = new Sha256();
          let last = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            const at = Math.min(cut, bytes.length);
            hash.update(bytes.subarray(last, at));
            last = at;
          }
          hash.update(bytes.subarray(last));
          expect(hash.hex()).toBe(nodeHex(bytes));
        },
      ),
    );
  });
});

describe('digests', () => {
  it('digestOf streams every body shape to the same digest', async () => {
    const bytes = new TextEncoder().encode('hello');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, 2);
      yield bytes.subarray(2);
    }
    const expected = `sha256:${nodeHex(bytes)}`;
    expect(await digestOf('hello')).toBe(expected);
    expect(await digestOf(bytes)).toBe(expected);
    expect(await digestOf(chunks())).toBe(expected);
    expect(await digestOf(new Blob([bytes]).stream())).toBe(expected);
    expect(sha256('hello')).toBe(expected);
  });

  it('digestOfJson hashes the canonical form', () => {
    expect(digestOfJson({ b: 1, a: 2 })).toBe(sha256('{"a":2,"b":1}'));
  });

  it('validates digest strings', () => {
    expect(isDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
    for (const bad of [
      `sha256:${'A'.repeat(64)}`,
      'sha256:',
      `md5:${'a'.repeat(64)}`,
      `sha256:${'a'.repeat(65)}`,
      42,
      null,
    ]) {
      expect(isDigest(bad)).toBe(false);
      expect(() => assertDigest(bad)).toThrow(/malformed digest/);
    }
  });
});

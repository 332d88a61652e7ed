import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '../../src/metadata/keys.js';

const utf8 = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

// Strings mixing the ranges where UTF-16 and code point order disagree.
const keyText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('a', 'z', '/', '\uD7FF', '\uE000', '\uFFFD', '\uFFFF'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 8,
});

describe('compareKeys', () => {
  it('is the byte order of UTF-8 (code point order)', () => {
    fc.assert(
      fc.property(keyText, keyText, (a, b) => {
        expect(compareKeys(a, b)).toBe(compareBytes(utf8.encode(a), utf8.encode(b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('differs from UTF-16 order exactly across U+FFFF', () => {
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    expect(compareKeys('\u{1F600}', '\uFFFD')).toBe(1);
    expect(compareKeys('a', 'ab')).toBe(-1);
    expect(compareKeys('ab', 'ab')).toBe(0);
    expect(['b', '\u{10000}', '\uE000', 'a'].sort(compareKeys)).toEqual([
      'a',
      'b',
      '\uE000',
      '\u{10000}',
    ]);
  });
});

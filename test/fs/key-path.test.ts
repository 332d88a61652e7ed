import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSegment,
  encodeSegment,
  keyLocation,
  MAX_ENCODED_SEGMENT,
  MAX_RELATIVE_PATH,
  segmentOfName,
} from '../../src/backends/fs/key-path.js';
import { assertKey } from '../../src/metadata/keys.js';

/** Segments as assertKey accepts them: any printable text, including unicode and lone surrogates. */
const unit = fc.oneof(
  fc.constantFrom(
    'a',
    'A',
    'z',
    'Z',
    '0',
    '.',
    '%',
    '~',
    ' ',
    '_',
    '-',
    'é',
    'É',
    'ß',
    '😀',
    '\ud800',
    '\udc00',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const segment = fc
  .string({ unit, minLength: 1, maxLength: 40 })
  .filter((s) => !s.includes('/') && isKey(s));
const key = fc.array(segment, { minLength: 1, maxLength: 6 }).map((segments) => segments.join('/'));

const SAFE_NAME = /^(?:[a-z0-9_%-]+|~[0-9a-f]{64})(?:\.json|\.log)?$/;

function relative(k: string, suffix = '.json'): string {
  const { dirs, file } = keyLocation(k, suffix);
  return [...dirs, file].join('/');
}

function isKey(k: string): boolean {
  try {
    assertKey(k);
    return true;
  } catch {
    return false;
  }
}

describe('fs key encoding', () => {
  it('keeps [a-z0-9_-] and escapes everything else as lowercase %xx of UTF-8', () => {
    expect(encodeSegment('runs')).toBe('runs');
    expect(encodeSegment('Model')).toBe('%4dodel');
    expect(encodeSegment('a.b')).toBe('a%2eb');
    expect(encodeSegment('é')).toBe('%c3%a9');
    expect(encodeSegment('😀')).toBe('%f0%9f%98%80');
    expect(encodeSegment('%')).toBe('%25');
  });

  it('escapes Windows device names, which no directory or file may be called', () => {
    for (const name of ['con', 'nul', 'aux', 'prn', 'com1', 'lpt9']) {
      expect(encodeSegment(name)).not.toBe(name);
      expect(decodeSegment(encodeSegment(name))).toBe(name);
    }
  });

  it('round-trips every segment, lone surrogates included', () => {
    fc.assert(
      fc.property(segment, (s) => {
        const encoded = encodeSegment(s);
        expect(encoded).toMatch(/^[a-z0-9_%-]+$/);
        expect(decodeSegment(encoded)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('maps two different keys to two different paths, also under case folding', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        fc.pre(a !== b);
        expect(relative(a).toLowerCase()).not.toBe(relative(b).toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });

  it('never produces a path that can leave the root', () => {
    fc.assert(
      fc.property(key, (k) => {
        const { dirs, file } = keyLocation(k, '.json');
        for (const name of [...dirs, file]) {
          expect(name).toMatch(SAFE_NAME);
          expect(name).not.toMatch(/^\.\.?$/);
        }
        expect(dirs.join('/').length + file.length).toBeLessThanOrEqual(MAX_RELATIVE_PATH);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes only names it produced (no aliasing through uppercase hex or overlong forms)', () => {
    expect(decodeSegment('%4D')).toBeUndefined();
    expect(decodeSegment('%61')).toBeUndefined(); // 'a' is never escaped
    expect(decodeSegment('%c0%80')).toBeUndefined(); // overlong NUL
    expect(decodeSegment('a.b')).toBeUndefined();
    expect(decodeSegment('')).toBeUndefined();
    expect(segmentOfName('%4dodel.json', '.json')).toBe('Model');
    expect(segmentOfName('~' + 'a'.repeat(64) + '.json', '.json')).toBeUndefined();
  });

  it('hashes long segments and folds very deep keys into one file name', () => {
    const long = 'x'.repeat(MAX_ENCODED_SEGMENT + 1);
    const located = keyLocation(`a/${long}/b`, '.json');
    expect(located.dirs[0]).toBe('a');
    expect(located.dirs[1]).toMatch(/^~[0-9a-f]{64}$/);
    expect(located.file).toBe('b.json');
    const deep = Array.from({ length: 300 }, () => '中中').join('/');
    assertKey(deep);
    const folded = keyLocation(deep, '.json');
    expect(folded.file).toMatch(/^~[0-9a-f]{64}\.json$/);
    expect(folded.dirs.join('/').length + folded.file.length).toBeLessThanOrEqual(
      MAX_RELATIVE_PATH,
    );
    expect(relative(deep)).not.toBe(relative(`${deep}/x`));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { isKeelError, ValidationError } from '../../src/core/errors.js';
import {
  type LikeMeter,
  likeMatcher,
  MAX_LIKE_PATTERN_LENGTH,
} from '../../src/tracking/filter/like.js';
import { parseFilter } from '../../src/tracking/filter/parser.js';
import { createTracker } from '../../src/tracking/tracker.js';

/** The old compilation to an anchored regex: an independent reference for `like`. */
function regexLike(pattern: string, value: string, caseInsensitive: boolean): boolean {
  let source = '';
  for (const char of pattern) {
    source +=
      char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, caseInsensitive ? 'isu' : 'su').test(value);
}

/** Textbook dynamic programming over code points: O(n * m), obviously right. */
function dpLike(pattern: string, value: string, fold: (c: string) => string): boolean {
  const p = [...pattern].map(fold);
  const s = [...value].map(fold);
  let row = new Array<boolean>(s.length + 1).fill(false);
  row[0] = true;
  for (const token of p) {
    const next = new Array<boolean>(s.length + 1).fill(false);
    if (token === '%') {
      let any = false;
      for (let j = 0; j <= s.length; j++) {
        any ||= row[j]!;
        next[j] = any;
      }
    } else {
      for (let j = 1; j <= s.length; j++) {
        next[j] = row[j - 1]! && (token === '_' || token === s[j - 1]);
      }
    }
    row = next;
  }
  return row[s.length]!;
}

const exact = (c: string): string => c;
/** Case folding for the small alphabet below, written out by hand (U+212A is the Kelvin sign). */
const FOLD: Record<string, string> = { A: 'a', B: 'b', É: 'é', ſ: 's', S: 's', '\u212a': 'k' };
const folded = (c: string): string => FOLD[c] ?? c;

/** A step budget that grows with the text times the pattern's 32-bit words, never faster. */
function budget(pattern: string, value: string): number {
  const m = [...pattern].length;
  return [...value].length * Math.ceil(Math.max(m, 1) / 32) + 2 * m;
}

function steps(pattern: string, value: string, caseInsensitive = false): number {
  const meter: LikeMeter = { steps: 0 };
  likeMatcher(pattern, caseInsensitive)(value, meter);
  return meter.steps;
}

describe('like matcher', () => {
  it('agrees with the regex and the DP reference on random patterns and strings', () => {
    const alphabet = fc.constantFrom('a', 'b', '%', '_', '.', '\n', 'é', '😀', '\\', '*');
    const text = fc.array(alphabet, { maxLength: 14 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, text, (pattern, value) => {
        const got = likeMatcher(pattern, false)(value);
        expect(got).toBe(dpLike(pattern, value, exact));
        expect(got).toBe(regexLike(pattern, value, false));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the references on any unicode text (code points, lone surrogates)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 10 });
    const pattern = fc
      .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 3 }), fc.constantFrom('%', '_')), {
        maxLength: 6,
      })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(pattern, text, (p, v) => {
        expect(likeMatcher(p, false)(v)).toBe(dpLike(p, v, exact));
        // a value built from the pattern matches it
        const filled = p.replaceAll('%', 'xyz').replaceAll('_', 'q');
        expect(likeMatcher(p, false)(filled)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('ilike folds case per code point', () => {
    const alphabet = fc.constantFrom(
      'a',
      'A',
      'b',
      'B',
      'é',
      'É',
      's',
      'S',
      'ſ',
      'k',
      '\u212a',
      '%',
      '_',
    );
    const text = fc.array(alphabet, { maxLength: 12 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(text, text, (pattern, value) => {
        expect(likeMatcher(pattern, true)(value)).toBe(dpLike(pattern, value, folded));
        expect(likeMatcher(pattern, false)(value)).toBe(dpLike(pattern, value, exact));
      }),
      { numRuns: 5000 },
    );
    expect(likeMatcher('ADAM%', true)('adamw')).toBe(true);
    expect(likeMatcher('straße', true)('STRASSE')).toBe(false); // one code point is not two
    expect(likeMatcher('Straße', true)('STRAßE')).toBe(true);
  });

  it('handles long segments (more than 32 characters) across words', () => {
    const segment = `${'ab'.repeat(40)}_c`;
    const value = `zz${'ab'.repeat(40)}xc-tail`;
    expect(likeMatcher(`%${segment}%`, false)(value)).toBe(true);
    expect(likeMatcher(`%${segment}%`, false)(value.replace('xc', 'xd'))).toBe(false);
    expect(likeMatcher(`zz%${segment}-tail`, false)(value)).toBe(true);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '_'), { minLength: 30, maxLength: 70 }),
        fc.array(fc.constantFrom('a', 'b'), { maxLength: 120 }),
        (seg, chars) => {
          const pattern = `%${seg.join('')}%`;
          const v = chars.join('');
          expect(likeMatcher(pattern, false)(v)).toBe(dpLike(pattern, v, exact));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the pathological patterns of a backtracking regex stay within n * ceil(m / 32) + 2m steps', () => {
    const cases: [string, string][] = [
      ['%a%a%a%a%a%a%a%ab', 'a'.repeat(100)],
      ['%a%a%ab', 'a'.repeat(5000)],
      ['%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%ab', 'a'.repeat(5000)],
      [`%${'a'.repeat(MAX_LIKE_PATTERN_LENGTH - 2)}b`, 'a'.repeat(6000)],
      [`%${'_'.repeat(500)}b%`, 'a'.repeat(6000)],
      [`${'%_'.repeat(400)}b`, 'a'.repeat(6000)],
    ];
    for (const [pattern, value] of cases) {
      expect(likeMatcher(pattern, false)(value)).toBe(false);
      expect(likeMatcher(pattern, true)(value.toUpperCase())).toBe(false);
      expect(steps(pattern, value)).toBeLessThanOrEqual(budget(pattern, value));
      expect(steps(pattern, value.toUpperCase(), true)).toBeLessThanOrEqual(budget(pattern, value));
    }
  });

  it('every match stays within the step budget (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '%', '_');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 80 }).map((c) => c.join('')),
        fc.array(fc.constantFrom('a', 'b'), { maxLength: 300 }).map((c) => c.join('')),
        (pattern, value) => {
          expect(steps(pattern, value)).toBeLessThanOrEqual(budget(pattern, value));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses patterns longer than the bound, naming the column', () => {
    const long = 'a'.repeat(MAX_LIKE_PATTERN_LENGTH + 1);
    let error: unknown;
    try {
      parseFilter(`tags.t like '${long}'`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toContain(
      `expected a pattern of at most ${MAX_LIKE_PATTERN_LENGTH} characters`,
    );
    expect((error as ValidationError).details?.column).toBe(13);
    expect(parseFilter(`tags.t like '${long.slice(1)}'`)).toMatchObject({ type: 'like' });
  });

  it('searchRuns answers the issue 16 filters on every likeable field kind', async () => {
    const tracker = createTracker({
      metadata: createMemoryMetadataStore(),
      artifacts: createMemoryArtifactStore(),
    });
    const long = 'a'.repeat(100);
    const run = await tracker.startRun({
      experiment: 'redos',
      name: long,
      params: { p: long },
      tags: { t: long, big: 'a'.repeat(5000) },
    });
    await run.end();
    for (const field of ['tags.t', 'params.p', 'attributes.name']) {
      for (const op of ['like', 'ilike']) {
        const { runs } = await tracker.searchRuns({
          filter: `${field} ${op} '%a%a%a%a%a%a%a%ab'`,
        });
        expect(runs).toEqual([]);
        const hit = await tracker.searchRuns({ filter: `${field} ${op} '%a%a%a%a%a%a%a%a'` });
        expect(hit.runs.map((r) => r.id)).toEqual([run.id]);
      }
    }
    expect((await tracker.searchRuns({ filter: "tags.big like '%a%a%ab'" })).runs).toEqual([]);
    for (const field of ['attributes.status', 'attributes.run_id']) {
      expect((await tracker.searchRuns({ filter: `${field} like '%a%a%a%ab'` })).runs).toEqual([]);
    }
    const error = await tracker
      .searchRuns({ filter: `tags.t like '${'%a'.repeat(MAX_LIKE_PATTERN_LENGTH)}'` })
      .catch((e: unknown) => e);
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
  });
});

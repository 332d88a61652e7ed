/**
 * keel/adapter exports every helper and constant docs/adapters.md tells adapter authors to
 * use, and the checks behave as the guide says on a few hostile inputs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as adapter from '../src/adapter.js';
import { createMemoryMetadataStore, ErrorCodes, isKeelError } from '../src/index.js';
import { repoRoot } from './helpers/run-ts.js';

const guide = readFileSync(join(repoRoot, 'docs/adapters.md'), 'utf8');

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isKeelError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('keel/adapter', () => {
  it('exports every helper and constant the guide names', () => {
    const section = guide.slice(guide.indexOf('## The helpers'), guide.indexOf('## Optional'));
    const helpers = [...section.matchAll(/`(\w+)\(/g)].map((m) => m[1]!);
    const constants = [...section.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]!);
    expect(helpers.length).toBeGreaterThan(20);
    expect(constants.length).toBeGreaterThan(6);
    const exported = adapter as Record<string, unknown>;
    for (const name of helpers) expect(typeof exported[name], name).toBe('function');
    for (const name of constants) expect(exported[name], name).toBeDefined();
  });

  it('refuses the keys the guide lists, and accepts the ones it allows', () => {
    for (const key of ['', '/abs', 'a/', 'a//b', 'a/../b', 'a\\b', 'C:x', 'a/__proto__', 'a\nb']) {
      expect(
        refusal(() => adapter.assertKey(key)),
        JSON.stringify(key),
      ).toBe(ErrorCodes.validation);
    }
    for (const key of ['exp/été ☃/run 1', 'a.b/c..d/...x', 'k/%41', 'm/constructor/prototype']) {
      expect(
        refusal(() => adapter.assertKey(key)),
        key,
      ).toBeUndefined();
    }
  });

  it('checks list options, put options and digests as the guide says', async () => {
    expect(adapter.listLimit(undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(adapter.listLimit({ limit: adapter.MAX_LIST_LIMIT })).toBe(100_000);
    expect(refusal(() => adapter.listLimit({ limit: 100_001 }))).toBe(ErrorCodes.validation);
    expect(adapter.checkPutOptions({ mediaType: 'text/plain; charset=utf-8' }).mediaType).toBe(
      'text/plain; charset=utf-8',
    );
    expect(adapter.checkPutOptions(undefined)).toEqual({
      mediaType: adapter.DEFAULT_MEDIA_TYPE,
      annotations: {},
    });
    expect(
      refusal(() => adapter.checkPutOptions({ annotations: { n: 1 as unknown as string } })),
    ).toBe(ErrorCodes.validation);
    expect(refusal(() => adapter.checkArtifactListOptions({ after: 'sha256:XYZ' as never }))).toBe(
      ErrorCodes.validation,
    );
    const digest = await adapter.digestOf('x');
    expect(refusal(() => adapter.checkExpectedDigest('mine', digest, digest))).toBeUndefined();
    expect(
      refusal(() => adapter.checkExpectedDigest('mine', digest, `sha256:${'0'.repeat(64)}`)),
    ).toBe(ErrorCodes.integrity);
    expect(adapter.artifactNotFound('mine', digest).code).toBe(ErrorCodes.notFound);
  });

  it('refuses a watch without a listener, in the memory store as through the helper', () => {
    const store = createMemoryMetadataStore();
    expect(refusal(() => store.watch!('runs/', 5 as never))).toBe(ErrorCodes.validation);
    expect(refusal(() => store.watch!('a\u0000', () => {}))).toBe(ErrorCodes.validation);
    expect(refusal(() => adapter.assertWatchArguments('runs/', () => {}))).toBeUndefined();
  });

  it('orders by code point, not by UTF-16 code unit', () => {
    const keys = ['\u{1F600}', '\uFFFD', 'z'];
    expect([...keys].sort(adapter.compareKeys)).toEqual(['z', '\uFFFD', '\u{1F600}']);
    expect([...keys].sort()).toEqual(['z', '\u{1F600}', '\uFFFD']);
  });
});

/**
 * A conformance failure names the input in words and the rule it broke, so the author of a
 * broken adapter knows what to fix without reading the suite: checked here against adapters
 * broken on purpose.
 */
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/types.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { describeInput } from '../../src/testing/assert.js';
import type { TestFn, TestRunner } from '../../src/testing/runner.js';
import { describeArtifactStore, describeMetadataStore } from '../../src/testing.js';

/** Registers a suite into a map of its cases instead of a test runner. */
function casesOf(register: (runner: TestRunner) => void): Map<string, TestFn> {
  const cases = new Map<string, TestFn>();
  register({ describe: (_name, body) => body(), it: (name, body) => cases.set(name, body) });
  return cases;
}

/** The message a case fails with; fails the test when the case passes. */
async function failureOf(cases: Map<string, TestFn>, name: string): Promise<string> {
  const run = cases.get(name);
  expect(run, `a case named "${name}"`).toBeDefined();
  try {
    await run!();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`the case "${name}" passed against a broken adapter`);
}

/** A memory store that forgets three rules: backslashes in keys, NaN values, empty appends. */
function brokenMetadataStore(): MetadataStore {
  const inner = createMemoryMetadataStore();
  return {
    ...inner,
    async put(key, value, opts) {
      if (key.includes('\\')) return { revision: 'accepted' };
      return inner.put(key, Number.isNaN(value) ? null : value, opts);
    },
    async append(log, entries) {
      if (Array.isArray(entries) && entries.length === 0) throw new Error('nothing to append');
      return inner.append(log, entries);
    },
  };
}

/** A memory store that converts annotation values to strings instead of refusing them. */
function brokenArtifactStore(): ArtifactStore {
  const inner = createMemoryArtifactStore();
  return {
    ...inner,
    put: (body, opts) =>
      inner.put(
        body,
        opts?.annotations === undefined
          ? opts
          : {
              ...opts,
              annotations: Object.fromEntries(
                Object.entries(opts.annotations).map(([k, v]) => [k, String(v)]),
              ),
            },
      ),
  };
}

describe('conformance failure messages', () => {
  const metadata = casesOf((runner) =>
    describeMetadataStore('broken', brokenMetadataStore, { runner }),
  );
  const artifacts = casesOf((runner) =>
    describeArtifactStore('broken', brokenArtifactStore, { runner }),
  );

  it('name the key and the rule a store let through', async () => {
    expect(
      await failureOf(metadata, 'unsafe keys are refused with ValidationError everywhere'),
    ).toBe(
      'conformance: put("a\\\\b", 1) should be refused with ValidationError: keys may not contain a backslash, but it succeeded',
    );
  });

  it('name the value in words (NaN, not 0) and the rule', async () => {
    expect(
      await failureOf(
        metadata,
        'values JSON cannot carry are refused with ValidationError and nothing is written',
      ),
    ).toBe(
      'conformance: put("bad/0", NaN) should be refused with ValidationError: JSON has no NaN, but it succeeded',
    );
  });

  it('say which error was thrown when it is not the one the rule needs', async () => {
    expect(
      await failureOf(
        metadata,
        'append returns contiguous offsets and read returns entries in order',
      ),
    ).toBe(
      'conformance: append("audit", []) should be refused with ValidationError: an append needs at least one entry, but it threw Error: nothing to append',
    );
  });

  it('name the put options and the annotation rule', async () => {
    expect(
      await failureOf(artifacts, 'bad put options throw ValidationError and store nothing'),
    ).toBe(
      'conformance: put("x", {"annotations": {"a": 1}}) should be refused with ValidationError: annotation values are strings (a number is not converted), but it succeeded',
    );
  });

  it('pass against the adapters as they are', async () => {
    const intact = casesOf((runner) =>
      describeMetadataStore('memory', createMemoryMetadataStore, { runner }),
    );
    for (const name of [
      'unsafe keys are refused with ValidationError everywhere',
      'values JSON cannot carry are refused with ValidationError and nothing is written',
    ]) {
      await intact.get(name)!();
    }
  });
});

describe('describeInput', () => {
  it('shows values as a reader wants them, never as JSON would coerce them', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(describeInput(Number.NaN)).toBe('NaN');
    expect(describeInput(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(describeInput(-0)).toBe('-0');
    expect(describeInput(undefined)).toBe('undefined');
    expect(describeInput(10n)).toBe('10n');
    expect(describeInput(() => 1)).toBe('a function');
    expect(describeInput(new Map())).toBe('a Map');
    expect(describeInput([undefined, Number.NaN])).toBe('[undefined, NaN]');
    expect(describeInput(cyclic)).toBe('{"a": 1, "self": <cycle>}');
    expect(describeInput(JSON.parse('{"__proto__": {"x": true}}'))).toBe(
      '{"__proto__": {"x": true}}',
    );
    expect(describeInput('a\\b')).toBe('"a\\\\b"');
    expect(describeInput('x'.repeat(2000))).toBe(`"${'x'.repeat(20)}"... (2000 characters)`);
    expect(describeInput(new Uint8Array([1, 255]))).toBe('Uint8Array(2 bytes: 01 ff)');
  });
});

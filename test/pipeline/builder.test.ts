import { describe, expect, it } from 'vitest';
import { isKeelError, ValidationError } from '../../src/core/errors.js';
import { pipeline } from '../../src/pipeline/builder.js';

/** Lets JS-style (untyped) calls through, as a JavaScript caller would make them. */
type Loose = {
  step(...args: unknown[]): Loose;
  build(): { steps: readonly { name: string; deps: readonly string[] }[] };
};
const loose = (name: unknown, options?: unknown): Loose =>
  (pipeline as unknown as (n: unknown, o?: unknown) => Loose)(name, options);

function validationMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isKeelError(error, 'KEEL_VALIDATION')).toBe(true);
    return (error as ValidationError).message;
  }
  throw new Error('expected a ValidationError');
}

describe('pipeline builder', () => {
  it('records steps in order with their dependencies; no list means every earlier step', () => {
    const built = pipeline('p')
      .step('a', () => 1)
      .step('b', () => 2)
      .step('c', ['a'], ({ a }) => a + 1)
      .step('d', ({ a, b, c }) => a + b + c)
      .build();
    expect(built.name).toBe('p');
    expect(built.steps.map((s) => [s.name, s.deps])).toEqual([
      ['a', []],
      ['b', ['a']],
      ['c', ['a']],
      ['d', ['a', 'b', 'c']],
    ]);
  });

  it('refuses a duplicate step name, naming the step', () => {
    const message = validationMessage(() =>
      loose('p')
        .step('a', () => 1)
        .step('a', () => 2),
    );
    expect(message).toContain('step "a" of pipeline "p"');
    expect(message).toContain('already used');
  });

  it('refuses a dependency that does not exist (JS callers), naming both', () => {
    const message = validationMessage(() =>
      loose('p')
        .step('a', () => 1)
        .step('b', ['nope'], () => 2),
    );
    expect(message).toContain('step "b"');
    expect(message).toContain('"nope"');
  });

  it('makes cycles impossible: a step can only depend on earlier steps, never itself or later ones', () => {
    expect(() => loose('p').step('a', ['a'], () => 1)).toThrow(ValidationError);
    expect(() =>
      loose('p')
        .step('a', ['b'], () => 1)
        .step('b', ['a'], () => 2),
    ).toThrow(/unknown dependency "b"/);
    expect(() =>
      loose('p')
        .step('a', () => 1)
        .step('b', ['a', 'a'], () => 2),
    ).toThrow(/listed twice/);
  });

  it('refuses invalid options, naming the step', () => {
    expect(validationMessage(() => loose('p').step('a', () => 1, { retries: -1 }))).toMatch(
      /options of step "a".*retries/,
    );
    expect(validationMessage(() => loose('p').step('a', () => 1, { timeoutMs: 0 }))).toMatch(
      /timeoutMs: must be positive/,
    );
    expect(() => loose('p').step('a', () => 1, { retries: 1.5 })).toThrow(ValidationError);
    expect(() => loose('p').step('a', () => 1, { cache: 'yes' })).toThrow(ValidationError);
    expect(() => loose('p').step('a', () => 1, { unknownOption: true })).toThrow(ValidationError);
    expect(() => loose('p').step('a', () => 1, { backoff: { factor: 0 } })).toThrow(
      ValidationError,
    );
    expect(() => loose('p').step('a', () => 1, { retryOn: 'x' })).toThrow(ValidationError);
  });

  it('refuses bad names: empty, path-like, reserved', () => {
    expect(() => loose('')).toThrow(ValidationError);
    expect(() => loose('../etc')).toThrow(ValidationError);
    expect(() => loose('a/b')).toThrow(ValidationError);
    expect(() => loose('p').step('input', () => 1)).toThrow(/reserved/);
    expect(() => loose('p').step('__proto__', () => 1)).toThrow(ValidationError);
    expect(() => loose('p').step('', () => 1)).toThrow(ValidationError);
    expect(() => loose('p').step(42, () => 1)).toThrow(ValidationError);
    expect(() => loose('p').step('a', 'not a function')).toThrow(/step function/);
    expect(() => loose('p', { input: { not: 'a schema' } })).toThrow(/Standard Schema/);
    expect(() => loose('p', { cache: 1 })).toThrow(ValidationError);
  });

  it('is immutable: branching a builder does not affect the other branch', () => {
    const base = pipeline('p').step('a', () => 1);
    const left = base.step('b', () => 2).build();
    const right = base.step('c', () => 3).build();
    expect(left.steps.map((s) => s.name)).toEqual(['a', 'b']);
    expect(right.steps.map((s) => s.name)).toEqual(['a', 'c']);
    expect(Object.isFrozen(left.steps)).toBe(true);
  });
});

/**
 * @module
 * The test-runner seam of the conformance suites: they need only `describe` and `it`, taken
 * from the caller, from the runner's globals, or from vitest when it is installed.
 */
import { ValidationError } from '../core/errors.js';

/**
 * A test body: sync or async, throwing on failure. Runners that pass a context with
 * `skip(note)` (vitest, node:test) let a suite skip a case at run time, with its reason.
 */
export type TestFn = (context?: unknown) => unknown;

/** The two functions every test runner offers (vitest, jest, mocha, node:test). */
export interface TestRunner {
  /** Groups tests, as the runner's `describe`. */
  describe(name: string, body: () => void): unknown;
  /** Declares one test, as the runner's `it`, with an optional timeout in ms. */
  it(name: string, body: TestFn, timeoutMs?: number): unknown;
}

/** Options every conformance suite accepts. */
export interface SuiteOptions<Subject> {
  /** `{ describe, it }` of your runner; default: the runner's globals, else vitest. */
  runner?: TestRunner;
  /** Your runner's `describe`, when passed directly (`{ describe, it, expect }`). */
  describe?: TestRunner['describe'];
  /** Your runner's `it`, when passed directly. */
  it?: TestRunner['it'];
  /** Accepted for symmetry with `{ describe, it, expect }`; the suites use their own assertions. */
  expect?: unknown;
  /** Tests to skip, by name, each with the reason (a skip without a reason is refused). */
  skip?: Record<string, string>;
  /** Your own extra tests, run inside the suite with a fresh subject. */
  additionalTests?: Record<string, (subject: Subject) => unknown>;
  /** Per-test timeout in milliseconds. Default 20 000. */
  timeoutMs?: number;
}

/**
 * A named conformance case. `unsupported`, when given, tells at run time why a subject cannot
 * run the case (an optional capability it does not declare): the case is then skipped with
 * that reason.
 */
export type SuiteCase<Subject> = readonly [
  name: string,
  run: (subject: Subject) => unknown,
  unsupported?: (subject: Subject) => string | undefined,
];

/**
 * Registers `cases` under `describe(title)`, each with a fresh subject from `factory`,
 * honouring skips (which must give a reason) and additional tests.
 */
export function registerSuite<Subject>(
  title: string,
  factory: () => Subject | Promise<Subject>,
  cases: readonly SuiteCase<Subject>[],
  options: SuiteOptions<Subject> & { dispose?: (subject: Subject) => unknown } = {},
): void {
  const given =
    options.describe && options.it ? { describe: options.describe, it: options.it } : undefined;
  const runner = options.runner ?? given ?? defaultRunner();
  const skip = options.skip ?? {};
  for (const [name, reason] of Object.entries(skip)) {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new ValidationError(
        `[keel] skipping "${name}" needs a reason: pass skip: { "${name}": "why" }`,
      );
    }
  }
  const all: SuiteCase<Subject>[] = [...cases, ...Object.entries(options.additionalTests ?? {})];
  runner.describe(title, () => {
    for (const [name, run, unsupported] of all) {
      const reason = skip[name];
      const label = reason === undefined ? name : `${name} (skipped: ${reason})`;
      runner.it(
        label,
        async (context?: unknown) => {
          if (reason !== undefined) return;
          const subject = await factory();
          let why: string | undefined;
          try {
            why = unsupported?.(subject);
            if (why === undefined) await run(subject);
          } finally {
            await options.dispose?.(subject);
          }
          if (why !== undefined) skipAtRunTime(context, why);
        },
        options.timeoutMs ?? 20_000,
      );
    }
  });
}

function skipAtRunTime(context: unknown, reason: string): void {
  const skip = (context as { skip?: (note?: string) => unknown } | undefined)?.skip;
  if (typeof skip === 'function') skip.call(context, reason);
}

function defaultRunner(): TestRunner {
  const globals = globalThis as Partial<TestRunner>;
  if (typeof globals.describe === 'function' && typeof globals.it === 'function') {
    return { describe: globals.describe, it: globals.it };
  }
  const vitest = loadVitest();
  if (vitest) return vitest;
  throw new ValidationError(
    '[keel] no test runner found: pass { runner: { describe, it } } from your test framework, or install vitest',
  );
}

function loadVitest(): TestRunner | undefined {
  const proc = (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; cwd(): string } }
  ).process;
  const moduleApi = proc?.getBuiltinModule?.('node:module') as
    | { createRequire(path: string): (id: string) => unknown }
    | undefined;
  if (!proc || !moduleApi) return undefined;
  try {
    const vitest = moduleApi.createRequire(`${proc.cwd()}/`)('vitest') as Partial<TestRunner>;
    if (typeof vitest.describe === 'function' && typeof vitest.it === 'function') {
      return { describe: vitest.describe, it: vitest.it };
    }
  } catch {
    // vitest is an optional peer: fall through to the error that says what to pass
  }
  return undefined;
}

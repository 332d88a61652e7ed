/**
 * The `@example` blocks of the main entry points compile against the real API and run: each
 * is pulled out of its doc comment, given a keel on a memory backend, type-checked and run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot, runTs } from './helpers/run-ts.js';

/** Where each example lives: the file and the start of the declaration it documents. */
const DOCUMENTED = [
  { name: 'createKeel', file: 'src/keel.ts', declaration: 'export function createKeel(' },
  { name: 'Registry.setAlias', file: 'src/registry/types.ts', declaration: '  setAlias(' },
  { name: 'Tracker.startRun', file: 'src/tracking/types.ts', declaration: '  startRun(' },
  {
    name: 'detectDrift',
    file: 'src/drift/dataset.ts',
    declaration: 'export function detectDrift(',
  },
  { name: 'pipeline', file: 'src/pipeline/builder.ts', declaration: 'export function pipeline<S' },
  {
    name: 'createDriftService',
    file: 'src/drift/service.ts',
    declaration: 'export function createDriftService(',
  },
  {
    name: 'createRouter',
    file: 'src/ops/router/router.ts',
    declaration: 'export function createRouter<',
  },
  {
    name: 'createMonitor',
    file: 'src/ops/monitor/monitor.ts',
    declaration: 'export function createMonitor(',
  },
];

/** Entry points an example may import from, as a user of the package would. */
const ENTRIES: Record<string, string> = { keel: 'src/index.ts', 'keel/fs': 'src/fs.ts' };

/** The code of the `@example` in the doc comment right above `declaration` in `source`. */
function exampleAbove(source: string, declaration: string): string | undefined {
  const at = source.indexOf(declaration);
  if (at < 0) return undefined;
  const open = source.lastIndexOf('/**', at);
  const close = source.lastIndexOf('*/', at);
  if (open < 0 || close < open || source.slice(close + 2, at).trim() !== '') return undefined;
  const comment = source
    .slice(open + 3, close)
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n');
  return /@example\s*```ts\n([\s\S]*?)```/.exec(comment)?.[1];
}

/** What an example may use without importing it: `keel` (unless it creates one) and these. */
const GIVEN = ['createKeel', 'memoryBackend', 'detectDrift', 'pipeline'];

/** One module running every example in its own block, sharing the imports they name. */
function program(examples: { name: string; code: string }[]): string {
  const imports = new Map<string, Set<string>>([['keel', new Set(GIVEN)]]);
  const bodies = examples.map(({ name, code }) => {
    const body = code.replace(
      /^import \{([^}]*)\} from '([^']+)';\n/gm,
      (_line, names: string, from: string) => {
        const set = imports.get(from) ?? new Set<string>();
        for (const n of names.split(',')) if (n.trim()) set.add(n.trim());
        imports.set(from, set);
        return '';
      },
    );
    const given = /\bconst keel =/.test(body)
      ? ''
      : 'const keel = createKeel({ backend: memoryBackend() });\n';
    return `{\nconsole.log('--- ${name}');\n${given}${body}await keel.close();\n}`;
  });
  const lines = [...imports].map(([from, names]) => {
    const entry = ENTRIES[from];
    if (entry === undefined) throw new Error(`an example imports from ${from}`);
    return `import { ${[...names].join(', ')} } from '${join(repoRoot, entry)}';`;
  });
  return `${lines.join('\n')}\n\n${bodies.join('\n\n')}\n`;
}

function typeErrors(file: string): string[] {
  const config = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, repoRoot);
  const built = ts.createProgram([file], {
    ...options,
    noEmit: true,
    allowImportingTsExtensions: true,
  });
  // Only the examples' file is checked (the sources are checked by `npm run typecheck`): the
  // checker then resolves just the types the examples use.
  const source = built.getSourceFile(file);
  const found = [...built.getSyntacticDiagnostics(source), ...built.getSemanticDiagnostics(source)];
  return found.map((d) => {
    const where =
      d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    return where ? `${d.file!.fileName}:${where.line + 1}: ${text}` : text;
  });
}

describe('doc comment examples', () => {
  it('finds the example above a declaration, and nothing where there is none', () => {
    const source =
      '/**\n * Adds.\n *\n * @example\n * ```ts\n * add(1, 2);\n * ```\n */\nexport function add() {}\n/** No example. */\nexport function sub() {}\n';
    expect(exampleAbove(source, 'export function add(')).toBe('add(1, 2);\n');
    expect(exampleAbove(source, 'export function sub(')).toBeUndefined();
    expect(exampleAbove(source, 'export function mul(')).toBeUndefined();
  });

  it('every main entry point has an example that type-checks and runs', () => {
    const examples = DOCUMENTED.map(({ name, file, declaration }) => {
      const code = exampleAbove(readFileSync(join(repoRoot, file), 'utf8'), declaration);
      expect(code, `an @example above ${name} in ${file}`).toBeDefined();
      return { name, code: code! };
    });
    const dir = mkdtempSync(join(repoRoot, 'node_modules/.doc-examples-'));
    try {
      const file = join(dir, 'examples.mts');
      writeFileSync(file, program(examples));
      expect(typeErrors(file)).toEqual([]);
      const output = runTs(file, { cwd: dir });
      for (const { name } of examples) expect(output).toContain(`--- ${name}`);
      expect(output).toContain('churn@staging -> v1');
      expect(output).toContain('true 1 of 2 drifted');
      expect(output).toMatch(/age ks 0\.000155/);
      expect(output).toContain('completed 0.3333333333333333 miss');
      expect(output).toContain('drift:detected age\ntrue 1');
      expect(output).toContain('champion 1 false');
      expect(output).toContain('drift in age drifting');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

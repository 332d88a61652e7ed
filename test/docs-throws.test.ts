/**
 * The API reference says what each public call throws: every `@throws` in src/ reads
 * `@throws {ErrorClass} …` naming a real error class, and every function and method exported
 * from a package entry point has a `@throws` tag or says "never throws" / "never rejects".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/run-ts.js';

/** The package's entry points (package.json `exports`, without the CLI binary). */
const ENTRIES = ['index', 'fs', 'report', 'postgres', 's3', 'ui', 'testing', 'adapter', 'mlflow'];

/**
 * Interfaces the user implements (or a library such as `pg` does) and keel only calls: what
 * their methods throw is the implementer's to say, so they carry no `@throws`.
 */
const IMPLEMENTED_BY_USERS = new Set([
  'Clock', // a custom time source
  'EventSource', // the event bus a router or monitor listens to
  'Migration', // PostgreSQL migration steps (data)
  'OpenLineageBus', // the event bus the OpenLineage emitter listens to
  'OpenLineageTransport', // where OpenLineage events go
  'PostgresPool', // pg.Pool
  'PostgresPoolClient', // pg.PoolClient
  'PredictionRecorder', // anything a router records predictions to
  'S3ClientLike', // @aws-sdk/client-s3's S3Client
  'TestRunner', // vitest, jest, mocha, node:test
  'TrainablePipeline', // what a training loop runs
  'Trigger', // a custom training trigger
]);

const THROWS_STYLE = /^@throws \{([A-Za-z_$][\w$]*)\}\s+\S/;
const SAYS_NEVER = /\bnever (throws|rejects)\b/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `@throws` tag of `source` (one string per tag, from `@throws` to the line's end). */
function throwsTags(source: string): { line: number; text: string }[] {
  const found: { line: number; text: string }[] = [];
  source.split('\n').forEach((line, i) => {
    const at = line.indexOf('@throws');
    if (at >= 0 && /^\s*(\/\*\*|\*)/.test(line)) found.push({ line: i + 1, text: line.slice(at) });
  });
  return found;
}

/** Names of the classes declared in `source` that extend `Error` or a class named `…Error`. */
function localErrorClasses(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(/class (\w+) extends (\w*Error)\b/g)) names.add(match[1]!);
  return names;
}

/**
 * The problems of the `@throws` tags of one file: the style, and a class that is neither in
 * `knownErrors` nor declared in the file as an error.
 */
function styleProblems(file: string, source: string, knownErrors: ReadonlySet<string>): string[] {
  const local = localErrorClasses(source);
  return throwsTags(source).flatMap(({ line, text }) => {
    const match = THROWS_STYLE.exec(text);
    if (!match) return [`${file}:${line}: write "@throws {ErrorClass} when …", not "${text}"`];
    const name = match[1]!;
    if (knownErrors.has(name) || local.has(name)) return [];
    return [`${file}:${line}: {${name}} is not an error class of keel`];
  });
}

/** A program over the entry points, and each exported callable with whether its doc says what it throws. */
function exportedCallables(files: string[]): {
  errorClasses: Set<string>;
  callables: { where: string; name: string; documented: boolean }[];
} {
  const config = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, repoRoot);
  const program = ts.createProgram(files, { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const errorClasses = new Set<string>();
  const callables: { where: string; name: string; documented: boolean }[] = [];
  const seen = new Set<ts.Node>();

  const says = (node: ts.Node): boolean => {
    if (ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'throws')) return true;
    const docs = (node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? [];
    return docs.some((doc) => SAYS_NEVER.test(doc.getText()));
  };
  const add = (node: ts.Node, name: string, documented: boolean): void => {
    if (seen.has(node)) return;
    seen.add(node);
    const source = node.getSourceFile();
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    callables.push({ where: `${relative(repoRoot, source.fileName)}:${line}`, name, documented });
  };
  const isPublic = (member: ts.ClassElement): boolean =>
    !(member.name && ts.isPrivateIdentifier(member.name)) &&
    !(
      ts.getCombinedModifierFlags(member as ts.Declaration) &
      (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
    );
  const extendsError = (node: ts.ClassDeclaration): boolean => {
    const base = node.heritageClauses?.find((c) => c.token === ts.SyntaxKind.ExtendsKeyword)
      ?.types[0]?.expression;
    if (!base) return false;
    let symbol = checker.getSymbolAtLocation(base);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (symbol?.name === 'Error') return true;
    const declaration = symbol?.declarations?.find(ts.isClassDeclaration);
    return declaration !== undefined && extendsError(declaration);
  };

  for (const file of files) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!);
    for (let symbol of checker.getExportsOfModule(module!)) {
      if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      const declarations = symbol.declarations ?? [];
      const functions = declarations.filter(ts.isFunctionDeclaration);
      // Overloads: the group is documented when one signature's comment says it.
      if (functions.length > 0) add(functions[0]!, symbol.name, functions.some(says));
      for (const node of declarations) {
        if (ts.isClassDeclaration(node)) {
          const isError = extendsError(node);
          if (isError) errorClasses.add(symbol.name);
          for (const member of node.members) {
            if (!isPublic(member)) continue;
            // An error's constructor never throws; getters are reads.
            if (ts.isConstructorDeclaration(member) && !isError) {
              add(member, `${symbol.name}.constructor`, says(member));
            } else if (ts.isMethodDeclaration(member)) {
              add(member, `${symbol.name}.${member.name.getText()}`, says(member));
            }
          }
        } else if (ts.isInterfaceDeclaration(node) && !IMPLEMENTED_BY_USERS.has(symbol.name)) {
          for (const member of node.members) {
            if (ts.isMethodSignature(member)) {
              add(member, `${symbol.name}.${member.name.getText()}`, says(member));
            }
          }
        } else if (ts.isVariableDeclaration(node)) {
          if (checker.getTypeAtLocation(node).getCallSignatures().length > 0) {
            add(node.parent.parent, symbol.name, says(node.parent.parent));
          }
        }
      }
    }
  }
  return { errorClasses, callables };
}

describe('@throws in the API reference', () => {
  const { errorClasses, callables } = exportedCallables(
    ENTRIES.map((entry) => join(repoRoot, 'src', `${entry}.ts`)),
  );

  it('finds the exported error classes and callables it checks', () => {
    for (const name of ['KeelError', 'ValidationError', 'StorageError', 'CommandFailedError']) {
      expect(errorClasses).toContain(name);
    }
    const names = callables.map((c) => c.name);
    for (const name of [
      'createRouter',
      'Router.predict',
      'QuantileSketch.merge',
      'SafeEmitter.on',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('PostgresPool.connect');
    expect(names).not.toContain('ValidationError.constructor');
  }, 60_000);

  it('every exported function and method says what it throws (or that it never does)', () => {
    const missing = callables.filter((c) => !c.documented).map((c) => `${c.where} ${c.name}`);
    expect(missing).toEqual([]);
  });

  it('every @throws in src/ reads "@throws {ErrorClass} when …" with a real error class', () => {
    const sources = sourceFiles(join(repoRoot, 'src')).map((file) => ({
      file: relative(repoRoot, file),
      source: readFileSync(file, 'utf8'),
    }));
    // Internal code may name an internal error class (a search snapshot that is gone, ...).
    const known = new Set(errorClasses);
    for (const { source } of sources) for (const name of localErrorClasses(source)) known.add(name);
    const problems = sources.flatMap(({ file, source }) => styleProblems(file, source, known));
    expect(problems).toEqual([]);
  });

  it('flags the old style, a missing class and an unknown class', () => {
    const source = [
      'class LocalGone extends Error {}',
      '/**',
      ' * @throws ValidationError when bad.',
      ' * @throws the store errors.',
      ' * @throws {NoSuchError} when odd.',
      ' * @throws {ValidationError} when the input is bad.',
      ' * @throws {LocalGone} when it is gone.',
      ' */',
    ].join('\n');
    const problems = styleProblems('x.ts', source, new Set(['ValidationError']));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('x.ts:3: write "@throws {ErrorClass} when …"');
    expect(problems[1]).toContain('x.ts:4:');
    expect(problems[2]).toContain('{NoSuchError} is not an error class');
  });
});

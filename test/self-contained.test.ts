/**
 * The repository stands alone: no test, bench, example or source file names a path that
 * leaves the repository (a fresh clone has nothing beside it, e.g. no `../shared`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/run-ts.js';

const SCANNED = ['src', 'test', 'bench', 'examples'];
const TEXT = /\.(ts|js|mjs|cjs|json|py|sh)$/;
/** A string literal that starts with one or more `../`. */
const RELATIVE_LITERAL = /(['"`])((?:\.\.\/)+[^'"`\n]*)\1/g;
/** Absolute paths into the workplace beside the clone. */
const OUTSIDE_ABSOLUTE = /(['"`])\/work\/|shared\/reference|shared\/design/g;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : TEXT.test(entry.name) ? [path] : [];
  });
}

/** Every relative literal in `text` that resolves outside the repository, seen from `file`. */
function escapes(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(RELATIVE_LITERAL)) {
    const target = resolve(dirname(file), match[2]!);
    if (target !== repoRoot && !target.startsWith(repoRoot + sep)) found.push(match[2]!);
  }
  for (const match of text.matchAll(OUTSIDE_ABSOLUTE)) found.push(match[0]);
  return found;
}

describe('the repository stands alone', () => {
  it('finds an escaping path when there is one (the check can fail)', () => {
    const file = join(repoRoot, 'test', 'drift', 'x.test.ts');
    // Built from parts, so that this file itself names no path outside the repository.
    const outside = ['..', '..', '..', 'shared', 'reference', 'drift', 'a.json'].join('/');
    expect(escapes(file, `new URL('${outside}', import.meta.url)`)).not.toEqual([]);
    expect(
      escapes(file, `readFileSync('/${['work', 'shared', 'design'].join('/')}/API.md')`),
    ).not.toEqual([]);
    expect(escapes(file, "new URL('../fixtures/drift/a.json', import.meta.url)")).toEqual([]);
  });

  it('no file under src, test, bench or examples reads outside the repository', () => {
    const self = join(repoRoot, 'test', 'self-contained.test.ts');
    const offenders = SCANNED.flatMap((dir) => files(join(repoRoot, dir)))
      .filter((file) => file !== self && !file.includes(`${sep}fixtures${sep}`))
      .flatMap((file) =>
        escapes(file, readFileSync(file, 'utf8')).map(
          (path) => `${relative(repoRoot, file)}: ${path}`,
        ),
      );
    expect(offenders).toEqual([]);
  });
});

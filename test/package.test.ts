/**
 * The npm package is complete: the tarball holds the licence, README, changelog and the docs
 * guides; every source map carries the sources it references; every "see <file>" in an error
 * message names a file the installed package holds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/run-ts.js';

const packed: string[] = (
  JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { files: { path: string }[] }[]
)[0]!.files.map((f) => f.path);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('the npm package', () => {
  it('ships LICENSE (Apache-2.0), README, CHANGELOG and every docs guide', () => {
    for (const file of ['LICENSE', 'README.md', 'CHANGELOG.md']) expect(packed).toContain(file);
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toContain('Apache License');
    const guides = readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md'));
    expect(guides.length).toBeGreaterThan(5);
    for (const guide of guides) expect(packed).toContain(`docs/${guide}`);
    // the schema of keel's OpenLineage facets, which every such facet's _schemaURL names
    expect(packed).toContain('docs/openlineage-facets.json');
  });

  it('every docs/… file an error message or README link names is in the package', () => {
    const named = new Set<string>();
    for (const file of sourceFiles(join(repoRoot, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(
        /node_modules\/keel\/(docs\/[\w./-]+\.md)/g,
      ))
        named.add(m[1]!);
      // A message must not send an installed user to a repository-relative path.
      expect(readFileSync(file, 'utf8')).not.toMatch(/\[keel\][^\n]*see docs\//);
    }
    for (const m of readFileSync(join(repoRoot, 'README.md'), 'utf8').matchAll(
      /\]\((docs\/[\w./-]+\.md)\)/g,
    ))
      named.add(m[1]!);
    expect(named.size).toBeGreaterThan(0);
    for (const path of named) expect(packed).toContain(path);
  });

  it('source maps embed the sources they reference (src/ is not shipped)', () => {
    if (!existsSync(join(repoRoot, 'dist', 'index.js.map'))) {
      execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
    }
    const maps = readdirSync(join(repoRoot, 'dist')).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(
        readFileSync(join(repoRoot, 'dist', map), 'utf8'),
      ) as { sources: string[]; sourcesContent?: (string | null)[] };
      // A chunk shim (a few re-exports) maps only to itself and may carry no sourcesContent.
      if (sourcesContent !== undefined) expect(sourcesContent.length, map).toBe(sources.length);
      // A source without embedded content must be a shipped file (tsup's own shims point at the chunk).
      const missing = sources.filter((_, i) => typeof sourcesContent?.[i] !== 'string');
      for (const source of missing) expect(packed).toContain(`dist/${basename(source)}`);
      expect(
        missing.filter((source) => source.includes('src/')),
        map,
      ).toEqual([]);
    }
    expect(packed.some((f) => f.startsWith('src/'))).toBe(false);
  });
  it('ships the `keel` executable (package.json "bin"), which no library entry loads', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    const bin = pkg.bin.keel!.replace(/^\.\//, '');
    expect(packed).toContain(bin);
    if (!existsSync(join(repoRoot, bin))) {
      execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
    }
    expect(readFileSync(join(repoRoot, bin), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    // The command line's own dependencies are installed with keel (npx keel works) ...
    for (const dep of ['commander', 'csv-parse', 'hyparquet'])
      expect(pkg.dependencies).toHaveProperty(dep);
    // ... but the library entries never load them, nor the CLI's code.
    const entries = readdirSync(join(repoRoot, 'dist')).filter(
      (f) => /\.(c?js)$/.test(f) && !f.startsWith('cli.'),
    );
    for (const entry of entries) {
      const text = readFileSync(join(repoRoot, 'dist', entry), 'utf8');
      expect(text, entry).not.toMatch(/from ["'](commander|csv-parse|hyparquet|apache-arrow)["']/);
      expect(text, entry).not.toMatch(
        /require\(["'](commander|csv-parse|hyparquet|apache-arrow)["']\)/,
      );
      expect(text, entry).not.toMatch(/["']\.\/cli\.c?js["']/);
    }
  });
});

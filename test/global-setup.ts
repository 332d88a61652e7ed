/**
 * Vitest's global setup: builds dist once, before any test file runs, when it is missing or
 * older than src/ (a fresh clone running the README's `npm test`). Tests of the built package
 * (the CLI, the packed files) would otherwise build it inside their own timeout, or two test
 * files at once, one cleaning dist while the other reads it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time of the files under `dir` (milliseconds). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    bin: { keel: string };
  };
  const built = [join(root, pkg.bin.keel), join(root, 'dist', 'index.js')];
  const stale =
    built.some((file) => !existsSync(file)) ||
    Math.min(...built.map((file) => statSync(file).mtimeMs)) < newest(join(root, 'src'));
  if (stale) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
}

/** Runs the BUILT `keel` executable (dist/cli.js, as package.json "bin" names it) in a child process. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/run-ts.js';

const bin = join(
  repoRoot,
  (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: { keel: string } })
    .bin.keel,
);

/** What one `keel` invocation did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Builds dist when it is missing (the train runs `npm run build` before the tests). */
export function ensureBuilt(): void {
  if (!existsSync(bin)) execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
}

/** Runs `keel ...args` and waits for it (`nodeArgs`: options of node itself, e.g. `--import`). */
export function keel(
  args: readonly string[],
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): CliResult {
  ensureBuilt();
  const result = spawnSync(process.execPath, [...nodeArgs, bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, KEEL_STORE: '', KEEL_ARTIFACTS: '', KEEL_DEBUG: '', ...env },
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The path of the built executable. */
export const keelBin: string = bin;

/** Runs a TypeScript file in a child Node process through tsx, from any working directory. */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const repoRoot: string = resolve(import.meta.dirname, '../..');
const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;

export function runTs(
  file: string,
  opts: { cwd?: string; env?: Record<string, string>; args?: string[] } = {},
): string {
  return execFileSync(process.execPath, ['--import', tsxLoader, file, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
}

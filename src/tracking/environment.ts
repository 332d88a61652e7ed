/**
 * @module
 * Environment capture for runs: runtime, git state and the calling project's declared
 * dependencies with the hash of its lock file. Node modules are reached through
 * `process.getBuiltinModule`, never imported, so this file loads in any JS runtime (and
 * captures a reduced environment where those modules are missing). Environment variables
 * are never read, except the names a caller allow-lists.
 */

import { z } from 'zod';
import { type Clock, isoNow } from '../core/clock.js';
import { sha256 } from '../core/digest.js';
import { parseJsonSafe } from '../core/json.js';
import { clockOption } from '../core/option-schemas.js';
import { parseWith } from '../core/validate.js';
import type { Environment } from './types.js';

/** Options of {@link captureEnvironment}. */
export interface CaptureEnvironmentOptions {
  /** Stamps `capturedAt`. */
  clock: Clock;
  /** Directory of the calling project (default `process.cwd()`). */
  cwd?: string;
  /** Environment variables to record, by exact name (nothing else is ever read). */
  env?: readonly string[];
  /** Limit for each git command, in milliseconds (default 5000). */
  gitTimeoutMs?: number;
}

/** Lock files looked for beside package.json, in this order. */
export const LOCK_FILES = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'bun.lock',
  'bun.lockb',
] as const;

/** Most dependencies recorded (a guard against huge manifests). */
const MAX_DEPENDENCIES = 2000;

const optionsSchema = z
  .object({
    clock: clockOption,
    cwd: z.string().optional(),
    env: z.array(z.string()).optional(),
    gitTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

/**
 * Captures the {@link Environment}. What cannot be read is left out: it throws only for
 * options of the wrong shape (`ValidationError`).
 *
 * @example
 * ```ts
 * const env = await captureEnvironment({ clock: systemClock });
 * env.git?.commit
 * ```
 *
 * @throws {ValidationError} (as a rejection) when `opts.clock` is not a clock, or another option is
 *   unknown or malformed.
 */
export async function captureEnvironment(opts: CaptureEnvironmentOptions): Promise<Environment> {
  parseWith(optionsSchema, opts, 'captureEnvironment options');
  const proc = nodeProcess();
  const environment: Environment = { capturedAt: isoNow(opts.clock), runtime: runtimeInfo(proc) };
  if (!proc) return environment;
  const cwd = opts.cwd ?? safe(() => proc.cwd());
  if (cwd !== undefined) {
    const [git, project] = await Promise.all([
      gitInfo(proc, cwd, opts.gitTimeoutMs ?? 5000),
      projectInfo(proc, cwd),
    ]);
    if (git) environment.git = git;
    if (project) environment.project = project;
  }
  if (opts.env && opts.env.length > 0) {
    const env: Record<string, string> = {};
    for (const name of opts.env) {
      const value = proc.env?.[name];
      if (typeof value === 'string') env[name] = value;
    }
    environment.env = env;
  }
  return environment;
}

interface NodeProcess {
  version?: string;
  versions?: Record<string, string | undefined>;
  platform?: string;
  arch?: string;
  env?: Record<string, string | undefined>;
  cwd(): string;
  getBuiltinModule?: (id: string) => unknown;
}

interface FsModule {
  readFileSync(path: string): Uint8Array;
  readFileSync(path: string, encoding: 'utf8'): string;
}

interface PathModule {
  join(...parts: string[]): string;
}

interface ChildProcessModule {
  execFile(
    file: string,
    args: string[],
    options: { cwd: string; timeout: number; windowsHide: boolean; maxBuffer: number },
    callback: (error: unknown, stdout: string | Uint8Array) => void,
  ): unknown;
}

function nodeProcess(): NodeProcess | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  return typeof proc?.cwd === 'function' ? proc : undefined;
}

function runtimeInfo(proc: NodeProcess | undefined): Environment['runtime'] {
  const runtime: Environment['runtime'] = { name: 'unknown' };
  const globals = globalThis as {
    Bun?: { version?: string };
    Deno?: { version?: { deno?: string } };
  };
  if (globals.Bun) {
    runtime.name = 'bun';
    if (globals.Bun.version) runtime.version = globals.Bun.version;
  } else if (globals.Deno) {
    runtime.name = 'deno';
    if (globals.Deno.version?.deno) runtime.version = globals.Deno.version.deno;
  } else if (proc?.versions?.node) {
    runtime.name = 'node';
    runtime.version = proc.versions.node;
  }
  if (proc?.platform) runtime.platform = proc.platform;
  if (proc?.arch) runtime.arch = proc.arch;
  const os = builtin<{ availableParallelism?: () => number; cpus?: () => unknown[] }>(
    proc,
    'node:os',
  );
  const cpus = safe(() => os?.availableParallelism?.() ?? os?.cpus?.().length);
  if (typeof cpus === 'number' && cpus > 0) runtime.cpus = cpus;
  else {
    const navigatorCpus = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
      ?.hardwareConcurrency;
    if (typeof navigatorCpus === 'number' && navigatorCpus > 0) runtime.cpus = navigatorCpus;
  }
  return runtime;
}

async function gitInfo(
  proc: NodeProcess,
  cwd: string,
  timeoutMs: number,
): Promise<Environment['git'] | undefined> {
  const childProcess = builtin<ChildProcessModule>(proc, 'node:child_process');
  if (!childProcess) return undefined;
  const git = (args: string[]): Promise<string | undefined> =>
    new Promise((resolve) => {
      try {
        childProcess.execFile(
          'git',
          args,
          { cwd, timeout: timeoutMs, windowsHide: true, maxBuffer: 4 * 1024 * 1024 },
          (error, stdout) => resolve(error ? undefined : String(stdout)),
        );
      } catch {
        resolve(undefined);
      }
    });
  const commit = (await git(['rev-parse', '--verify', 'HEAD']))?.trim();
  if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  const [branch, status] = await Promise.all([
    git(['symbolic-ref', '--short', '-q', 'HEAD']),
    git(['status', '--porcelain', '--untracked-files=no']),
  ]);
  const info: NonNullable<Environment['git']> = {
    commit,
    dirty: status === undefined || status.trim() !== '',
  };
  const branchName = branch?.trim();
  if (branchName) info.branch = branchName;
  return info;
}

async function projectInfo(
  proc: NodeProcess,
  cwd: string,
): Promise<Environment['project'] | undefined> {
  const fs = builtin<FsModule>(proc, 'node:fs');
  const path = builtin<PathModule>(proc, 'node:path');
  if (!fs || !path) return undefined;
  const manifestText = safe(() => fs.readFileSync(path.join(cwd, 'package.json'), 'utf8'));
  if (manifestText === undefined) return undefined;
  const manifest = safe(() => parseJsonSafe(manifestText)) as Record<string, unknown> | undefined;
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    return undefined;
  const project: NonNullable<Environment['project']> = { dependencies: {} };
  if (typeof manifest.name === 'string') project.name = manifest.name;
  if (typeof manifest.version === 'string') project.version = manifest.version;
  let count = 0;
  for (const field of [
    'dependencies',
    'devDependencies',
    'optionalDependencies',
    'peerDependencies',
  ]) {
    const declared = manifest[field];
    if (typeof declared !== 'object' || declared === null || Array.isArray(declared)) continue;
    for (const [name, range] of Object.entries(declared as Record<string, unknown>)) {
      if (
        typeof range !== 'string' ||
        Object.hasOwn(project.dependencies, name) ||
        count >= MAX_DEPENDENCIES
      )
        continue;
      if (name === '__proto__' || name.includes('..')) continue;
      const entry: { declared: string; installed?: string } = { declared: range };
      const installed = installedVersion(fs, path, cwd, name);
      if (installed !== undefined) entry.installed = installed;
      project.dependencies[name] = entry;
      count++;
    }
  }
  for (const name of LOCK_FILES) {
    const bytes = safe(() => fs.readFileSync(path.join(cwd, name)));
    if (bytes !== undefined) {
      project.lockfile = { name, digest: sha256(bytes) };
      break;
    }
  }
  return project;
}

function installedVersion(
  fs: FsModule,
  path: PathModule,
  cwd: string,
  name: string,
): string | undefined {
  const text = safe(() =>
    fs.readFileSync(path.join(cwd, 'node_modules', name, 'package.json'), 'utf8'),
  );
  if (text === undefined) return undefined;
  const manifest = safe(() => parseJsonSafe(text)) as { version?: unknown } | undefined;
  return typeof manifest?.version === 'string' ? manifest.version : undefined;
}

function builtin<T>(proc: NodeProcess | undefined, id: string): T | undefined {
  return safe(() => proc?.getBuiltinModule?.(id) as T | undefined);
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

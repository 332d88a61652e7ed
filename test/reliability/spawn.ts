/** Starts TypeScript worker scripts in child Node processes (through tsx) for the reliability tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = resolve(import.meta.dirname, '../..');
const tsxLoader = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;

/** A running worker: its process, everything it printed so far, and its exit. */
export interface Worker {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once the worker printed `text`. */
  printed(text: string): Promise<void>;
}

/** Starts `test/reliability/workers/<name>.ts` with `args`. */
export function startWorker(name: string, args: string[]): Worker {
  const child = spawn(
    process.execPath,
    ['--import', tsxLoader, join(import.meta.dirname, 'workers', `${name}.ts`), ...args],
    {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of waiters.splice(0)) {
      if (stdout.includes(waiter.text)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((done) => {
    child.on('close', (code, signal) => done({ code, signal, stderr }));
  });
  return {
    child,
    output: () => stdout,
    exited,
    printed: (text) =>
      new Promise<void>((resolvePrinted, reject) => {
        if (stdout.includes(text)) return resolvePrinted();
        waiters.push({ text, resolve: resolvePrinted });
        void exited.then(({ code, signal }) => {
          if (!stdout.includes(text))
            reject(
              new Error(
                `worker ${name} exited (${code ?? signal}) before printing "${text}": ${stderr}`,
              ),
            );
        });
      }),
  };
}

/** Runs a worker to completion and returns its stdout; throws if it failed. */
export async function runWorker(name: string, args: string[]): Promise<string> {
  const worker = startWorker(name, args);
  const { code, stderr } = await worker.exited;
  if (code !== 0)
    throw new Error(`worker ${name} ${args.join(' ')} exited with ${code}: ${stderr}`);
  return worker.output();
}

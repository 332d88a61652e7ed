#!/usr/bin/env node
/**
 * @module
 * The `keel` executable (package.json "bin"): runs the program on the process's arguments
 * and exits with its code. Node only; nothing in the library imports it.
 */
import { processOutput } from './output.js';
import { runCli } from './program.js';

runCli(process.argv.slice(2), processOutput).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[keel] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);

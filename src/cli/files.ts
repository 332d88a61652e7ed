/**
 * @module
 * Input files of commands (a policy, evidence, a profile): read whole, with a missing,
 * unreadable or non-JSON file reported as an input error naming it.
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../core/errors.js';
import { fileStats } from './tables/source.js';

/** The bytes of the file at `path`. */
export function readInputFile(path: string): Uint8Array {
  fileStats(path);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ValidationError(`[keel] cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** `bytes` (read from `where`) parsed as JSON. */
export function parseJson(where: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ValidationError(`[keel] ${where} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

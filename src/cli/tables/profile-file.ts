/**
 * @module
 * A stored reference profile (what `profile()` returns, as JSON) read from a file or an
 * artifact; anything else is an input error that says what was expected.
 */
import { ValidationError } from '../../core/errors.js';
import { isProfile, type Profile, parseProfile } from '../../drift/profile.js';
import { parseJson } from '../files.js';

/** The profile in `bytes` (JSON), read from `where`. */
export function readProfile(where: string, bytes: Uint8Array): Profile {
  const value = parseJson(where, bytes);
  if (!isProfile(value)) {
    throw new ValidationError(
      `[keel] ${where} is not a keel profile (format "keel.profile"); write one with keel profile <table> --out <file>, or give the reference table itself (.csv, .jsonl, .parquet, .arrow)`,
    );
  }
  return parseProfile(value);
}

/**
 * @module
 * The one error the filter language throws: a `ValidationError` naming the 1-based
 * column where reading failed, what was expected there and what was found.
 */
import { ValidationError } from '../../core/errors.js';

/** Builds the `ValidationError` for a malformed filter or order at `column`. */
export function filterError(
  column: number,
  expected: string,
  found: string,
  what = 'filter',
): ValidationError {
  const message = `[keel] invalid ${what} at column ${column}: expected ${expected}, found ${found}; see node_modules/keel/docs/search.md for the syntax`;
  return new ValidationError(message, {
    issues: [{ path: [what], message: `column ${column}: expected ${expected}, found ${found}` }],
    details: { column, expected, found },
  });
}

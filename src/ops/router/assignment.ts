/**
 * @module
 * Traffic assignment: the canary / A-B split, and the sticky hash of a request key to [0, 1) that
 * sends the same key to the same arm on every process and runtime.
 */
import { ValidationError } from '../../core/errors.js';
import { describeValue } from '../../core/validate.js';

/**
 * Maps `key` (salted with `salt`, e.g. the model name, so two experiments split users
 * independently) to a number in [0, 1). FNV-1a 32 over the UTF-16 code units, then
 * MurmurHash3's 32-bit finalizer: FNV alone leaves sequential keys (`user-1`, `user-2`, ...)
 * poorly spread in its high bits, which the split uses.
 *
 * @example
 * ```ts
 * const toChallenger = stableUnit('user-42', 'churn') < 0.1;
 * ```
 * @throws {ValidationError} when the key or the salt is not a string.
 */
export function stableUnit(key: string, salt = ''): number {
  if (typeof key !== 'string' || typeof salt !== 'string') {
    throw new ValidationError(
      `[keel] invalid stableUnit arguments: the key and the salt must be strings, got ${describeValue(key)} and ${describeValue(salt)}`,
    );
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < salt.length; i++) {
    h ^= salt.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= 0xff; // separator: ('ab', 'c') and ('a', 'bc') must not collide
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * Whether a request goes to the challenger: `u` (from {@link stableUnit} or a random draw)
 * below `weight`. Exact in expectation: P(u < w) = w for u uniform in [0, 1).
 */
export function toChallenger(u: number, weight: number): boolean {
  return u < weight;
}

/**
 * The canary / A-B split: whether a request goes to the challenger when it takes `weight` of
 * the traffic. A `key` makes the choice sticky (hashed with `salt`, the model name); without
 * one, `random` draws.
 */
export function routesToChallenger(
  weight: number,
  key: string | undefined,
  salt: string,
  random: () => number,
): boolean {
  return toChallenger(key === undefined ? random() : stableUnit(key, salt), weight);
}

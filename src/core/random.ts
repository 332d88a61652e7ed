/**
 * @module
 * A small seeded pseudo-random generator (sfc32) for results that depend on randomness
 * (bootstrap resampling, sampling): the same seed gives the same stream on every runtime.
 */
import { sha256 } from './digest.js';
import { ValidationError } from './errors.js';

/** A seed: a string of your choice, or a finite number. `1` and `'1'` are different seeds. */
export type Seed = string | number;

/** A deterministic stream of pseudo-random numbers. Not for cryptography. */
export interface Random {
  /**
   * The next uniform float in [0, 1), with 32 bits of randomness.
   *
   * Never throws.
   */
  next(): number;
  /**
   * The next uniform unsigned 32-bit integer.
   *
   * Never throws.
   */
  nextUint32(): number;
  /**
   * A uniform integer in [0, n), without modulo bias; `n` is an integer in [1, 2^32].
   *
   * @throws {ValidationError} when `n` is not an integer in [1, 2^32].
   */
  int(n: number): number;
}

/**
 * Creates a seeded generator: Chris Doty-Humphrey's sfc32 (128-bit state, period at least
 * 2^32 thanks to its counter, passes PractRand and BigCrush). The state is the first 16
 * bytes of SHA-256 of the seed's JSON text, so nearby seeds give unrelated streams; the
 * first 12 outputs are discarded, as the algorithm's author recommends.
 *
 * @throws {ValidationError} when `seed` is neither a string nor a finite number.
 *
 * @example
 * ```ts
 * const rng = createRandom('bootstrap');
 * rng.int(10); // the same value on every run and every runtime
 * ```
 */
export function createRandom(seed: Seed): Random {
  if (typeof seed === 'number' ? !Number.isFinite(seed) : typeof seed !== 'string') {
    throw new ValidationError(
      `[keel] invalid random seed ${typeof seed === 'number' ? String(seed) : typeof seed}: a seed must be a string or a finite number; pass one`,
      { issues: [{ path: [], message: 'seed must be a string or a finite number' }] },
    );
  }
  const hex = sha256(JSON.stringify(seed)).slice('sha256:'.length);
  // The state is kept as signed 32-bit integers (`| 0`): V8 stores those unboxed, where
  // unsigned ones above 2^31 would be a heap number per step. The bits, and so every draw,
  // are those of the unsigned arithmetic.
  let a = Number.parseInt(hex.slice(0, 8), 16) | 0;
  let b = Number.parseInt(hex.slice(8, 16), 16) | 0;
  let c = Number.parseInt(hex.slice(16, 24), 16) | 0;
  let d = Number.parseInt(hex.slice(24, 32), 16) | 0;

  const nextUint32 = (): number => {
    const t = (a + b + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextUint32();

  return {
    next: () => nextUint32() / TWO_POW_32,
    nextUint32,
    int(n) {
      if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
        throw new ValidationError(
          `[keel] invalid random range ${n}: expected an integer in [1, 2^32]; pass a valid bound`,
          { issues: [{ path: [], message: 'bound must be an integer in [1, 2^32]' }] },
        );
      }
      // Rejection sampling: draws at or above the largest multiple of n would bias low values.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
  };
}

const TWO_POW_32 = 4294967296;

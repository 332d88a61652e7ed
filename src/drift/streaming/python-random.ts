/**
 * @module
 * CPython's `random.Random(seed)` for integer seeds, as far as River's KSWIN uses it, so that
 * `new Kswin({ sampling: 'river', seed })` draws exactly what River's `KSWIN(seed=seed)` draws:
 * the Mersenne Twister MT19937 (Matsumoto & Nishimura 1998) seeded with `init_by_array` on the
 * 32-bit words of |seed| (CPython's `random_seed`), `getrandbits`, rejection sampling for
 * `randbelow`, and `sample(range(n), k)` with both of CPython's strategies. Checked against
 * Python's own output in `test/fixtures/drift/adwin_kswin_traces.json`.
 */
import { ValidationError } from '../../core/errors.js';

/** Python's `random.Random` restricted to integer seeds and integer sampling. */
export class PythonRandom {
  readonly #mt = new Uint32Array(N);
  #index = N;

  /**
   * Seeds like `random.Random(seed)`: negative seeds behave as their absolute value, as in Python.
   *
   * @throws {ValidationError} when the seed is not a safe integer.
   *
   * @example
   * ```ts
   * new PythonRandom(42).getrandbits(32); // 2746317213, as random.Random(42).getrandbits(32)
   * ```
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new ValidationError(
        `[keel] invalid seed ${String(seed)} for River's sampling: Python's random.Random is reproduced ` +
          'for integer seeds only; pass an integer (at most 2^53 - 1 in absolute value)',
        { details: { seed } },
      );
    }
    let n = Math.abs(seed);
    const key: number[] = [];
    do {
      key.push(n % TWO_POW_32);
      n = Math.floor(n / TWO_POW_32);
    } while (n > 0);
    this.#initByArray(key);
  }

  /**
   * `getrandbits(k)` for 0 <= k <= 53: a uniform integer in [0, 2^k).
   *
   * @example
   * ```ts
   * new PythonRandom(0).getrandbits(8); // 216, as random.Random(0).getrandbits(8)
   * ```
   */
  getrandbits(k: number): number {
    if (k === 0) return 0;
    if (k <= 32) return this.#next() >>> (32 - k);
    // CPython fills the result's 32-bit words from the least significant one up.
    const low = this.#next();
    const high = this.#next() >>> (64 - k);
    return high * TWO_POW_32 + low;
  }

  /** `_randbelow(n)`: a uniform integer in [0, n) by rejection on `n.bit_length()` bits. */
  randbelow(n: number): number {
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /**
   * `sample(range(n), k)`: k distinct integers of [0, n), in selection order.
   *
   * @example
   * ```ts
   * new PythonRandom(42).sample(70, 30); // [14, 3, 35, 31, 28, ...], as random.Random(42).sample(range(70), 30)
   * ```
   */
  sample(n: number, k: number): number[] {
    const result = new Array<number>(k);
    // CPython picks the strategy that uses less memory: a pool list of n items, or a set of
    // k selections (whose table size it estimates as 4^ceil(log4(3k))).
    let setsize = 21;
    if (k > 5) {
      let table = 1;
      while (table <= 3 * k) table *= 4;
      setsize += table;
    }
    if (n <= setsize) {
      const pool = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j] as number;
        pool[j] = pool[n - i - 1] as number;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = j;
      }
    }
    return result;
  }

  /** genrand_uint32 of the reference MT19937. */
  #next(): number {
    const mt = this.#mt;
    if (this.#index >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = ((mt[kk] as number) & UPPER) | ((mt[kk + 1] as number) & LOWER);
        mt[kk] = (mt[kk + M] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = ((mt[kk] as number) & UPPER) | ((mt[kk + 1] as number) & LOWER);
        mt[kk] = (mt[kk + M - N] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = ((mt[N - 1] as number) & UPPER) | ((mt[0] as number) & LOWER);
      mt[N - 1] = (mt[M - 1] as number) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.#index = 0;
    }
    let y = mt[this.#index++] as number;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  #initGenrand(s: number): void {
    const mt = this.#mt;
    mt[0] = s;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] as number;
      mt[i] = Math.imul(1812433253, prev ^ (prev >>> 30)) + i;
    }
  }

  #initByArray(key: readonly number[]): void {
    const mt = this.#mt;
    this.#initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] as number;
      mt[i] =
        ((mt[i] as number) ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + (key[j] as number) + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] as number;
      mt[i] = ((mt[i] as number) ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.#index = N;
  }
}

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;
const TWO_POW_32 = 2 ** 32;

/** Python's `int.bit_length()` for a positive safe integer. */
function bitLength(n: number): number {
  return n < TWO_POW_32 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / TWO_POW_32));
}

/** Seeded synthetic data for tests: the same seed always gives the same values. */
import { createRandom } from '../../src/core/random.js';

/** `n` normal draws (Box-Muller on keel's seeded generator). */
export function normals(seed: string, n: number, mean = 0, sd = 1): Float64Array {
  const rng = createRandom(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] =
      mean + sd * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  }
  return out;
}

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

/** `n` labels drawn from `values` with the given weights (equal by default). */
export function labels(
  seed: string,
  n: number,
  values: readonly string[],
  weights?: readonly number[],
): string[] {
  const rng = createRandom(seed);
  const w = weights ?? values.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  return Array.from({ length: n }, () => {
    let u = rng.next() * total;
    for (let i = 0; i < values.length; i++) {
      u -= w[i]!;
      if (u < 0) return values[i]!;
    }
    return values[values.length - 1]!;
  });
}

/** What `f` throws, or `undefined`. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
}

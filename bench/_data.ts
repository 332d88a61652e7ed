/** Seeded synthetic data for the benchmarks: the same seed gives the same data on every run. */
import type { Random } from '../src/core/random.js';

/** `n` normal draws from `rng` (Box-Muller, two draws per pair of uniforms). */
export function normals(rng: Random, n: number, mean: number, sd: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng.next()));
    const v = 2 * Math.PI * rng.next();
    out[i] = mean + sd * r * Math.cos(v);
    if (i + 1 < n) out[i + 1] = mean + sd * r * Math.sin(v);
  }
  return out;
}

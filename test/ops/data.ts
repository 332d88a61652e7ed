/** Seeded synthetic rows for monitor and loop tests. */
import { createRandom } from '../../src/core/random.js';

export type Row = {
  x: number;
  y: number;
  c: string;
};

/** Rows with x ~ N(shift, 1), y ~ N(5 + 2 shift, 2), c in {a, b, c}. */
export function rows(n: number, seed: string, shift = 0): Row[] {
  const random = createRandom(seed);
  const normal = (): number => {
    const u = 1 - random.next();
    const v = random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    const r = random.next();
    out.push({
      x: normal() + shift,
      y: 5 + 2 * shift + 2 * normal(),
      c: r < 0.5 ? 'a' : r < 0.8 ? 'b' : 'c',
    });
  }
  return out;
}

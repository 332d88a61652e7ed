/**
 * @module
 * Polynomial evaluation in Cephes' order (`polevl`, `p1evl`), shared by the rational
 * approximations ported from Cephes.
 */

/** Horner evaluation of `coef[0] x^N + ... + coef[N]` (Cephes `polevl`). */
export function polevl(x: number, coef: readonly number[]): number {
  let ans = coef[0] as number;
  for (let i = 1; i < coef.length; i++) ans = ans * x + (coef[i] as number);
  return ans;
}

/** Like {@link polevl} with an implied leading coefficient 1 (Cephes `p1evl`). */
export function p1evl(x: number, coef: readonly number[]): number {
  let ans = x + (coef[0] as number);
  for (let i = 1; i < coef.length; i++) ans = ans * x + (coef[i] as number);
  return ans;
}

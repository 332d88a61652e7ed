/**
 * @module
 * The built-in drift detectors by name. Definitions in docs/drift.md; each reproduces the
 * SciPy / Evidently reference values of `test/fixtures/drift`.
 */
import { anderson } from './detectors/anderson.js';
import { hellinger, jensenshannon, kl, linf, psi, tvd } from './detectors/binned.js';
import { chisquare, fisher, z } from './detectors/categorical.js';
import type { SampleDetector } from './detectors/common.js';
import { cramervonmises } from './detectors/cramervonmises.js';
import { ks } from './detectors/ks.js';
import { mannwhitney } from './detectors/mannwhitney.js';
import { ttest } from './detectors/ttest.js';
import { energy, wasserstein } from './detectors/wasserstein.js';

export type { SampleDetector } from './detectors/common.js';
export {
  anderson,
  chisquare,
  cramervonmises,
  energy,
  fisher,
  hellinger,
  jensenshannon,
  kl,
  ks,
  linf,
  mannwhitney,
  psi,
  ttest,
  tvd,
  wasserstein,
  z,
};

/**
 * Every built-in detector by its registry name.
 *
 * @example
 * ```ts
 * detectors.ks.test([1, 2, 3, 4], [3, 4, 5, 6]).pValue; // 0.7714285714285716
 * ```
 */
export const detectors: Record<string, SampleDetector> = {
  ks,
  wasserstein,
  energy,
  cramervonmises,
  anderson,
  mannwhitney,
  ttest,
  psi,
  kl,
  jensenshannon,
  hellinger,
  linf,
  tvd,
  chisquare,
  z,
  fisher,
};

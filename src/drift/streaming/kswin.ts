/**
 * @module
 * KSWIN (Kolmogorov-Smirnov WINdowing, Raab et al. 2020), a port of River's `drift.KSWIN`:
 * a two-sample KS test between the newest values of a sliding window and a random sample of
 * the older ones. The sampling is seeded, so runs are reproducible; `sampling: 'river'` draws
 * with CPython's `random.Random(seed).sample`, as River does, and so reproduces River's indices.
 */
import { z } from 'zod';
import { createRandom, type Random } from '../../core/random.js';
import { parseWith } from '../../core/validate.js';
import { detectors } from '../detectors.js';
import { PythonRandom } from './python-random.js';
import { streamValue } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link Kswin} (River's parameters, camel-cased). */
export interface KswinOptions {
  /** Significance level of the KS test; keep it small (River advises below 0.01). Default 0.005. */
  alpha?: number;
  /** Size of the sliding window. Default 100. */
  windowSize?: number;
  /** Size of the newest part of the window, and of the sample drawn from the rest. Default 30. */
  statSize?: number;
  /** Seed of the sampling (River draws unseeded by default; keel is reproducible). Default 0. */
  seed?: number | string;
  /**
   * How the older values are drawn. `keel` (default): keel's seeded generator, any seed.
   * `river`: CPython's `random.Random(seed).sample(range(windowSize - statSize), statSize)`,
   * exactly what River's `KSWIN(seed=seed)` draws, so the drift indices are River's; the seed
   * must then be an integer.
   */
  sampling?: 'keel' | 'river';
  /** Values to start the window with (avoids a cold start). */
  window?: readonly number[];
}

/** What {@link Kswin.update} reports. */
export interface KswinUpdate extends StreamingUpdate {
  /** p-value of the last KS test (0 before the window is full, as River). */
  pValue: number;
  /** KS statistic of the last test (0 before the window is full). */
  statistic: number;
}

const optionsSchema = z
  .object({
    alpha: z.number().gt(0).lt(1).default(0.005),
    windowSize: z.number().int().min(2).default(100),
    statSize: z.number().int().min(1).default(30),
    seed: z.union([z.number().finite(), z.string()]).default(0),
    sampling: z.enum(['keel', 'river']).default('keel'),
    window: z.array(z.number().finite()).optional(),
  })
  .refine((o) => o.statSize * 2 <= o.windowSize, {
    message:
      'windowSize must be at least twice statSize (the older part is sampled without replacement)',
  })
  .refine((o) => o.sampling === 'keel' || Number.isSafeInteger(o.seed), {
    message:
      "sampling 'river' reproduces Python's random.Random for integer seeds only: pass an integer seed, or sampling 'keel'",
    path: ['seed'],
  });

/** Draws `k` distinct indices of [0, n). */
type Sampler = (n: number, k: number) => number[];

/**
 * KSWIN: drift when the KS test between the newest `statSize` values and `statSize` values
 * drawn from the rest of the window has `p <= alpha` and a statistic above 0.1.
 *
 * @example
 * ```ts
 * const kswin = new Kswin({ alpha: 0.0001, seed: 42 });
 * for (const x of stream) if (kswin.update(x).drift) console.log('distribution changed');
 * ```
 */
export class Kswin implements StreamingDetector<KswinUpdate> {
  /** Always `kswin`. */
  readonly name: string = 'kswin';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Omit<Required<KswinOptions>, 'window'>>;
  #drift = false;
  #pValue = 0;
  #statistic = 0;
  #window: number[] = [];
  #sample: Sampler;

  /** @throws {ValidationError} on invalid options. */
  constructor(options: KswinOptions = {}) {
    const { window, ...rest } = parseWith(optionsSchema, options, 'Kswin options');
    this.options = rest;
    this.#sample = makeSampler(rest.sampling, rest.seed);
    if (window) this.#window = window.slice(-rest.windowSize);
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** KSWIN has no warning zone: always false. */
  get warningDetected(): boolean {
    return false;
  }

  /**
   * Feeds one value.
   *
   * @throws {ValidationError} when `x` is neither a finite number nor a boolean (the state is
   *   unchanged).
   */
  update(x: number | boolean): KswinUpdate {
    const value = streamValue(x, 'Kswin');
    if (this.#drift) this.reset();
    const { windowSize, statSize, alpha } = this.options;
    this.#window.push(value);
    if (this.#window.length > windowSize) this.#window.shift();
    this.#drift = false;
    if (this.#window.length >= windowSize) {
      const older = this.#sample(windowSize - statSize, statSize).map((i) => this.#window[i]!);
      const newest = this.#window.slice(windowSize - statSize);
      const result = detectors.ks!.test(older, newest, { threshold: 0.5 });
      this.#pValue = result.pValue ?? 1;
      this.#statistic = result.statistic;
      this.#drift = this.#pValue <= alpha && this.#statistic > 0.1;
    }
    return { drift: this.#drift, warning: false, pValue: this.#pValue, statistic: this.#statistic };
  }

  /**
   * Forgets everything seen so far (the window too) and restarts the seeded sampling.
   *
   * Never throws.
   */
  reset(): void {
    this.#drift = false;
    this.#pValue = 0;
    this.#statistic = 0;
    this.#window = [];
    this.#sample = makeSampler(this.options.sampling, this.options.seed);
  }
}

function makeSampler(sampling: 'keel' | 'river', seed: number | string): Sampler {
  if (sampling === 'river') {
    const python = new PythonRandom(seed as number);
    return (n, k) => python.sample(n, k);
  }
  const rng = createRandom(seed);
  return (n, k) => sampleIndices(rng, n, k);
}

/** `k` distinct indices in [0, n), uniformly (partial Fisher-Yates). */
function sampleIndices(rng: Random, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, k);
}

/**
 * @module
 * What every built-in detector shares: the `SampleDetector` contract (tests on prepared
 * samples, so `detectDrift` sorts each column once), option validation, sample preparation
 * and the verdict.
 */
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { assertArrayLike, parseWith } from '../../core/validate.js';
import {
  type CategoricalSample,
  categoricalSample,
  type NumericSample,
  numericSample,
  type Sample,
} from '../sample.js';
import type { DriftDetector, DriftKind, DriftTestOptions, DriftTestResult } from '../types.js';

/** A detector that can also test samples prepared once (sorted, counted) and shared. */
export interface SampleDetector extends DriftDetector {
  /**
   * Tests prepared samples; `test()` is `testSamples(prepare(reference), prepare(current))`.
   * Categorical detectors accept numerical samples (values become labels).
   *
   * @throws {ValidationError} as {@link DriftDetector.test} does.
   */
  testSamples(reference: Sample, current: Sample, opts?: DriftTestOptions): DriftTestResult;
  /** True when an infinite statistic is a valid outcome of this test (e.g. Welch's t of two different constants). */
  readonly infiniteStatistic?: boolean;
}

/**
 * A side of a test that is not a prepared sample (a profile column summarised by a sketch):
 * what {@link checkOutcome} names in its messages.
 */
export interface SampleSummary {
  kind: 'summary';
  /** Values on that side. */
  size: number;
  /** Largest absolute value on that side. */
  largestMagnitude: number;
}

/** The statistic (and p-value) a detector computes from two prepared samples. */
export interface DetectorOutcome {
  statistic: number;
  pValue?: number;
}

/** How to build a detector with {@link defineDetector}. */
export interface DetectorDefinition {
  name: string;
  supports: 'numerical' | 'categorical' | 'both';
  kind: DriftKind;
  defaultThreshold: number;
  /**
   * True when the definition itself yields an infinite statistic on some samples (Welch's t
   * of two different constants, Fisher's odds ratio with an empty cell). Otherwise an infinite
   * statistic means overflow, and the test refuses the samples.
   */
  infiniteStatistic?: boolean;
  /** Computes the outcome; samples already match `supports`. */
  compute(reference: Sample, current: Sample, binning: 'reference' | 'evidently'): DetectorOutcome;
}

/** Most distinct labels a categorical test accepts before it refuses (see {@link assertFewLevels}). */
export const MAX_CATEGORIES = 1000;

/**
 * Builds a {@link SampleDetector}: validates options, prepares raw input as the detector
 * needs, and applies the verdict (`pValue < threshold` or `statistic >= threshold`).
 */
export function defineDetector(def: DetectorDefinition): SampleDetector {
  const schema = def.kind === 'p_value' ? pValueOptions : distanceOptions;
  const testSamples = (
    reference: Sample,
    current: Sample,
    opts?: DriftTestOptions,
  ): DriftTestResult => {
    const o = parseWith(schema, opts ?? {}, `options of the ${def.name} drift test`);
    const threshold = o.threshold ?? def.defaultThreshold;
    const [ref, cur] = adapt(def, reference, current);
    const outcome = checkOutcome(def, def.compute(ref, cur, o.binning ?? 'reference'), ref, cur);
    const result: DriftTestResult = {
      method: def.name,
      statistic: outcome.statistic,
      threshold,
      drifted: false,
      kind: def.kind,
      missing: { reference: reference.missing, current: current.missing },
    };
    if (def.kind === 'p_value') {
      const p = outcome.pValue as number;
      result.pValue = p;
      result.drifted = p < threshold;
    } else {
      result.drifted = outcome.statistic >= threshold;
    }
    return result;
  };
  return {
    name: def.name,
    supports: def.supports,
    kind: def.kind,
    defaultThreshold: def.defaultThreshold,
    ...(def.infiniteStatistic ? { infiniteStatistic: true } : {}),
    testSamples,
    test(reference, current, opts) {
      // options first: nothing is prepared for a call that cannot run
      parseWith(schema, opts ?? {}, `options of the ${def.name} drift test`);
      return testSamples(
        prepare(def, reference, 'reference'),
        prepare(def, current, 'current'),
        opts,
      );
    },
  };
}

/**
 * The last line of defence of every built-in detector: an outcome that is not a number (a
 * statistic or p-value of NaN, which a verdict would read as "no drift") or an infinite
 * statistic the definition does not call for (an overflow) is refused with a
 * `ValidationError` saying what to do, never reported.
 *
 * @throws {ValidationError} when the outcome cannot be reported.
 */
export function checkOutcome(
  def: Pick<DetectorDefinition, 'name' | 'kind' | 'infiniteStatistic'>,
  outcome: DetectorOutcome,
  reference: Sample | SampleSummary,
  current: Sample | SampleSummary,
): DetectorOutcome {
  const { statistic, pValue } = outcome;
  const sizes = `${sampleSize(reference)} reference and ${sampleSize(current)} current values`;
  const details = {
    method: def.name,
    statistic,
    pValue,
    reference: sampleSize(reference),
    current: sampleSize(current),
  };
  const undefinedOutcome =
    Number.isNaN(statistic) ||
    (def.kind === 'p_value' && (pValue === undefined || !(pValue >= 0 && pValue <= 1)));
  if (undefinedOutcome) {
    throw new ValidationError(
      `[keel] cannot run the ${def.name} drift test on these samples (${sizes}): its result is ` +
        'undefined for them (not a number); use another method (ks accepts any non-empty samples)',
      { details },
    );
  }
  if (!Number.isFinite(statistic) && !def.infiniteStatistic) {
    throw new ValidationError(
      `[keel] cannot run the ${def.name} drift test on these samples (${sizes}, up to ` +
        `${largestMagnitude(reference, current)} in magnitude): its statistic overflows the largest ` +
        'double; rescale the column (divide it by a power of ten) or use a rank-based test (ks, mannwhitney)',
      { details },
    );
  }
  return outcome;
}

/**
 * Refuses a categorical test on what looks like continuous data: more than
 * {@link MAX_CATEGORIES} distinct labels, or more than 20 labels and more labels than half
 * of all values.
 */
export function assertFewLevels(name: string, levels: number, size: number): void {
  if (levels > MAX_CATEGORIES || (levels > 20 && levels > size / 2)) {
    throw new ValidationError(
      `[keel] cannot run the categorical drift test ${name}: the column has ${levels} distinct values ` +
        `for ${size} observations, which looks continuous; use a numerical test (ks, wasserstein, psi on numbers) ` +
        'or bucket the rare categories first',
      { details: { method: name, levels, size } },
    );
  }
}

/** Counts of a numerical sample's values as labels (`String(value)`). */
export function asCategorical(sample: Sample): CategoricalSample {
  if (sample.kind === 'categorical') return sample;
  const counts = new Map<string, number>();
  const s = sample.sorted;
  let i = 0;
  while (i < s.length) {
    const v = s[i] as number;
    let j = i + 1;
    while (j < s.length && s[j] === v) j++;
    const label = String(v);
    counts.set(label, (counts.get(label) ?? 0) + (j - i));
    i = j;
  }
  return { kind: 'categorical', counts, size: s.length, missing: sample.missing };
}

const pValueOptions = z.strictObject({
  threshold: z
    .number()
    .gt(0, 'a p-value threshold must be in (0, 1)')
    .lt(1, 'a p-value threshold must be in (0, 1)')
    .optional(),
  binning: z.enum(['reference', 'evidently']).optional(),
});

const distanceOptions = z.strictObject({
  threshold: z
    .number()
    .min(0, 'a distance threshold must be >= 0')
    .refine(Number.isFinite, 'a distance threshold must be finite')
    .optional(),
  binning: z.enum(['reference', 'evidently']).optional(),
});

function sampleSize(sample: Sample | SampleSummary): number {
  return sample.kind === 'numerical' ? sample.sorted.length : sample.size;
}

function largestMagnitude(
  reference: Sample | SampleSummary,
  current: Sample | SampleSummary,
): number {
  let max = 0;
  for (const s of [reference, current]) {
    if (s.kind === 'summary') max = Math.max(max, s.largestMagnitude);
    if (s.kind !== 'numerical') continue;
    const v = s.sorted;
    max = Math.max(max, Math.abs(v[0] as number), Math.abs(v[v.length - 1] as number));
  }
  return max;
}

function adapt(def: DetectorDefinition, reference: Sample, current: Sample): [Sample, Sample] {
  if (def.supports === 'numerical') {
    return [
      requireNumeric(def.name, reference, 'reference'),
      requireNumeric(def.name, current, 'current'),
    ];
  }
  if (def.supports === 'categorical') return [asCategorical(reference), asCategorical(current)];
  if (reference.kind !== current.kind) return [asCategorical(reference), asCategorical(current)];
  return [reference, current];
}

function requireNumeric(name: string, sample: Sample, side: string): NumericSample {
  if (sample.kind === 'numerical') return sample;
  throw new ValidationError(
    `[keel] cannot run the numerical drift test ${name} on the ${side} sample: it holds labels, not numbers; ` +
      'use a categorical test (chisquare, jensenshannon) or convert the column to numbers',
    { details: { method: name, side } },
  );
}

function prepare(def: DetectorDefinition, values: ArrayLike<unknown>, side: string): Sample {
  const what = `${side} sample of the ${def.name} drift test`;
  assertArrayLike(values, what);
  if (def.supports === 'numerical') return numericSample(values, what);
  if (def.supports === 'categorical') return categoricalSample(values, what);
  return looksNumeric(values) ? numericSample(values, what) : categoricalSample(values, what);
}

/** True when every non-missing value is a number (typed arrays always are). */
function looksNumeric(values: ArrayLike<unknown>): boolean {
  if (ArrayBuffer.isView(values)) return true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && typeof v !== 'number') return false;
  }
  return true;
}

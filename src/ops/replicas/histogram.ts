/**
 * @module
 * A mergeable latency summary: a fixed log-scale histogram (16 bins per doubling, 1 µs to
 * about 17 minutes, plus an underflow and an overflow bin). Two replicas' histograms merge by
 * adding bins, so the merge is exact; a value read back is its bin's geometric middle, within
 * 2.2 % of the recorded latency.
 */
import { ValidationError } from '../../core/errors.js';

/** Bins per doubling of latency. */
const PER_OCTAVE = 16;
/** The smallest binned latency is 2^MIN_EXP ms (about 1 µs); below it: the underflow bin. */
const MIN_EXP = -10;
/** From 2^MAX_EXP ms (about 17.5 minutes): the overflow bin. */
const MAX_EXP = 20;
const LOG_BINS = (MAX_EXP - MIN_EXP) * PER_OCTAVE;
/** Underflow, the log bins, overflow. */
export const HISTOGRAM_BINS: number = LOG_BINS + 2;
const LOWEST = 2 ** MIN_EXP;
const HIGHEST = 2 ** MAX_EXP;

/** A histogram as stored: `[bin, count]` pairs of its non-empty bins, bins ascending. */
export type HistogramJson = Array<[number, number]>;

/** Latencies counted in fixed log-scale bins; merges exactly by adding counts. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(HISTOGRAM_BINS);
  #total = 0;

  /** Latencies counted. */
  get total(): number {
    return this.#total;
  }

  /** Counts one latency in ms (NaN and negatives fall in the underflow bin). */
  record(ms: number): void {
    this.#counts[binOf(ms)]!++;
    this.#total++;
  }

  /** Adds every count of `other` to this histogram. */
  merge(other: LatencyHistogram): void {
    const counts = other.#counts;
    for (let i = 0; i < HISTOGRAM_BINS; i++) this.#counts[i]! += counts[i]!;
    this.#total += other.#total;
  }

  /** The non-empty bins as `[bin, count]` pairs, for storage. */
  toJSON(): HistogramJson {
    const out: HistogramJson = [];
    for (let i = 0; i < HISTOGRAM_BINS; i++) {
      const count = this.#counts[i]!;
      if (count > 0) out.push([i, count]);
    }
    return out;
  }

  /**
   * Reads a stored histogram.
   *
   * @throws {ValidationError} when `json` is not a list of `[bin, count]` pairs with bins in
   * range and counts positive safe integers.
   */
  static fromJSON(json: unknown): LatencyHistogram {
    if (!Array.isArray(json)) throw badHistogram('not a list');
    const histogram = new LatencyHistogram();
    for (const pair of json) {
      if (!Array.isArray(pair) || pair.length !== 2) throw badHistogram('an entry is not a pair');
      const [bin, count] = pair as unknown[];
      if (!Number.isInteger(bin) || (bin as number) < 0 || (bin as number) >= HISTOGRAM_BINS) {
        throw badHistogram(`bin ${String(bin)} is out of range`);
      }
      if (!Number.isSafeInteger(count) || (count as number) <= 0) {
        throw badHistogram(`count ${String(count)} is not a positive integer`);
      }
      histogram.#counts[bin as number]! += count as number;
      histogram.#total += count as number;
    }
    return histogram;
  }

  /**
   * Representative latencies, ascending: each bin's middle repeated by its count, scaled down
   * proportionally (largest remainders) when the total exceeds `limit`, so percentiles and
   * rank tests see the merged distribution in at most `limit` values.
   */
  samples(limit: number): Float64Array {
    const total = this.#total;
    const n = Math.min(total, Math.max(0, Math.floor(limit)));
    const take = new Float64Array(HISTOGRAM_BINS);
    if (n === total) take.set(this.#counts);
    else if (n > 0) apportion(this.#counts, total, n, take);
    const out = new Float64Array(n);
    let at = 0;
    for (let i = 0; i < HISTOGRAM_BINS; i++) {
      const k = take[i]!;
      if (k > 0) {
        out.fill(middleOf(i), at, at + k);
        at += k;
      }
    }
    return out;
  }
}

/** The bin of a latency in ms. */
export function binOf(ms: number): number {
  if (!(ms >= LOWEST)) return 0;
  if (ms >= HIGHEST) return HISTOGRAM_BINS - 1;
  return 1 + Math.min(LOG_BINS - 1, Math.floor((Math.log2(ms) - MIN_EXP) * PER_OCTAVE));
}

/** The value a bin stands for: its geometric middle (underflow: 0; overflow: its lower edge). */
export function middleOf(bin: number): number {
  if (bin <= 0) return 0;
  if (bin >= HISTOGRAM_BINS - 1) return HIGHEST;
  return 2 ** (MIN_EXP + (bin - 0.5) / PER_OCTAVE);
}

/** Splits `n` over the bins in proportion to `counts` (Hamilton's largest-remainder method). */
function apportion(counts: Float64Array, total: number, n: number, out: Float64Array): void {
  const remainders: Array<[number, number]> = [];
  let given = 0;
  for (let i = 0; i < counts.length; i++) {
    const exact = (counts[i]! * n) / total;
    const whole = Math.floor(exact);
    out[i] = whole;
    given += whole;
    if (exact > whole) remainders.push([exact - whole, i]);
  }
  remainders.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let r = 0; given < n && r < remainders.length; r++, given++) out[remainders[r]![1]]!++;
}

function badHistogram(problem: string): ValidationError {
  return new ValidationError(
    `[keel] invalid shared latency histogram: ${problem}; a replica wrote a document this version of keel cannot read (upgrade every replica)`,
  );
}

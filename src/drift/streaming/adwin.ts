/**
 * @module
 * ADWIN (ADaptive WINdowing, Bifet & Gavaldà 2007), a port of River's `drift.ADWIN` and its
 * `AdaptiveWindowing` helper as of River 0.24 to 0.26 (the Rust core `rust_src/adwin.rs` of
 * 0.25+, bit-identical to 0.24's Cython): an exponential histogram of buckets, cut where the
 * means of the two sub-windows differ by more than a Hoeffding-style bound. Reproduces the
 * indices of River's docstring and of its `test_adwin_regression.py` (see
 * `test/fixtures/drift/adwin_kswin_ports.py`).
 */
import { z } from 'zod';
import { parseWith } from '../../core/validate.js';
import { streamValue } from './stats.js';
import type { StreamingDetector, StreamingUpdate } from './types.js';

/** Options of {@link Adwin} (River's parameters, camel-cased). */
export interface AdwinOptions {
  /** Confidence value: smaller means fewer false alarms and slower detection. Default 0.002. */
  delta?: number;
  /** Check for a change every `clock` values. Default 32. */
  clock?: number;
  /** Buckets of each size kept before two are merged. Default 5. */
  maxBuckets?: number;
  /** Minimum length of each sub-window. Default 5. */
  minWindowLength?: number;
  /** Values to see before any check. Default 10. */
  gracePeriod?: number;
}

/** What {@link Adwin.update} reports. */
export interface AdwinUpdate extends StreamingUpdate {
  /** Number of values in the current window. */
  width: number;
  /** Mean of the current window. */
  estimation: number;
}

const optionsSchema = z.object({
  delta: z.number().gt(0).lt(1).default(0.002),
  clock: z.number().int().min(1).default(32),
  maxBuckets: z.number().int().min(1).default(5),
  minWindowLength: z.number().int().min(1).default(5),
  gracePeriod: z.number().int().min(0).default(10),
});

/**
 * ADWIN: keeps a window of recent values whose mean is stable and drops the older part when
 * the mean changes. Works on any numeric stream (errors, losses, feature values).
 *
 * @example
 * ```ts
 * const adwin = new Adwin({ delta: 0.002 });
 * for (const x of stream) if (adwin.update(x).drift) console.log('new mean', adwin.estimation);
 * ```
 */
export class Adwin implements StreamingDetector<AdwinUpdate> {
  /** Always `adwin`. */
  readonly name: string = 'adwin';
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<Required<AdwinOptions>>;
  #drift = false;
  #window: AdaptiveWindow;

  /** @throws {ValidationError} on invalid options. */
  constructor(options: AdwinOptions = {}) {
    this.options = parseWith(optionsSchema, options, 'Adwin options');
    this.#window = new AdaptiveWindow(this.options);
  }

  /** Whether the last update detected a drift. */
  get driftDetected(): boolean {
    return this.#drift;
  }

  /** ADWIN has no warning zone: always false. */
  get warningDetected(): boolean {
    return false;
  }

  /** Number of values in the current window. */
  get width(): number {
    return this.#window.width;
  }

  /** Mean of the current window (0 when empty). */
  get estimation(): number {
    return this.#window.width === 0 ? 0 : this.#window.total / this.#window.width;
  }

  /**
   * Feeds one value.
   *
   * @throws {ValidationError} when `x` is neither a finite number nor a boolean (the state is
   *   unchanged).
   */
  update(x: number | boolean): AdwinUpdate {
    const value = streamValue(x, 'Adwin');
    if (this.#drift) this.reset();
    this.#drift = this.#window.update(value);
    return { drift: this.#drift, warning: false, width: this.width, estimation: this.estimation };
  }

  /**
   * Forgets everything seen so far.
   *
   * Never throws.
   */
  reset(): void {
    this.#drift = false;
    this.#window = new AdaptiveWindow(this.options);
  }
}

/** One row of the exponential histogram: up to maxBuckets + 1 buckets of 2^row values. */
interface BucketRow {
  totals: number[];
  variances: number[];
}

/** River's `AdaptiveWindowing` (0.24+), statement for statement, so rounding matches too. */
class AdaptiveWindow {
  width = 0;
  total = 0;
  #variance = 0;
  #tick = 0;
  readonly #rows: BucketRow[] = [{ totals: [], variances: [] }];
  readonly #o: Readonly<Required<AdwinOptions>>;

  constructor(options: Readonly<Required<AdwinOptions>>) {
    this.#o = options;
  }

  update(value: number): boolean {
    this.#insert(value);
    return this.#detectChange();
  }

  #insert(value: number): void {
    const first = this.#rows[0]!;
    first.totals.push(value);
    first.variances.push(0);
    this.width += 1;
    if (this.width > 1) {
      const d = value - this.total / (this.width - 1);
      this.#variance += ((this.width - 1) * d * d) / this.width;
    }
    this.total += value;
    this.#compress();
  }

  #compress(): void {
    for (let idx = 0; idx < this.#rows.length; idx++) {
      const row = this.#rows[idx]!;
      if (row.totals.length !== this.#o.maxBuckets + 1) break;
      if (idx + 1 === this.#rows.length) this.#rows.push({ totals: [], variances: [] });
      const next = this.#rows[idx + 1]!;
      const size = 2 ** idx;
      const t0 = row.totals[0]!;
      const t1 = row.totals[1]!;
      const mu1 = t0 / size;
      const mu2 = t1 / size;
      const between = size * 0.5 * (mu1 - mu2) * (mu1 - mu2);
      next.totals.push(t0 + t1);
      next.variances.push(row.variances[0]! + row.variances[1]! + between);
      row.totals.splice(0, 2);
      row.variances.splice(0, 2);
      if (next.totals.length <= this.#o.maxBuckets) break;
    }
  }

  #deleteOldest(): number {
    const last = this.#rows.length - 1;
    const row = this.#rows[last]!;
    const n = 2 ** last;
    const u = row.totals[0]!;
    const mu = u / n;
    const v = row.variances[0]!;
    this.width -= n;
    this.total -= u;
    const muWindow = this.total / this.width;
    this.#variance -= v + (n * this.width * (mu - muWindow) * (mu - muWindow)) / (n + this.width);
    row.totals.shift();
    row.variances.shift();
    if (row.totals.length === 0) this.#rows.pop();
    return n;
  }

  #detectChange(): boolean {
    let changed = false;
    this.#tick += 1;
    if (this.#tick % this.#o.clock !== 0 || this.width <= this.#o.gracePeriod) return false;
    let reduce = true;
    while (reduce) {
      reduce = false;
      let exit = false;
      let n0 = 0;
      let n1 = this.width;
      let u0 = 0;
      let u1 = this.total;
      for (let idx = this.#rows.length - 1; idx >= 0 && !exit; idx--) {
        const row = this.#rows[idx]!;
        const size = 2 ** idx;
        const count = row.totals.length;
        // Every entry is a candidate cut, as River >= 0.24 (older River skipped the newest entry
        // of each row, which delays detection by one clock tick or more).
        for (let k = 0; k < count; k++) {
          n0 += size;
          n1 -= size;
          u0 += row.totals[k]!;
          u1 -= row.totals[k]!;
          // Past the newest entry the recent sub-window would be empty: the scan ends here.
          if (idx === 0 && k === count - 1) {
            exit = true;
            break;
          }
          const deltaMean = u0 / n0 - u1 / n1;
          if (
            n1 >= this.#o.minWindowLength &&
            n0 >= this.#o.minWindowLength &&
            this.#cutHolds(n0, n1, deltaMean)
          ) {
            reduce = true;
            changed = true;
            if (this.width > 0) {
              this.#deleteOldest();
              exit = true;
              break;
            }
          }
        }
      }
    }
    return changed;
  }

  #cutHolds(n0: number, n1: number, deltaMean: number): boolean {
    const min = this.#o.minWindowLength;
    const deltaPrime = Math.log((2 * Math.log(this.width)) / this.#o.delta);
    const mRecip = 1 / (n0 - min + 1) + 1 / (n1 - min + 1);
    const epsilon =
      Math.sqrt(2 * mRecip * (this.#variance / this.width) * deltaPrime) +
      (2 / 3) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }
}

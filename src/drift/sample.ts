/**
 * @module
 * Prepared samples for drift tests: missing values removed and counted, numbers sorted once,
 * categories counted once, so that several detectors can share the same preparation.
 */
import { ValidationError } from '../core/errors.js';
import { assertArrayLike, assertLabel } from '../core/validate.js';

/** A numerical sample: finite values sorted ascending, and how many values were removed. */
export interface NumericSample {
  /** Selects this sample kind. */
  readonly kind: 'numerical';
  /** The finite values, sorted ascending. Never empty. */
  readonly sorted: Float64Array;
  /** How many null, undefined, NaN or infinite values were removed. */
  readonly missing: number;
}

/** A categorical sample: the count of each label, and how many values were removed. */
export interface CategoricalSample {
  /** Selects this sample kind. */
  readonly kind: 'categorical';
  /** Count per label (numbers and booleans become labels through `String()`). */
  readonly counts: ReadonlyMap<string, number>;
  /** Number of values counted (sum of `counts`). Never 0. */
  readonly size: number;
  /** How many null, undefined or NaN values were removed. */
  readonly missing: number;
}

/** A prepared sample, numerical or categorical. */
export type Sample = NumericSample | CategoricalSample;

/**
 * Prepares a numerical sample: removes and counts null, undefined, NaN and infinities, then
 * sorts the rest ascending (one sort, shared by every rank-based test).
 *
 * @param values the raw column; typed arrays take a fast path.
 * @param what names the sample in error messages, e.g. `reference column "age"`.
 * @throws {ValidationError} when `values` is not an array, a value is not a number, or nothing is
 *   left after removal.
 *
 * @example
 * ```ts
 * const s = numericSample([3, null, 1, Number.NaN, 2], 'reference');
 * // s.sorted = Float64Array [1, 2, 3], s.missing = 2
 * ```
 */
export function numericSample(values: ArrayLike<unknown>, what: string): NumericSample {
  assertLabel(what, 'numericSample name');
  assertArrayLike(values, what);
  const n = values.length;
  const out = new Float64Array(n);
  let k = 0;
  if (values instanceof Float64Array || values instanceof Float32Array || isIntArray(values)) {
    const typed = values as ArrayLike<number>;
    for (let i = 0; i < n; i++) {
      const v = typed[i] as number;
      // v - v is 0 for finite numbers and NaN for NaN and infinities.
      if (v - v === 0) out[k++] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === 'number') {
        if (v - v === 0) out[k++] = v;
      } else if (v !== null && v !== undefined) {
        throw new ValidationError(
          `[keel] invalid ${what}: mixed types, value at index ${i} is a ${typeof v}, not a number; ` +
            'clean the column or use a categorical test',
          { details: { index: i, type: typeof v } },
        );
      }
    }
  }
  if (k === 0) throw emptyError(what, n);
  const sorted = k === n ? out : out.slice(0, k);
  sortFloat64(sorted);
  return { kind: 'numerical', sorted, missing: n - k };
}

/**
 * Prepares a categorical sample: removes and counts null, undefined and NaN, and counts each
 * label. Numbers and booleans are labels through `String()` (so `1` and `'1'` are the same).
 *
 * @param values the raw column.
 * @param what names the sample in error messages.
 * @throws {ValidationError} when `values` is not an array, a value is not a string, number or
 *   boolean, or nothing is left.
 *
 * @example
 * ```ts
 * const s = categoricalSample(['a', 'b', 'a', null], 'current');
 * // s.counts = Map { a: 2, b: 1 }, s.size = 3, s.missing = 1
 * ```
 */
export function categoricalSample(values: ArrayLike<unknown>, what: string): CategoricalSample {
  assertLabel(what, 'categoricalSample name');
  assertArrayLike(values, what);
  const n = values.length;
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    let label: string;
    if (typeof v === 'string') label = v;
    else if (typeof v === 'number') {
      if (Number.isNaN(v)) {
        missing++;
        continue;
      }
      label = String(v);
    } else if (typeof v === 'boolean' || typeof v === 'bigint') label = String(v);
    else if (v === null || v === undefined) {
      missing++;
      continue;
    } else {
      throw new ValidationError(
        `[keel] invalid ${what}: mixed types, value at index ${i} is an ${typeof v}, not a label; ` +
          'pass strings, numbers or booleans',
        { details: { index: i, type: typeof v } },
      );
    }
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const size = n - missing;
  if (size === 0) throw emptyError(what, n);
  return { kind: 'categorical', counts, size, missing };
}

/** True when the sample is numerical. */
export function isNumericSample(sample: Sample): sample is NumericSample {
  return sample.kind === 'numerical';
}

/**
 * Sorts finite doubles ascending in place (-0 before +0, as `Float64Array.prototype.sort`).
 * Large arrays use an LSD radix sort on the order-preserving bit pattern, about three times
 * faster than the built-in comparison sort on a million values.
 */
function sortFloat64(a: Float64Array): void {
  const n = a.length;
  if (n < 4096) {
    a.sort();
    return;
  }
  const keys = new Uint32Array(a.buffer, a.byteOffset, 2 * n);
  // Map each double to an unsigned key with the same order: flip all bits of negatives,
  // only the sign bit of the rest. Little-endian: word 2i is the low half, 2i+1 the high.
  const counts = new Uint32Array(4 * 65536);
  for (let i = 0; i < n; i++) {
    const hi = keys[2 * i + 1] as number;
    const lo = keys[2 * i] as number;
    const neg = hi >>> 31;
    const khi = neg ? ~hi >>> 0 : (hi | 0x80000000) >>> 0;
    const klo = neg ? ~lo >>> 0 : lo;
    keys[2 * i + 1] = khi;
    keys[2 * i] = klo;
    counts[klo & 0xffff] = (counts[klo & 0xffff] as number) + 1;
    counts[65536 + (klo >>> 16)] = (counts[65536 + (klo >>> 16)] as number) + 1;
    counts[131072 + (khi & 0xffff)] = (counts[131072 + (khi & 0xffff)] as number) + 1;
    counts[196608 + (khi >>> 16)] = (counts[196608 + (khi >>> 16)] as number) + 1;
  }
  let src: Uint32Array = keys;
  let dst: Uint32Array = new Uint32Array(2 * n);
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * 65536;
    // A digit shared by every key does not reorder anything.
    let skip = false;
    for (let d = 0; d < 65536; d++) {
      const c = counts[base + d] as number;
      if (c === n) skip = true;
      if (c !== 0) break;
    }
    if (skip) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[base + d] as number;
      counts[base + d] = sum;
      sum += c;
    }
    const word = pass < 2 ? 0 : 1;
    const shift = pass % 2 === 0 ? 0 : 16;
    for (let i = 0; i < n; i++) {
      const digit = ((src[2 * i + word] as number) >>> shift) & 0xffff;
      const pos = counts[base + digit] as number;
      counts[base + digit] = pos + 1;
      dst[2 * pos] = src[2 * i] as number;
      dst[2 * pos + 1] = src[2 * i + 1] as number;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let i = 0; i < n; i++) {
    const khi = src[2 * i + 1] as number;
    const klo = src[2 * i] as number;
    const neg = !(khi >>> 31);
    keys[2 * i + 1] = neg ? ~khi >>> 0 : (khi & 0x7fffffff) >>> 0;
    keys[2 * i] = neg ? ~klo >>> 0 : klo;
  }
}

function isIntArray(values: ArrayLike<unknown>): boolean {
  return (
    values instanceof Int32Array ||
    values instanceof Uint32Array ||
    values instanceof Int16Array ||
    values instanceof Uint16Array ||
    values instanceof Int8Array ||
    values instanceof Uint8Array ||
    values instanceof Uint8ClampedArray
  );
}

function emptyError(what: string, n: number): ValidationError {
  return new ValidationError(
    n === 0
      ? `[keel] invalid ${what}: the sample is empty; pass at least one value`
      : `[keel] invalid ${what}: all ${n} values are missing (null, undefined, NaN or infinite); ` +
          'pass at least one valid value',
    { details: { size: n } },
  );
}

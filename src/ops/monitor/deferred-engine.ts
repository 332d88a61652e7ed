/**
 * @module
 * The calibrated engine for a large reference: the reference is read into column models in
 * short slices (`prepare`, driven by the monitor between ticks of the event loop), rows
 * recorded meanwhile are kept by reference (at most a window of them) and binned once the
 * models are ready, and a check first finishes whatever reading is left. Small references are
 * read at once, so that their errors still throw from `createMonitor`.
 */
import type { Profile } from '../../drift/profile.js';
import type { Table } from '../../drift/table.js';
import { CalibratedEngine, type CalibratedEngineOptions } from './calibrated-engine.js';
import type { ColumnModels } from './columns.js';
import type { CheckTask, DriftEngine } from './engine.js';
import {
  buildColumnModels,
  referenceSteps,
  SKETCH_SAMPLE,
  type Steps,
  stepUntil,
} from './reference-steps.js';
import type { MismatchCounts } from './types.js';

/** References of at most this many values are read at once (a few milliseconds at most). */
export const SYNC_REFERENCE_VALUES = 20_000;

/**
 * The calibrated engine for `reference`: built at once when the reference holds at most
 * {@link SYNC_REFERENCE_VALUES} values, otherwise a {@link DeferredEngine}.
 *
 * @throws {ValidationError} when a small reference has no column that can be monitored.
 */
export function calibratedEngine(
  reference: Table | Profile,
  what: string,
  options: CalibratedEngineOptions,
): DriftEngine {
  if (referenceValues(reference) <= SYNC_REFERENCE_VALUES) {
    const { columns, unusable } = buildColumnModels(reference, what);
    return new CalibratedEngine(columns, unusable, options);
  }
  return new DeferredEngine(referenceSteps(reference, what), options);
}

/** A calibrated engine whose column models are still being built; see the module comment. */
export class DeferredEngine implements DriftEngine {
  readonly #options: CalibratedEngineOptions;
  #steps: Steps<ColumnModels> | undefined;
  #engine: CalibratedEngine | undefined;
  #failure: { error: unknown } | undefined;
  /** Rows recorded before the engine was live, by position modulo the window size. */
  #pending: unknown[] | undefined;
  #recorded = 0;
  #replayed = 0;
  #live = false;

  /** @param steps the reading of the reference; @param options the engine's options. */
  constructor(steps: Steps<ColumnModels>, options: CalibratedEngineOptions) {
    this.#steps = steps;
    this.#options = options;
    this.#pending = new Array<unknown>(options.size);
  }

  /** The monitored columns (none until the reference is read). */
  get columns(): readonly string[] {
    return this.#engine?.columns ?? [];
  }

  /** Reference columns left out, with the reason (known once the reference is read). */
  get unmonitored(): Readonly<Record<string, string>> {
    return this.#engine?.unmonitored ?? {};
  }

  /** Rows in the window. */
  get rows(): number {
    return Math.min(this.#recorded, this.#options.size);
  }

  /** Scheduled checks wait for this many rows; never once reading the reference failed. */
  get minRows(): number {
    return this.#failure ? Number.POSITIVE_INFINITY : Math.min(this.#options.size, 100);
  }

  /** Rows recorded so far. */
  get recordedRows(): number {
    return this.#recorded;
  }

  /** The calibrated engine, once live (the reference read and the rows kept meanwhile binned). */
  get engine(): CalibratedEngine | undefined {
    return this.#live ? this.#engine : undefined;
  }

  /** Whether the reference is read and every row recorded meanwhile is binned. */
  get ready(): boolean {
    return this.#live;
  }

  /** The hot path: to the engine once live, otherwise kept for later. Never throws. */
  record(input: unknown): void {
    this.#recorded++;
    if (this.#live) this.#engine!.record(input);
    else if (this.#pending) this.#pending[(this.#recorded - 1) % this.#options.size] = input;
  }

  /** Mismatched inputs (counted once the rows are binned). */
  mismatched(): MismatchCounts {
    return this.#engine?.mismatched() ?? { rows: 0, columns: {} };
  }

  /**
   * Reads the reference and bins the rows kept meanwhile until `deadline` (a
   * `performance.now()` time); true once the engine is live.
   *
   * @throws {ValidationError} when the reference has no column that can be monitored (again at
   *   every call).
   */
  prepare(deadline: number): boolean {
    if (this.#live) return true;
    if (this.#failure) throw this.#failure.error;
    if (this.#steps) {
      let done: { value: ColumnModels } | undefined;
      try {
        done = stepUntil(this.#steps, deadline);
      } catch (error) {
        this.#failure = { error };
        this.#steps = undefined;
        this.#pending = undefined;
        throw error;
      }
      if (!done) return false;
      this.#steps = undefined;
      this.#replayed = Math.max(0, this.#recorded - this.#options.size);
      // The engine's stream starts at the first row kept: rows keep their positions.
      this.#engine = new CalibratedEngine(done.value.columns, done.value.unusable, {
        ...this.#options,
        start: this.#replayed,
      });
    }
    // Bin the rows kept meanwhile, oldest first (those pushed out of the window are skipped).
    const size = this.#options.size;
    const pending = this.#pending!;
    const engine = this.#engine!;
    do {
      this.#replayed = Math.max(this.#replayed, this.#recorded - size);
      const end = Math.min(this.#recorded, this.#replayed + 256);
      for (let r = this.#replayed; r < end; r++) {
        engine.record(pending[r % size]);
        pending[r % size] = undefined;
      }
      this.#replayed = end;
    } while (this.#replayed < this.#recorded && performance.now() < deadline);
    if (this.#replayed < this.#recorded) return false;
    this.#pending = undefined;
    this.#live = true;
    return true;
  }

  /** Starts a check: finishes reading the reference first, then checks as the engine does. */
  startCheck(allEffects = true): CheckTask {
    let task: CheckTask | undefined;
    return {
      step: (deadline) => {
        if (!this.prepare(deadline)) return undefined;
        task ??= this.#engine!.startCheck(allEffects);
        return task.step(deadline);
      },
    };
  }
}

/**
 * How many values building the models of `reference` reads (rows x columns; a profile's
 * exact values, or its rebuilt sketch sample). Shapes it does not know count as 0: they are
 * read at once, and refused at once.
 */
export function referenceValues(reference: unknown): number {
  if (typeof reference !== 'object' || reference === null) return 0;
  if (Array.isArray(reference)) {
    const first: unknown = reference[0];
    const width = typeof first === 'object' && first !== null ? Object.keys(first).length : 1;
    return reference.length * Math.max(1, width);
  }
  const record = reference as Record<string, unknown>;
  const columns =
    record.format !== undefined && typeof record.columns === 'object' && record.columns !== null
      ? (record.columns as Record<string, unknown>)
      : record;
  let total = 0;
  for (const column of Object.values(columns)) total += columnValues(column);
  return total;
}

function columnValues(column: unknown): number {
  if (typeof column !== 'object' || column === null) return 0;
  if (Array.isArray(column) || ArrayBuffer.isView(column))
    return (column as ArrayLike<unknown>).length;
  const c = column as { values?: unknown; count?: unknown; categories?: unknown };
  if (Array.isArray(c.values)) return c.values.length;
  if (typeof c.count === 'number') return Math.min(c.count, SKETCH_SAMPLE);
  return Array.isArray(c.categories) ? c.categories.length : 0;
}

/**
 * @module
 * The shadow queue: challenger calls made on the side of champion answers, bounded (beyond
 * `queueSize` they are dropped and counted), run `concurrency` at a time off the caller's path,
 * their outputs compared with the champion's.
 */
import { recordCall, type Serving, sameOutput } from './stats.js';

/** What the shadow queue needs from its router. */
export interface ShadowQueueOptions<I, O> {
  /** Calls that may wait; more are dropped and counted on the challenger. */
  queueSize: number;
  /** Calls run at once. */
  concurrency: number;
  /** Registers background work so `close()` can wait for it. */
  track: (work: Promise<void>) => Promise<void>;
  /** Called after every shadow call, counted, whether it failed or not. */
  onDone: (serving: Serving<I, O>) => void;
}

interface ShadowJob<I, O> {
  serving: Serving<I, O>;
  input: I;
  championOutput: O;
}

/** Runs challenger calls on the side; their results only ever reach the counters. */
export class ShadowQueue<I, O> {
  readonly #options: ShadowQueueOptions<I, O>;
  readonly #jobs: ShadowJob<I, O>[] = [];
  #running = 0;
  #scheduled = false;
  #closed = false;

  /** @param options bounds and the router's hooks. */
  constructor(options: ShadowQueueOptions<I, O>) {
    this.#options = options;
  }

  /** Calls waiting or running. */
  get pending(): number {
    return this.#jobs.length + this.#running;
  }

  /** Queues a call of `serving` on `input`, to compare with `championOutput`. */
  enqueue(serving: Serving<I, O>, input: I, championOutput: O): void {
    if (this.#jobs.length >= this.#options.queueSize) {
      serving.counters.dropped++;
      return;
    }
    this.#jobs.push({ serving, input, championOutput });
    this.#schedule();
  }

  /** Drops every waiting call (running ones finish). */
  clear(): void {
    this.#jobs.length = 0;
  }

  /** Drops waiting calls and starts no more. */
  close(): void {
    this.#closed = true;
    this.clear();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    // A timer, not a microtask: the caller's answer is delivered before any shadow work starts.
    setTimeout(() => this.#pump(), 0);
  }

  #pump(): void {
    this.#scheduled = false;
    while (!this.#closed && this.#running < this.#options.concurrency && this.#jobs.length > 0) {
      const job = this.#jobs.shift()!;
      this.#running++;
      this.#options.track(this.#run(job)).finally(() => {
        this.#running--;
        if (this.#jobs.length > 0) this.#schedule();
      });
    }
  }

  async #run({ serving, input, championOutput }: ShadowJob<I, O>): Promise<void> {
    const { counters } = serving;
    const startAt = performance.now();
    try {
      const output = await serving.predict(input);
      recordCall(counters, performance.now() - startAt, false);
      counters.compared++;
      if (!sameOutput(output, championOutput)) counters.differing++;
    } catch {
      // The challenger's failure is its own statistic; it never reaches a caller.
      recordCall(counters, performance.now() - startAt, true);
    }
    this.#options.onDone(serving);
  }
}

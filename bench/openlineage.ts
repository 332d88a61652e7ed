/**
 * @module
 * Benchmark: what OpenLineage costs a pipeline. A 100-step chain of trivial steps on the
 * memory backend, run by a keel with `openLineage: { transport: fn }` (a function transport
 * that keeps nothing; the run's time includes flushing every event to it) against the same
 * chain on a keel without it, measured in alternating rounds of the same process. Reported:
 * the ratio and the extra time per step (202 events per run: START and COMPLETE for the
 * pipeline and each step).
 * Run with `npx tsx bench/openlineage.ts`.
 */

import { memoryBackend } from '../src/backends/memory/backend.js';
import { createKeel, type Keel } from '../src/keel.js';
import type { OpenLineageRunEvent } from '../src/lineage/openlineage/spec.js';
import { pipeline } from '../src/pipeline/builder.js';
import type { Pipeline } from '../src/pipeline/types.js';
import { printTable } from './_table.js';

const CHAIN = 100;
const WARMUP = 30;
const REPEATS = 15;
const ROUNDS = 6;

type Loose = {
  step(name: string, deps: string[], fn: (args: Record<string, number>) => number): Loose;
  build(): Pipeline<number, Record<string, number>>;
};

function chain(length: number): Pipeline<number, Record<string, number>> {
  let builder = pipeline<number>('bench-lineage') as unknown as Loose;
  for (let i = 0; i < length; i++) {
    const previous = i === 0 ? 'input' : `s${i - 1}`;
    builder = builder.step(`s${i}`, i === 0 ? [] : [previous], (args) => (args[previous] ?? 0) + 1);
  }
  return builder.build();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const built = chain(CHAIN);
let events = 0;
const transport = (event: OpenLineageRunEvent): void => {
  if (event.eventType) events++;
};
let input = 0;

async function once(lineage: boolean): Promise<number> {
  const keel: Keel = createKeel({
    backend: memoryBackend(),
    ...(lineage ? { openLineage: { transport } } : {}),
  });
  const t0 = performance.now();
  await built.run(input++, { keel, captureEnvironment: false });
  if (lineage && !(await keel.openLineage?.flush(10_000))) throw new Error('flush timed out');
  const elapsed = performance.now() - t0;
  await keel.close();
  return elapsed;
}

for (let i = 0; i < WARMUP; i++) {
  await once(false);
  await once(true);
}
events = 0;
const best = { without: Number.POSITIVE_INFINITY, with: Number.POSITIVE_INFINITY };
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const without: number[] = [];
  const withLineage: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    without.push(await once(false));
    withLineage.push(await once(true));
  }
  const w = median(without);
  const l = median(withLineage);
  ratios.push(l / w);
  if (w < best.without) best.without = w;
  if (l < best.with) best.with = l;
}
const perEvent = events / (ROUNDS * REPEATS);
if (perEvent !== 2 * (CHAIN + 1))
  throw new Error(`expected ${2 * (CHAIN + 1)} events, got ${perEvent}`);

const extraUs = ((best.with - best.without) / CHAIN) * 1000;
printTable([
  {
    name: `${CHAIN}-step chain on memory, openLineage with a function transport (${perEvent} events per run, flushed)`,
    figure: `${best.with.toFixed(2)} ms per run`,
    baseline: `same chain, no openLineage: ${best.without.toFixed(2)} ms`,
    ratio: `${(best.with / best.without).toFixed(2)} (median of rounds ${median(ratios).toFixed(2)})`,
    goal: 'reported',
  },
]);
console.log();
console.log(`Extra time per pipeline step: ${extraUs.toFixed(1)} us (best rounds).`);

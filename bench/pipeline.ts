/**
 * @module
 * Benchmark: the pipeline runner's per-step overhead on a 100-step chain of trivial steps
 * (memory backend; every step is a tracked child run with lineage, a stored output, a span
 * and events), and a fully cached re-run of a 10-step pipeline. The baseline is the same
 * functions called in a plain loop, measured in the same run.
 *
 * Each case is warmed up first (the JIT needs a few thousand steps), then timed over several
 * rounds of runs; a round's figure is its median run, and the best round is kept, because
 * other processes may load the machine. CPU time of this process is reported beside the
 * wall time (it includes garbage collection on helper threads).
 * Run with `npx tsx bench/pipeline.ts`.
 */

import { memoryBackend } from '../src/backends/memory/backend.js';
import { createKeel } from '../src/keel.js';
import { pipeline } from '../src/pipeline/builder.js';
import type { Pipeline, PipelineKeel } from '../src/pipeline/types.js';

const CHAIN = 100;
const CACHED = 10;
const WARMUP = 40;
const REPEATS = 25;
const ROUNDS = 4;

type Loose = {
  step(
    name: string,
    deps: string[],
    fn: (args: Record<string, number>) => number,
    opts?: object,
  ): Loose;
  build(): Pipeline<number, Record<string, number>>;
};

/** A chain: step i adds 1 to step i-1's output. */
function chain(
  name: string,
  length: number,
  cache: boolean,
): Pipeline<number, Record<string, number>> {
  let builder = pipeline<number>(name) as unknown as Loose;
  for (let i = 0; i < length; i++) {
    const previous = i === 0 ? 'input' : `s${i - 1}`;
    builder = builder.step(
      i === 0 ? 's0' : `s${i}`,
      i === 0 ? [] : [previous],
      (args) => (args[previous] ?? 0) + 1,
      {
        cache,
        version: '1',
      },
    );
  }
  return builder.build();
}

const trivial: ((x: number) => number)[] = Array.from(
  { length: CHAIN },
  () => (x: number) => x + 1,
);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Best round's median wall time (ms) of `fn`, and the CPU time (ms) of that round's median run. */
async function time(
  fn: () => Promise<unknown> | unknown,
  repeats = REPEATS,
  warmup = WARMUP,
): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  let best = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY };
  for (let round = 0; round < ROUNDS; round++) {
    const walls: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      walls.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpus.push((cpu.user + cpu.system) / 1000);
    }
    const wall = median(walls);
    if (wall < best.wall) best = { wall, cpu: median(cpus) };
  }
  return best;
}

function freshKeel(): PipelineKeel {
  return createKeel({ backend: memoryBackend() });
}

// Baseline: the same functions in a plain loop.
const baselineMs = (
  await time(() => {
    let x = 0;
    for (const fn of trivial) x = fn(x);
    return x;
  }, 200)
).wall;

const longChain = chain('bench-chain', CHAIN, false);
let input = 0;
// A fresh input each run, so no two runs store identical outputs (no accidental dedupe).
const chainMs = await time(async () => {
  const keel = freshKeel();
  await longChain.run(input++, { keel, captureEnvironment: false });
});
// Diagnostic: the same chain with a tracker that records nothing, to split the runner's own
// overhead from the cost of writing one tracked child run per step.
let stubIds = 0;
const stubTracker = {
  startRun: async () => ({
    id: `stub${stubIds++}`,
    logParams: async () => {},
    logMetric: () => {},
    logMetrics: () => {},
    setTags: async () => {},
    logInput: async () => {},
    logOutput: async () => {},
    logArtifact: async () => {
      throw new Error('unused');
    },
    flush: async () => {},
    end: async () => ({}),
  }),
};
const untrackedMs = await time(async () => {
  const keel = { ...freshKeel(), tracker: stubTracker } as unknown as PipelineKeel;
  await longChain.run(input++, { keel, captureEnvironment: false });
});
const chainEnvMs = await time(
  async () => {
    const keel = freshKeel();
    await longChain.run(input++, { keel });
  },
  5,
  5,
);

const cachedChain = chain('bench-cached', CACHED, true);
const cachedKeel = freshKeel();
const firstMs = await time(async () => {
  await cachedChain.run(input++, { keel: freshKeel(), captureEnvironment: false });
});
await cachedChain.run(-1, { keel: cachedKeel, captureEnvironment: false });
const cachedMs = await time(async () => {
  const result = await cachedChain.run(-1, { keel: cachedKeel, captureEnvironment: false });
  if (!Object.values(result.steps).every((s) => s.cached))
    throw new Error('expected a fully cached run');
});
const cachedBaselineMs = baselineMs * (CACHED / CHAIN);

const perStep = (t: { wall: number; cpu: number }, steps = CHAIN) => ({
  wall: ((t.wall - baselineMs) / steps) * 1000,
  cpu: ((t.cpu - baselineMs) / steps) * 1000,
});
const rows: [string, { wall: number; cpu: number }, number][] = [
  [
    `plain loop, ${CHAIN} trivial functions (baseline)`,
    { wall: baselineMs, cpu: baselineMs },
    baselineMs,
  ],
  [`pipeline, ${CHAIN}-step chain, memory`, chainMs, baselineMs],
  [`pipeline, ${CHAIN}-step chain, memory, environment captured`, chainEnvMs, baselineMs],
  [`diagnostic: same chain, tracker stubbed out (runner only)`, untrackedMs, baselineMs],
  [
    `pipeline, ${CACHED}-step chain, all cached steps, first run (misses)`,
    firstMs,
    cachedBaselineMs,
  ],
  [`pipeline, ${CACHED}-step chain, fully cached re-run`, cachedMs, cachedBaselineMs],
];
console.log('| case | median ms (wall) | median ms (CPU) | x baseline |');
console.log('|---|---:|---:|---:|');
for (const [name, t, base] of rows) {
  console.log(
    `| ${name} | ${t.wall.toFixed(3)} | ${t.cpu.toFixed(3)} | ${(t.wall / base).toFixed(0)} |`,
  );
}
console.log();
const chain100 = perStep(chainMs);
const runnerOnly = perStep(untrackedMs);
console.log(
  `Per-step overhead, 100-step chain on memory with a tracked child run per step: ${chain100.wall.toFixed(1)} us wall, ${chain100.cpu.toFixed(1)} us CPU (goal <= 100 us).`,
);
console.log(
  `Of which the runner itself (tracker stubbed out): ${runnerOnly.wall.toFixed(1)} us per step.`,
);
console.log(`Fully cached re-run: ${((cachedMs.wall / CACHED) * 1000).toFixed(1)} us per step.`);

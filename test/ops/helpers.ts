/** Builds a keel with registry, gates and tracker wired onto its event bus, for ops tests. */

import type { Backend } from '../../src/backends/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import type { Clock } from '../../src/core/clock.js';
import type { GateEvaluator } from '../../src/gates/evaluator.js';
import { createGateEvaluator } from '../../src/gates/evaluator.js';
import { createKeel, type Keel } from '../../src/keel.js';
import type { Predictor } from '../../src/ops/router/types.js';
import { createRegistry } from '../../src/registry/registry.js';
import type { Registry } from '../../src/registry/types.js';
import { createTracker } from '../../src/tracking/tracker.js';
import type { Tracker } from '../../src/tracking/types.js';

export type TestKeel = Keel & { registry: Registry; gates: GateEvaluator; tracker: Tracker };

export function opsKeel(backend: Backend = memoryBackend(), clock?: Clock): TestKeel {
  const keel = createKeel({ backend, actor: { id: 'ops-test' }, ...(clock ? { clock } : {}) });
  // The lead wires these in createKeel; until then (and to keep tests independent) wire them here.
  const existing = keel as Partial<TestKeel>;
  if (existing.registry && existing.gates && existing.tracker) return keel as TestKeel;
  const emit = (event: string, payload: unknown): void => {
    (keel.events.emit as (e: string, p: unknown) => boolean)(event, payload);
  };
  const gates =
    existing.gates ?? createGateEvaluator({ artifacts: keel.artifacts, clock: keel.clock, emit });
  const tracker =
    existing.tracker ??
    createTracker({
      metadata: keel.metadata,
      artifacts: keel.artifacts,
      clock: keel.clock,
      emit,
      flushIntervalMs: 0,
    });
  const registry =
    existing.registry ??
    createRegistry({
      metadata: keel.metadata,
      artifacts: keel.artifacts,
      clock: keel.clock,
      emit,
      actor: keel.actor,
    });
  return { ...keel, registry, gates, tracker };
}

/** Registers `n` versions of `model` (artifact = its number as text). */
export async function registerVersions(keel: TestKeel, model: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const { digest } = await keel.artifacts.put(`weights-${model}-${i}`);
    await keel.registry.registerVersion(model, { artifact: digest, metrics: { accuracy: 0.8 } });
  }
}

/** A loader whose predictor returns `v<version>:<input>`; counts loads. */
export function versionLoader(): {
  load: (v: { version: number }) => Predictor<string, string>;
  loads: number[];
} {
  const loads: number[] = [];
  return {
    loads,
    load: (v) => {
      loads.push(v.version);
      return (input: string) => `v${v.version}:${input}`;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` is true (polling every 5 ms), failing after `ms`. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
